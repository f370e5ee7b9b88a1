"""Self-checks for chapter 5 (the semi-supervised GAN with K+1 classes)."""
from __future__ import annotations

import math
from typing import Callable

import torch

from .. import losses
from . import call_student, check_close, report


def _logit_cases(k: int = 11) -> list[torch.Tensor]:
    """Random logits (S, B, k) at several scales, extreme ones (|l| = 1000, beyond float64 exp) included."""
    g = torch.Generator().manual_seed(5)
    cases = [torch.randn(2, 7, k, generator=g, dtype=torch.float64) * s for s in (0.1, 1.0, 5.0, 30.0)]
    big = torch.zeros(1, 4, k, dtype=torch.float64)
    big[0, 0, -1] = 1000.0  # confidently fake
    big[0, 1, 0] = 1000.0  # confidently class 0
    big[0, 2] = -1000.0  # everything very negative
    big[0, 3, 3] = -1000.0
    cases.append(big)
    return cases


def _as_float64(fn: Callable) -> Callable:
    """``fn`` whose answer comes back as a float64 tensor (for :func:`call_student`)."""
    return lambda *args: torch.as_tensor(fn(*args), dtype=torch.float64)


def _check_fn(fn: Callable, ref: Callable, nargs: int, what: str, hint: str, k: int = 11,
              library: tuple[Callable, ...] = ()) -> bool:
    """Compare ``fn`` with ``ref`` on the logit cases (``nargs`` logit tensors of k classes); the ``library``
    functions it is meant to reproduce are unavailable while it runs."""
    cases = _logit_cases(k)
    for a in cases:
        b = a.flip(-1)  # a second, different set of logits of the same scale
        args = (a,) if nargs == 1 else (a, b)
        ok, got = call_student(_as_float64(fn), what, *(x.clone() for x in args), library=library)
        if not ok:
            return False
        want = ref(*args)
        if got.shape != want.shape:
            return report(False, what, f"shape {tuple(got.shape)} for logits of shape {tuple(a.shape)}, "
                                       f"expected {tuple(want.shape)}")
        if not torch.isfinite(got).all():
            return report(False, what, f"non-finite values for logits of scale {a.abs().max():.0f}: {hint}")
        if not torch.allclose(got, want, rtol=1e-5, atol=1e-6):
            return report(False, what, f"values differ from the reference for logits of scale {a.abs().max():.3g}; {hint}")
    return report(True, what)


def check_sgan_unsupervised_loss(fn: Callable) -> bool:
    """``fn(unl_logits, fake_logits)`` (both (S, B, K+1), last = fake) equals
    :func:`ssgan_lib.losses.sgan_unsupervised_loss`, also for extreme logits."""
    return _check_fn(fn, losses.sgan_unsupervised_loss, 2, "SGAN unsupervised D loss",
                     "use log_softmax and logsumexp of the K real log-probabilities, never log(1 - p)",
                     library=(losses.sgan_unsupervised_loss,))


def check_sgan_g_loss(fn: Callable) -> bool:
    """``fn(fake_logits)`` ((S, B, K+1)) equals :func:`ssgan_lib.losses.sgan_g_loss`."""
    return _check_fn(fn, losses.sgan_g_loss, 1, "SGAN generator loss",
                     "-mean log(1 - p(K+1 | G(z))), computed as a logsumexp of the real log-probabilities",
                     library=(losses.sgan_g_loss,))


def check_softmax_floor(value: float) -> bool:
    """Smallest value ``F.cross_entropy(softmax(l), y)`` can take with K = 10 classes."""
    k = 10
    expected = math.log(k - 1 + math.e) - 1.0
    return check_close(value, expected, "floor of cross-entropy applied to softmax outputs (K = 10)", rtol=1e-4,
                       hint="the best case is p_y = 1 and every other p_k = 0; those are the 'logits' CE now sees")


def check_feature_matching(fn: Callable) -> bool:
    """``fn(real_feats, fake_feats)`` ((..., B, F)) equals the batch-mean feature matching loss."""
    g = torch.Generator().manual_seed(7)
    for shape in ((16, 5), (3, 10, 8), (2, 64, 250)):
        r = torch.randn(shape, generator=g, dtype=torch.float64)
        f = torch.randn(shape, generator=g, dtype=torch.float64) * 2 + 0.5
        ok, got = call_student(_as_float64(fn), "feature matching on batch means", r.clone(), f.clone(),
                               library=[losses.feature_matching_loss])
        if not ok:
            return False
        want = losses.feature_matching_loss(r, f)
        if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-6, atol=1e-9):
            hint = "take the mean over the batch axis (-2) *first*, then the squared difference, then the mean over features"
            return report(False, "feature matching on batch means", hint)
    return report(True, "feature matching on batch means")


def check_distinct_labels(fn: Callable) -> bool:
    """``fn(batches)`` returns the number of distinct labelled indices in a list of index tensors."""
    g = torch.Generator().manual_seed(3)
    cases = [[torch.randint(0, 100, (100,), generator=g) for _ in range(20)],
             [torch.randint(0, 60_000, (100,), generator=g) for _ in range(50)],
             [torch.tensor([5, 5, 5])]]
    for batches in cases:
        want = torch.unique(torch.cat(batches)).numel()
        try:
            got = int(fn([b.clone() for b in batches]))
        except Exception as exc:
            return report(False, "distinct labelled indices", f"it raised {type(exc).__name__}: {exc}")
        if got != want:
            return report(False, "distinct labelled indices", f"expected {want}, got {got}: count each index once")
    return report(True, "distinct labelled indices")


def check_best_gap(gap_points: float, history: dict) -> bool:
    """How many percentage points "report the best evaluation" adds to the last one, on the validation curve of
    ``history`` (a Trainer's: ``history["val_acc"]`` lists one accuracy per seed at each evaluation; seed 0)."""
    accs = [v[0] for v in history["val_acc"]]
    expected = 100 * (max(accs) - accs[-1])
    try:
        value = float(gap_points)
    except (TypeError, ValueError):
        return report(False, "best-evaluation gap", f"expected a number, got {type(gap_points).__name__}")
    if expected > 1e-9 and math.isclose(value, expected / 100, rel_tol=1e-6, abs_tol=1e-9):
        return report(False, "best-evaluation gap", "give it in percentage points (x 100), not as a fraction")
    if value < 0:
        return report(False, "best-evaluation gap", "the best evaluation is never below the last: max - last >= 0")
    return check_close(value, expected, "best-evaluation gap (percentage points)", rtol=1e-6, atol=1e-6,
                       hint="the largest validation accuracy minus the last one, in percentage points")
