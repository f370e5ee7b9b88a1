"""Self-checks for chapter 7 (label-rate studies)."""
from __future__ import annotations

import math
from typing import Callable

from ..data import label_rate_to_count
from . import call_student, check_close, report


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


def _mean_errors(rows: list[dict], method: str) -> dict[int, float]:
    groups: dict[int, list[float]] = {}
    for r in rows:
        if r["method"] == method:
            groups.setdefault(int(r["labels"]), []).append(float(r["test_error"]))
    return {n: sum(v) / len(v) for n, v in groups.items()}


def reference_gains(rows: list[dict]) -> dict[int, float]:
    """{labels: mean supervised-only error - mean SSGAN-FM error} for the label counts that have both."""
    fm, sup = _mean_errors(rows, "ssgan-fm"), _mean_errors(rows, "supervised")
    return {n: sup[n] - fm[n] for n in sorted(fm) if n in sup}


def _synthetic_rows() -> list[dict]:
    """Rows as ``read_rows`` gives them: unsorted, unequal seed counts, a label count with one method only."""
    table = [("ssgan-fm", 100, 1, 1.2), ("supervised", 20, 1, 40.0), ("ssgan-fm", 20, 2, 12.0),
             ("supervised", 100, 1, 20.0), ("ssgan-fm", 100, 2, 1.6), ("ssgan-fm", 20, 1, 30.0),
             ("supervised", 100, 2, 24.0), ("supervised", 20, 2, 38.0), ("ssgan-fm", 100, 3, 0.5),
             ("supervised", 1000, 1, 5.0), ("ssgan-fm", 200, 1, 1.0),
             ("ssgan-fm", 60000, 1, 0.7), ("supervised", 60000, 1, 0.6)]
    return [{"method": m, "labels": n, "seed": s, "test_error": e, "epochs": 1.0, "recipe": "final",
             "device": "cpu", "commit": None} for m, n, s, e in table]


def check_gains(fn: Callable, rows: list[dict] | None = None) -> bool:
    """``fn(rows) -> {labels: gain}``: the supervised-only mean error minus the SSGAN-FM mean error (percentage
    points) at each label count that has runs of both methods. Checked on rows made up here and, when given, on
    ``rows`` (your sweep's)."""
    cases = [("made-up rows", _synthetic_rows())] + ([("your sweep's rows", list(rows))] if rows else [])
    for name, case in cases:
        expected = reference_gains(case)
        ok, got = call_student(fn, f"gains (on {name})", [dict(r) for r in case], library=[reference_gains])
        if not ok:
            return False
        if not isinstance(got, dict):
            return report(False, "gains", f"return a dict {{labels: gain}}, got {type(got).__name__}")
        try:
            got = {int(k): float(v) for k, v in got.items()}
        except (TypeError, ValueError):
            return report(False, "gains", "keys are label counts, values numbers")
        if set(got) != set(expected):
            return report(False, "gains", f"on {name}: label counts {sorted(got)}, expected {sorted(expected)} "
                                           "(only the counts that have runs of both methods)")
        for n, e in expected.items():
            if math.isclose(got[n], -e, abs_tol=1e-9) and abs(e) > 1e-9:
                return report(False, "gains", f"at {n} labels the sign is flipped: supervised minus SSGAN, "
                                               "positive when the unlabelled images helped")
            if not math.isclose(got[n], e, rel_tol=1e-9, abs_tol=1e-9):
                return report(False, "gains", f"on {name} at {n} labels: {got[n]:.4f}, expected {e:.4f} "
                                               "(the mean over all seeds of each method)")
    return report(True, "gains")
