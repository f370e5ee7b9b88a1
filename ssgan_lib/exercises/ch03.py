"""Self-checks for chapter 3 (training dynamics)."""
from __future__ import annotations

import math
from typing import Callable

import torch

from . import call_student, report




def check_optimal_d(fn: Callable) -> bool:
    """``fn(p_data, p_g)`` (tensors of densities) returns the optimal discriminator
    :math:`D^*(x) = p_{\\text{data}}(x) / (p_{\\text{data}}(x) + p_g(x))` elementwise."""
    p_data = torch.tensor([0.5, 0.1, 0.9, 0.3, 2.0], dtype=torch.float64)
    p_g = torch.tensor([0.5, 0.3, 0.1, 0.0, 1.0], dtype=torch.float64)
    ok, got = call_student(fn, "optimal D", p_data, p_g)
    if not ok:
        return False
    try:
        got = torch.as_tensor(got, dtype=torch.float64)
    except Exception:
        return report(False, "optimal D", f"expected a tensor, got {type(got).__name__}")
    expected = p_data / (p_data + p_g)
    if got.shape != expected.shape:
        return report(False, "optimal D", f"shape {tuple(got.shape)} but expected {tuple(expected.shape)}")
    if torch.allclose(got, expected, rtol=1e-6, atol=1e-9):
        return report(True, "optimal D")
    hint = "D* is the fraction of the density at x that comes from the data"
    if torch.allclose(got, 1 - expected, rtol=1e-6, atol=1e-9):
        hint = "you gave the probability of 'fake'; D outputs the probability of 'real'"
    return report(False, "optimal D", hint)


def check_equilibrium_losses(d_loss: float, g_loss: float) -> bool:
    """The D loss (``losses.d_loss``) and non-saturating G loss at the equilibrium :math:`D \\equiv 1/2`."""
    ok_d = _close(d_loss, 2 * math.log(2))
    ok_g = _close(g_loss, math.log(2))
    if ok_d and ok_g:
        return report(True, "losses at equilibrium")
    if not ok_d:
        return report(False, "losses at equilibrium", "the D loss has two terms, -log D(x) and -log(1 - D(G(z)))")
    return report(False, "losses at equilibrium", "the non-saturating G loss is -log D(G(z))")


def _close(value, expected: float) -> bool:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(v) and math.isclose(v, expected, rel_tol=1e-3)


def check_diversity(fn: Callable) -> bool:
    """``fn(x)`` returns the mean Euclidean distance over all *pairs of different* rows of ``x`` (n, d)."""
    from ..metrics import diversity

    g = torch.Generator().manual_seed(0)
    cases = [torch.randn(7, 5, generator=g, dtype=torch.float64),
             torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=torch.float64),
             torch.ones(4, 3, dtype=torch.float64)]
    for x in cases:
        ok, got = call_student(fn, "diversity", x.clone(), library=[diversity])
        if not ok:
            return False
        n = len(x)
        expected = float(torch.cdist(x, x).sum() / (n * (n - 1)))
        try:
            value = float(got)
        except (TypeError, ValueError):
            return report(False, "diversity", f"expected a number, got {type(got).__name__}")
        if not (math.isfinite(value) and math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9)):
            hint = f"for a set of {n} points expected {expected:.4g}, got {value:.4g}"
            if math.isclose(value, float(torch.cdist(x, x).mean()), rel_tol=1e-6, abs_tol=1e-9):
                hint += "; the n zero distances of each point to itself are not pairs: divide by n(n-1)"
            return report(False, "diversity", hint)
    return report(True, "diversity")
