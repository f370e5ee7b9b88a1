"""No self-check can be passed by calling the library function the exercise asks the student to write.

While a check runs the student's function, the library functions it is meant to reproduce raise (however the
student reached them: ``losses.x``, an imported name, an alias); the check reports "not yet" and names the function.
Negative control: with that guard switched off, the same library-calling answers pass, so the guard is what fails
them; and an answer written by hand (the book's solutions, ``tests/test_exercises_*``) still passes.
"""
from __future__ import annotations

import contextlib

import pytest

from ssgan_lib import exercises, losses
from ssgan_lib.exercises import ch06
from ssgan_lib.losses import unsupervised_loss as imported_by_name



def hands_to(dotted: str):
    """An answer that hands all its work to the library function ``dotted``, reached through its module."""
    import importlib

    module, name = dotted.rsplit(".", 1)
    mod = importlib.import_module(module)
    return lambda *args, **kwargs: getattr(mod, name)(*args, **kwargs)


def check_named(name: str):
    import importlib

    for ch in ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08", "ch09"):
        mod = importlib.import_module(f"ssgan_lib.exercises.{ch}")
        if hasattr(mod, name):
            return getattr(mod, name)
    raise LookupError(name)


# (check, an answer that hands the work to the library): every entry of LIBRARY_ANSWERS, and one answer that
# reaches the library through a name imported before the check ran
CASES = {name: (check_named(name), hands_to(dotted)) for name, dotted in exercises.LIBRARY_ANSWERS.items()}
CASES["check_salimans_unl_loss, imported name"] = (ch06.check_salimans_unl_loss, lambda a, b: imported_by_name(a, b))


@pytest.mark.parametrize("name", CASES)
def test_an_answer_that_calls_the_library_is_not_accepted(name, capsys):
    check, answer = CASES[name]
    assert check(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("not yet") and "the library's own answer" in out, out


@pytest.mark.parametrize("name", CASES)
def test_without_the_guard_the_same_answers_would_pass(name, monkeypatch, capsys):
    monkeypatch.setattr(exercises, "library_unavailable", lambda functions: contextlib.nullcontext())
    check, answer = CASES[name]
    assert check(answer) is True


def test_the_guard_puts_the_library_back():
    import torch

    x = torch.randn(2, 3, 4)
    before = losses.unsupervised_loss(x, x)
    with pytest.raises(exercises.LibraryCalled, match="ssgan_lib.losses.unsupervised_loss"):
        with exercises.library_unavailable([losses.unsupervised_loss]):
            imported_by_name(x, x)
    assert torch.equal(losses.unsupervised_loss(x, x), before)


def test_a_check_records_its_verdict_for_the_autograder():
    from ssgan_lib.exercises import ch01

    exercises.VERDICTS.pop("check_ns_loss", None)
    assert ch01.check_ns_loss(lambda logits: logits.neg().exp().log1p().mean(-1)) is False  # overflows at -1000
    assert exercises.VERDICTS["check_ns_loss"] is False
    import torch.nn.functional as F

    assert ch01.check_ns_loss(lambda logits: F.softplus(-logits).mean(-1)) is True
    assert exercises.VERDICTS["check_ns_loss"] is True
