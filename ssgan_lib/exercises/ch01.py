"""Self-checks for chapter 1 (the GAN game)."""
from __future__ import annotations

import math
from typing import Callable

import torch

from .. import losses
from . import call_student, check_close, report


def _normal_pdf(x: float, mean: float, std: float) -> float:
    return math.exp(-(x - mean) ** 2 / (2 * std ** 2)) / (std * math.sqrt(2 * math.pi))


def check_dstar_point(value) -> bool:
    """:math:`D^*(0)` for :math:`p_{\\text{data}} = \\mathcal N(0, 1)` and :math:`p_g = \\mathcal N(1, 2^2)`."""
    p_data, p_g = _normal_pdf(0.0, 0.0, 1.0), _normal_pdf(0.0, 1.0, 2.0)
    expected = p_data / (p_data + p_g)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return report(False, "D* at x = 0", f"expected a number, got {type(value).__name__}")
    hint = "D*(x) = p_data(x) / (p_data(x) + p_g(x)); p_g has standard deviation 2 (variance 4)"
    if math.isclose(v, 1 - expected, rel_tol=1e-3):
        hint = "you gave p_g / (p_data + p_g), the probability of 'fake'"
    elif math.isclose(v, p_data / (p_data + _normal_pdf(0.0, 1.0, 4.0)), rel_tol=1e-3):
        hint = "N(1, 2^2) has standard deviation 2, not 4"
    return check_close(v, expected, "D* at x = 0", rtol=1e-3, hint=hint)


def check_ns_loss(fn: Callable) -> bool:
    """``fn(fake_logits)`` is the non-saturating G loss :math:`-\\mathbb E \\log \\sigma(\\ell)`, averaged over
    the last axis, finite for very negative logits."""
    what = "non-saturating G loss"
    g = torch.Generator().manual_seed(0)
    cases = [3 * torch.randn(64, generator=g), torch.randn(3, 16, generator=g),
             torch.tensor([-1000.0, -200.0, 0.0, 50.0])]
    for logits in cases:
        ok, got = call_student(fn, what, logits.clone(), library=[losses.g_loss_nonsaturating])
        if not ok:
            return False
        try:
            got = torch.as_tensor(got, dtype=torch.float64)
        except Exception:
            return report(False, what, f"expected a tensor, got {type(got).__name__}")
        expected = losses.g_loss_nonsaturating(logits.double())
        if got.shape != expected.shape:
            return report(False, what, f"for logits of shape {tuple(logits.shape)} expected shape "
                                       f"{tuple(expected.shape)} (mean over the last axis), got {tuple(got.shape)}")
        if not torch.isfinite(got).all():
            return report(False, what, "not finite for very negative logits: log(sigmoid(l)) underflows; "
                                       "use softplus(-l)")
        if not torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
            hint = "values differ from -mean(log sigmoid(l))"
            if torch.allclose(got, losses.g_loss_minimax(logits.double()), rtol=1e-4, atol=1e-5):
                hint = "that is the minimax loss log(1 - D); the non-saturating one is -log D"
            elif torch.allclose(got, -expected, rtol=1e-4, atol=1e-5):
                hint = "the sign: the loss is minimised, -log D(G(z)) >= 0"
            return report(False, what, hint)
    return report(True, what)


def check_saturation_grads(grad_minimax, grad_ns) -> bool:
    """Derivatives with respect to the logit at :math:`\\ell = -4` of :math:`\\log(1 - \\sigma(\\ell))` and of
    :math:`-\\log \\sigma(\\ell)`."""
    s = 1 / (1 + math.exp(4.0))
    what = "gradients at logit -4"
    try:
        gm, gn = float(grad_minimax), float(grad_ns)
    except (TypeError, ValueError):
        return report(False, what, "expected two numbers")
    ok_m = math.isclose(gm, -s, rel_tol=1e-3)
    ok_n = math.isclose(gn, -(1 - s), rel_tol=1e-3)
    if ok_m and ok_n:
        return report(True, what)
    if math.isclose(gm, -(1 - s), rel_tol=1e-3) and math.isclose(gn, -s, rel_tol=1e-3):
        return report(False, what, "the two are swapped: the minimax gradient is the small one")
    if math.isclose(abs(gm), s, rel_tol=1e-3) and math.isclose(abs(gn), 1 - s, rel_tol=1e-3):
        return report(False, what, "check the signs: both losses decrease as the logit grows")
    if not ok_m:
        return report(False, what, "d/dl log(1 - sigmoid(l)) = -sigmoid(l)")
    return report(False, what, "d/dl -log sigmoid(l) = -(1 - sigmoid(l))")


def check_disjoint(jsd, value) -> bool:
    """JSD and :math:`C(G) = \\max_D V(D, G)` when :math:`p_g` and :math:`p_{\\text{data}}` have disjoint supports."""
    what = "disjoint supports"
    try:
        j, v = float(jsd), float(value)
    except (TypeError, ValueError):
        return report(False, what, "expected two numbers")
    ok_j = math.isclose(j, math.log(2), rel_tol=1e-3)
    ok_v = math.isclose(v, 0.0, abs_tol=1e-4)
    if ok_j and ok_v:
        return report(True, what)
    if not ok_j:
        hint = "JSD is at most log 2 (in nats), reached when the supports do not overlap"
        if math.isclose(j, 1.0, rel_tol=1e-3):
            hint = "1 is the JSD in bits; the book uses natural logs (nats)"
        return report(False, what, hint)
    return report(False, what, "D* is 1 on the data and 0 on the fakes: both terms of V are log 1")


def check_count_modes(fn: Callable) -> bool:
    """``fn(samples, centers, radius=0.25, min_frac=0.01)`` counts the covered modes (nearest centre only)."""
    from ..gan import modes_covered, ring_centers

    what = "count modes"
    centers = ring_centers(8, 2.0)
    g = torch.Generator().manual_seed(0)
    # 3 modes hit, one of them by too few samples; far-away points that must not count; a sample at 0.3
    # (outside the radius) from a 4th centre
    pts = [centers[0] + 0.05 * torch.randn(500, 2, generator=g),
           centers[3] + 0.05 * torch.randn(480, 2, generator=g),
           centers[5] + 0.05 * torch.randn(5, 2, generator=g),
           torch.full((15, 2), 10.0),
           centers[6] + torch.tensor([[0.3, 0.0]]).repeat(100, 1)]
    cases = [(torch.cat(pts), 0.25, 0.01), (torch.cat(pts), 0.25, 0.001), (torch.cat(pts), 0.4, 0.01),
             (centers[2] + 0.05 * torch.randn(300, 2, generator=g), 0.25, 0.01)]
    for samples, radius, min_frac in cases:
        ok, got = call_student(fn, what, samples.clone(), centers.clone(), radius, min_frac,
                               library=[modes_covered])
        if not ok:
            return False
        expected = modes_covered(samples, centers, radius=radius, min_frac=min_frac)
        try:
            value = int(got)
        except (TypeError, ValueError):
            return report(False, what, f"expected an integer, got {type(got).__name__}")
        if value != expected:
            return report(False, what, f"for radius {radius}, min_frac {min_frac} expected {expected} modes, got {value}"
                                       " (min_frac is a fraction of *all* samples)")
    return report(True, what)
