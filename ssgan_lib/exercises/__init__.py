"""Self-checks for the book's exercises: ``check_*`` functions print whether an answer is right.

Each chapter has its module (``ssgan_lib.exercises.ch01`` ...). They all print one line starting
with ``correct`` or ``not yet`` and return ``True``/``False``, so an instructor can also assert them.
"""
from __future__ import annotations

import contextlib
import inspect
import math
import sys
from typing import Any, Callable, Sequence


# The library function each self-check's exercise asks the student to write (check -> dotted name): unavailable
# while the check runs the student's function (call_student's ``library``); the instructor kit's "library"
# submission hands each such exercise to it (book/_tools/grading.py).
LIBRARY_ANSWERS = {
    "check_ns_loss": "ssgan_lib.losses.g_loss_nonsaturating",
    "check_count_modes": "ssgan_lib.gan.modes_covered",
    "check_diversity": "ssgan_lib.metrics.diversity",
    "check_sgan_unsupervised_loss": "ssgan_lib.losses.sgan_unsupervised_loss",
    "check_sgan_g_loss": "ssgan_lib.losses.sgan_g_loss",
    "check_feature_matching": "ssgan_lib.losses.feature_matching_loss",
    "check_salimans_unl_loss": "ssgan_lib.losses.unsupervised_loss",
    "check_k_plus_one": "ssgan_lib.losses.k_plus_one_to_k",
    "check_gains": "ssgan_lib.exercises.ch07.reference_gains",
}

# The last verdict of each chapter's check_* in this session (what an autograder falls back on when a student's
# objects are named otherwise than the solution's).
VERDICTS: dict[str, bool] = {}


def _record(ok: bool) -> None:
    """Note ``ok`` as the verdict of the chapter check (a ``check_*`` of a chapter module) that is running."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if frame.f_code.co_name.startswith("check_") and module.startswith(__name__ + ".ch"):
            VERDICTS[frame.f_code.co_name] = ok
            return
        frame = frame.f_back


def report(ok: bool, what: str, hint: str = "") -> bool:
    """Print the verdict on one answer and return it."""
    _record(ok)
    if ok:
        print(f"correct: {what}")
    else:
        print(f"not yet: {what}" + (f" -- hint: {hint}" if hint else ""))
    return ok


class LibraryCalled(RuntimeError):
    """A student's function called the library function that the exercise asks them to write."""


@contextlib.contextmanager
def library_unavailable(functions: Sequence[Callable]):
    """Within ``with``: each of ``functions`` (the library's own answer to an exercise) raises
    :class:`LibraryCalled` when called, however the caller reached it (``losses.x``, an imported name, an alias):
    its code is swapped for a stub that raises (a decorated function's inner one), and put back on exit."""
    saved = []
    try:
        for f in functions:
            inner = inspect.unwrap(f)
            name = f"{f.__module__}.{f.__qualname__}"
            # the stub runs with the function's own globals: it finds this module through __import__
            scope: dict[str, Any] = {}
            exec(f"def blocked(*args, **kwargs):\n"
                 f"    raise __import__({__name__!r}, fromlist=['_']).LibraryCalled({name!r})", scope)
            saved.append((inner, inner.__code__))
            inner.__code__ = scope["blocked"].__code__
        yield
    finally:
        for inner, code in reversed(saved):
            inner.__code__ = code


def call_student(fn: Callable, what: str, *args, library: Sequence[Callable] = ()) -> tuple[bool, Any]:
    """Call a student's function with the ``library`` functions it is meant to reproduce unavailable; if it
    raises, report that (with the error) and return ``(False, False)``."""
    try:
        with library_unavailable(library):
            return True, fn(*args)
    except LibraryCalled as exc:
        return False, report(False, what, f"it calls {exc}, the library's own answer: write the computation yourself")
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
