"""No self-check can be passed by calling the library function the exercise asks the student to write.

While a check runs the student's function, the library functions it is meant to reproduce raise (however the
student reached them: ``losses.x``, an imported name, an alias); the check reports "not yet" and names the function.
Negative control: with that guard switched off, the same library-calling answers pass, so the guard is what fails
them; and an answer written by hand (the book's solutions, ``tests/test_exercises_*``) still passes.
"""
from __future__ import annotations

import contextlib

import pytest

from ssgan_lib import exercises, gan, losses, metrics
from ssgan_lib.exercises import ch01, ch03, ch05, ch06, ch07
from ssgan_lib.losses import unsupervised_loss as imported_by_name

# (check, an answer that hands the work to the library)
CASES = {
    "ch01 ns loss": (ch01.check_ns_loss, lambda logits: losses.g_loss_nonsaturating(logits)),
    "ch01 count modes": (ch01.check_count_modes,
                         lambda s, c, radius=0.25, min_frac=0.01: gan.modes_covered(s, c, radius=radius,
                                                                                    min_frac=min_frac)),
    "ch03 diversity": (ch03.check_diversity, lambda x: metrics.diversity(x)),
    "ch05 sgan unsupervised": (ch05.check_sgan_unsupervised_loss, lambda a, b: losses.sgan_unsupervised_loss(a, b)),
    "ch05 sgan g": (ch05.check_sgan_g_loss, lambda a: losses.sgan_g_loss(a)),
    "ch05 feature matching": (ch05.check_feature_matching, lambda r, f: losses.feature_matching_loss(r, f)),
    "ch06 unsupervised (imported name)": (ch06.check_salimans_unl_loss, lambda a, b: imported_by_name(a, b)),
    "ch06 k+1 to k": (ch06.check_k_plus_one, lambda logits: losses.k_plus_one_to_k(logits)),
    "ch07 gains": (ch07.check_gains, lambda rows: ch07.reference_gains(rows)),
}


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
