"""Self-checks for the book's exercises: ``check_*`` functions print whether an answer is right.

Each chapter has its module (``ssgan_lib.exercises.ch01`` ...). They all print one line starting
with ``correct`` or ``not yet`` and return ``True``/``False``, so an instructor can also assert them.
"""
from __future__ import annotations

import math
from typing import Any, Callable


def report(ok: bool, what: str, hint: str = "") -> bool:
    """Print the verdict on one answer and return it."""
    if ok:
        print(f"correct: {what}")
    else:
        print(f"not yet: {what}" + (f" -- hint: {hint}" if hint else ""))
    return ok


def call_student(fn: Callable, what: str, *args) -> tuple[bool, Any]:
    """Call a student's function; if it raises, report that (with the error) and return ``(False, False)``."""
    try:
        return True, fn(*args)
    except Exception as exc:  # a student's function may fail in any way
        return False, report(False, what, f"it raised {type(exc).__name__}: {exc}")


def check_close(answer: Any, expected: float, what: str, rtol: float = 1e-3, atol: float = 1e-6, hint: str = "") -> bool:
    """``answer`` (a number or a 0-d tensor) is within tolerance of ``expected``."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return report(False, what, f"expected a number, got {type(answer).__name__}")
    ok = math.isfinite(value) and math.isclose(value, expected, rel_tol=rtol, abs_tol=atol)
    return report(ok, what, hint or f"your value {value:.6g} differs from the expected one")


def check_allclose(fn_or_value, reference, what: str, rtol: float = 1e-4, atol: float = 1e-5, hint: str = "") -> bool:
    """A tensor answer matches ``reference`` elementwise (shapes must agree)."""
    import torch

    value = torch.as_tensor(fn_or_value, dtype=torch.float64)
    ref = torch.as_tensor(reference, dtype=torch.float64)
    if value.shape != ref.shape:
        return report(False, what, f"shape {tuple(value.shape)} but expected {tuple(ref.shape)}")
    return report(bool(torch.allclose(value, ref, rtol=rtol, atol=atol)), what, hint or "values differ from the reference")
