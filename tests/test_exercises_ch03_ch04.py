"""The chapter 3 and 4 self-checks accept the book's solutions and reject typical mistakes."""
import math

import torch

from ssgan_lib import losses
from ssgan_lib.exercises import ch03, ch04


def test_optimal_d(capsys):
    assert ch03.check_optimal_d(lambda pd, pg: pd / (pd + pg))
    assert not ch03.check_optimal_d(lambda pd, pg: pg / (pd + pg))
    assert "probability of 'fake'" in capsys.readouterr().out
    assert not ch03.check_optimal_d(lambda pd, pg: pd / pg)
    assert not ch03.check_optimal_d(lambda pd, pg: 1 / 0)


def test_equilibrium_losses_match_library():
    zero = torch.zeros(8)
    d, g = losses.d_loss(zero, zero), losses.g_loss_nonsaturating(zero)
    assert ch03.check_equilibrium_losses(d, g)
    assert ch03.check_equilibrium_losses(2 * math.log(2), math.log(2))
    assert not ch03.check_equilibrium_losses(math.log(2), math.log(2))
    assert not ch03.check_equilibrium_losses(2 * math.log(2), -math.log(2))
    assert not ch03.check_equilibrium_losses("a", 0.7)


def test_diversity(capsys):
    from ssgan_lib.metrics import diversity
    assert ch03.check_diversity(lambda x: torch.cdist(x, x).sum() / (len(x) * (len(x) - 1)))
    assert not ch03.check_diversity(diversity)  # the library's own answer is refused
    assert not ch03.check_diversity(lambda x: torch.cdist(x, x).mean())
    assert "n(n-1)" in capsys.readouterr().out
    assert not ch03.check_diversity(lambda x: (torch.cdist(x, x) ** 2).sum() / (len(x) * (len(x) - 1)))


def test_conv_size():
    assert ch04.check_conv_size(lambda n, k, s, p: (n + 2 * p - k) // s + 1)
    assert not ch04.check_conv_size(lambda n, k, s, p: (n + 2 * p - k) / s + 1)
    assert not ch04.check_conv_size(lambda n, k, s, p: n // s)


def test_convtranspose_size(capsys):
    assert ch04.check_convtranspose_size(lambda n, k, s, p, op=0: (n - 1) * s - 2 * p + k + op)
    assert not ch04.check_convtranspose_size(lambda n, k, s, p, op=0: n * s)
    assert "undo the conv formula" in capsys.readouterr().out
    assert not ch04.check_convtranspose_size(lambda n, k, s, p, op=0: (n - 1) * s - 2 * p + k)  # ignores output_padding
    assert not ch04.check_convtranspose_size(lambda n, k, s, p: (n - 1) * s - 2 * p + k)  # wrong signature


def test_conv_params():
    assert ch04.check_conv_params(lambda ci, co, k, b: co * ci * k * k + (co if b else 0))
    assert not ch04.check_conv_params(lambda ci, co, k, b: co * ci * k * k + co)
    assert not ch04.check_conv_params(lambda ci, co, k, b: co * ci * k + (co if b else 0))
