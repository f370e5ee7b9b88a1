"""Self-checks for chapter 8 (evaluating generators)."""
from __future__ import annotations

import math
from typing import Callable

import torch

from . import call_student, report




def check_frechet_1d(fn: Callable) -> bool:
    """``fn(mu1, sigma1, mu2, sigma2)``: squared Fréchet distance between N(mu1, sigma1^2) and N(mu2, sigma2^2).

    Expected: :math:`(\\mu_1-\\mu_2)^2 + (\\sigma_1-\\sigma_2)^2` (standard deviations, not variances).
    """
    cases = [(0.0, 1.0, 0.0, 1.0), (1.0, 1.0, -1.0, 1.0), (0.0, 1.0, 0.0, 3.0), (2.5, 0.5, -0.5, 2.0), (0.0, 0.0, 0.0, 2.0)]
    for mu1, s1, mu2, s2 in cases:
        ok, got = call_student(fn, "frechet_1d", mu1, s1, mu2, s2)
        if not ok:
            return False
        expected = (mu1 - mu2) ** 2 + (s1 - s2) ** 2
        try:
            value = float(got)
        except (TypeError, ValueError):
            return report(False, "frechet_1d", f"expected a number, got {type(got).__name__}")
        if not (math.isfinite(value) and math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9)):
            hint = f"for N({mu1}, {s1}^2) and N({mu2}, {s2}^2) expected {expected:.4g}, got {value:.4g}"
            if math.isclose(value, (mu1 - mu2) ** 2 + (s1 ** 2 - s2 ** 2) ** 2, rel_tol=1e-6, abs_tol=1e-9):
                hint += "; the covariance term compares standard deviations, not variances"
            return report(False, "frechet_1d", hint)
    return report(True, "frechet_1d")


def check_frechet_diag(fn: Callable) -> bool:
    """``fn(mu1, var1, mu2, var2)`` (1-D tensors of means and variances): Fréchet distance of diagonal Gaussians.

    Compared with :func:`ssgan_lib.metrics.frechet_distance`'s formula written out for diagonal covariances.
    """
    g = torch.Generator().manual_seed(8)
    for d in (1, 3, 16):
        mu1, mu2 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
        var1 = torch.rand(d, generator=g, dtype=torch.float64) * 2 + 0.1
        var2 = torch.rand(d, generator=g, dtype=torch.float64) * 2 + 0.1
        expected = float((mu1 - mu2).square().sum() + (var1 + var2 - 2 * (var1 * var2).sqrt()).sum())
        ok, got = call_student(fn, "frechet_diag", mu1.clone(), var1.clone(), mu2.clone(), var2.clone())
        if not ok:
            return False
        try:
            value = float(got)
        except (TypeError, ValueError, RuntimeError):
            return report(False, "frechet_diag", f"expected one number, got {type(got).__name__}")
        if not math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            return report(False, "frechet_diag", f"in {d} dimensions expected {expected:.5g}, got {value:.5g}; "
                                                  "the trace term is sum(var1 + var2 - 2 sqrt(var1 var2))")
    return report(True, "frechet_diag")


def check_class_tv(fn: Callable) -> bool:
    """``fn(hist)``: total-variation distance between a class histogram and the uniform one, ``0.5 * sum |h - 1/K|``."""
    cases = [torch.full((10,), 0.1), torch.eye(10)[3], torch.tensor([0.2] * 5 + [0.0] * 5),
             torch.tensor([0.25, 0.25, 0.5])]
    for h in cases:
        expected = 0.5 * float((h - 1 / len(h)).abs().sum())
        ok, got = call_student(fn, "class_tv", h.clone())
        if not ok:
            return False
        try:
            value = float(got)
        except (TypeError, ValueError, RuntimeError):
            return report(False, "class_tv", f"expected one number, got {type(got).__name__}")
        if not math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            return report(False, "class_tv", f"for {h.tolist()} expected {expected:.4f}, got {value:.4f}; "
                                              "uniform is 1/K for each of the K classes, and mind the factor 1/2")
    return report(True, "class_tv")
