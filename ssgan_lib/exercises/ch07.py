"""Self-checks for chapter 7 (label-rate studies)."""
from __future__ import annotations

import math
from typing import Callable

from ..data import label_rate_to_count
from . import check_close, report


def check_rate_labels(per_class: int) -> bool:
    """Labels per class for a 0.5 % labelled rate of 60,000 images."""
    return check_close(per_class, label_rate_to_count(0.005) // 10, "labels per class at a 0.5 % rate",
                       hint="rate x 60,000, rounded down to a multiple of 10, then / 10 classes")


def check_mean_std(fn: Callable) -> bool:
    """``fn(errors) -> (mean, sample std)`` on a few cases, one seed included."""
    cases = [[1.0, 2.0, 3.0], [0.93, 0.9, 1.01, 0.88], [5.0]]
    for errs in cases:
        n = len(errs)
        m = sum(errs) / n
        s = math.sqrt(sum((e - m) ** 2 for e in errs) / (n - 1)) if n > 1 else 0.0
        try:
            gm, gs = fn(list(errs))
        except Exception as exc:  # a student's function may fail in any way
            return report(False, "mean_std", f"it raised {type(exc).__name__}: {exc}")
        if not (math.isclose(gm, m, rel_tol=1e-9, abs_tol=1e-12) and math.isclose(gs, s, rel_tol=1e-9, abs_tol=1e-12)):
            return report(False, "mean_std", f"for {errs} expected ({m:.4f}, {s:.4f}), got ({gm:.4f}, {gs:.4f}); "
                                              "sample std divides by n - 1")
    return report(True, "mean_std")


def check_best_of(estimate: float) -> bool:
    """Expected minimum of 300 draws from N(1.0, 0.1^2), computed here by numerical integration."""
    # E[min] = mu + sigma * E[min of 300 standard normals]; integrate the density of the minimum.
    n, steps, lo, hi = 300, 20_000, -8.0, 8.0
    h = (hi - lo) / steps
    total = 0.0
    for i in range(steps):
        x = lo + (i + 0.5) * h
        pdf = math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        sf = 0.5 * math.erfc(x / math.sqrt(2))
        total += x * n * pdf * sf ** (n - 1) * h
    expected = 1.0 + 0.1 * total
    return check_close(estimate, expected, "expected best-of-300 test error", rtol=0, atol=0.02,
                       hint="simulate many sequences of 300 noisy measurements and average their minimum")
