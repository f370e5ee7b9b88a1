"""The chapter 1 and 2 self-checks accept the book's solutions and reject typical mistakes."""
import math

import torch
import torch.nn.functional as F

from ssgan_lib import losses
from ssgan_lib.exercises import ch01, ch02
from ssgan_lib.gan import modes_covered


def _pdf(x, mean, std):
    return math.exp(-(x - mean) ** 2 / (2 * std ** 2)) / (std * math.sqrt(2 * math.pi))


def test_dstar_point(capsys):
    p_data, p_g = _pdf(0, 0, 1), _pdf(0, 1, 2)
    assert ch01.check_dstar_point(p_data / (p_data + p_g))
    assert ch01.check_dstar_point(torch.tensor(p_data / (p_data + p_g)))
    assert not ch01.check_dstar_point(p_g / (p_data + p_g))
    assert "probability of 'fake'" in capsys.readouterr().out
    wrong_std = _pdf(0, 1, 4)  # variance 4 read as the standard deviation
    assert not ch01.check_dstar_point(p_data / (p_data + wrong_std))
    assert "standard deviation 2" in capsys.readouterr().out
    assert not ch01.check_dstar_point(0.5)
    assert not ch01.check_dstar_point("0.69x")


def test_ns_loss(capsys):
    assert ch01.check_ns_loss(lambda l: F.softplus(-l).mean(-1))
    assert not ch01.check_ns_loss(losses.g_loss_nonsaturating)  # the library's own answer is refused
    assert "library's own answer" in capsys.readouterr().out
    assert not ch01.check_ns_loss(lambda l: -torch.log(torch.sigmoid(l)).mean(-1))  # underflows at -1000
    assert "softplus" in capsys.readouterr().out
    assert not ch01.check_ns_loss(losses.g_loss_minimax)
    assert "minimax" in capsys.readouterr().out
    assert not ch01.check_ns_loss(lambda l: -F.softplus(-l).mean(-1))
    assert not ch01.check_ns_loss(lambda l: F.softplus(-l).mean())  # wrong shape for (3, 16)
    assert not ch01.check_ns_loss(lambda l: 1 / 0)


def test_saturation_grads(capsys):
    l = torch.tensor([-4.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(losses.g_loss_minimax(l), l)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(l), l)
    assert ch01.check_saturation_grads(g_mm.item(), g_ns.item())
    s = torch.sigmoid(torch.tensor(-4.0)).item()
    assert ch01.check_saturation_grads(-s, -(1 - s))
    assert not ch01.check_saturation_grads(-(1 - s), -s)
    assert "swapped" in capsys.readouterr().out
    assert not ch01.check_saturation_grads(s, 1 - s)
    assert "signs" in capsys.readouterr().out
    assert not ch01.check_saturation_grads(-s, -s)
    assert not ch01.check_saturation_grads(None, 1)


def test_disjoint(capsys):
    assert ch01.check_disjoint(math.log(2), 0.0)
    assert ch01.check_disjoint(torch.tensor(math.log(2)), torch.tensor(0.0))
    assert not ch01.check_disjoint(1.0, 0.0)
    assert "bits" in capsys.readouterr().out
    assert not ch01.check_disjoint(math.log(2), -math.log(4))
    assert not ch01.check_disjoint(0.0, -math.log(4))  # the equilibrium, not disjoint supports


def test_count_modes(capsys):
    def count_modes(samples, centers, radius=0.25, min_frac=0.01):
        d = torch.cdist(samples, centers)
        near, which = d.min(dim=1)
        counts = torch.bincount(which[near < radius], minlength=len(centers))
        return int((counts >= min_frac * len(samples)).sum())

    assert ch01.check_count_modes(count_modes)
    assert not ch01.check_count_modes(modes_covered)  # the library's own answer is refused

    def any_point(samples, centers, radius=0.25, min_frac=0.01):  # ignores min_frac
        d = torch.cdist(samples, centers)
        return int((d.min(dim=0).values < radius).sum())

    assert not ch01.check_count_modes(any_point)
    assert "expected" in capsys.readouterr().out

    def fixed_radius(samples, centers, radius=0.25, min_frac=0.01):  # ignores the radius argument
        return count_modes(samples, centers, 0.25, min_frac)

    assert not ch01.check_count_modes(fixed_radius)
    assert not ch01.check_count_modes(lambda s, c, r=0.25, f=0.01: "three")


def test_scaling(capsys):
    assert ch02.check_scaling(lambda x: x * 2 - 1, lambda y: (y + 1) / 2)
    assert ch02.check_scaling(lambda x: (x - 0.5) / 0.5, lambda y: y * 0.5 + 0.5)
    assert not ch02.check_scaling(lambda x: x - 0.5, lambda y: y + 0.5)
    assert "scale by 2" in capsys.readouterr().out
    assert not ch02.check_scaling(lambda x: x * 2 - 1, lambda y: (y + 1) * 2)
    assert not ch02.check_scaling(lambda x: x * 2 - 1, lambda y: 1 / 0)


def test_generator_params(capsys):
    n = (100 * 256 + 256) + (256 * 512 + 512) + (512 * 1024 + 1024) + (1024 * 784 + 784) + 2 * 512 + 2 * 1024
    assert ch02.check_generator_params(n)
    assert not ch02.check_generator_params(n - 2 * 512 - 2 * 1024)
    assert "batch-norm" in capsys.readouterr().out
    assert not ch02.check_generator_params(n + 2 * 512 + 2 * 1024)
    assert "buffers" in capsys.readouterr().out
    assert not ch02.check_generator_params(n - 256 - 512 - 1024 - 784)
    assert not ch02.check_generator_params("many")


def test_step_losses(capsys):
    def logit(p):
        return torch.log(torch.tensor([p]) / (1 - torch.tensor([p])))

    assert ch02.check_step_losses(losses.d_loss(logit(0.9), logit(0.2)), losses.g_loss_nonsaturating(logit(0.2)))
    assert ch02.check_step_losses(-math.log(0.9) - math.log(0.8), -math.log(0.2))
    assert not ch02.check_step_losses(-math.log(0.9) - math.log(0.2), -math.log(0.2))
    assert "small D(G(z))" in capsys.readouterr().out
    assert not ch02.check_step_losses(-math.log(0.9) - math.log(0.8), math.log(0.8))
    assert "minimax" in capsys.readouterr().out
    assert not ch02.check_step_losses(None, None)
