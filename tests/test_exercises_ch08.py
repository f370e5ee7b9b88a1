"""The chapter 8 self-checks accept the book's solutions and reject typical mistakes."""
import math

import torch

from ssgan_lib.exercises import ch08
from ssgan_lib.metrics import frechet_distance


def test_frechet_1d_accepts_solution_and_rejects_variances(capsys):
    assert ch08.check_frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (s1 - s2) ** 2)
    assert not ch08.check_frechet_1d(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (s1 ** 2 - s2 ** 2) ** 2)
    assert "standard deviations" in capsys.readouterr().out
    assert not ch08.check_frechet_1d(lambda m1, s1, m2, s2: 1 / 0)
    assert not ch08.check_frechet_1d(lambda m1, s1, m2, s2: "zero")


def test_frechet_1d_agrees_with_library_on_samples():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200_000, 1, generator=g, dtype=torch.float64) * 0.5 + 2.0
    b = torch.randn(200_000, 1, generator=g, dtype=torch.float64) * 1.5 - 1.0
    closed = (2.0 + 1.0) ** 2 + (0.5 - 1.5) ** 2
    assert math.isclose(frechet_distance(a, b), closed, rel_tol=1e-2)


def test_frechet_diag(capsys):
    assert ch08.check_frechet_diag(lambda m1, v1, m2, v2: ((m1 - m2) ** 2).sum() + (v1 + v2 - 2 * (v1 * v2).sqrt()).sum())
    assert not ch08.check_frechet_diag(lambda m1, v1, m2, v2: ((m1 - m2) ** 2).sum() + (v1 + v2 - 2 * v1 * v2).sum())
    assert not ch08.check_frechet_diag(lambda m1, v1, m2, v2: (m1 - m2) ** 2)  # a vector, not a number
    assert capsys.readouterr().out.count("not yet") == 2


def test_class_tv():
    assert ch08.check_class_tv(lambda h: 0.5 * (h - 1 / len(h)).abs().sum())
    assert not ch08.check_class_tv(lambda h: (h - 1 / len(h)).abs().sum())
    assert not ch08.check_class_tv(lambda h: 0.5 * (h - 0.1).abs().sum())  # hard-codes K = 10
