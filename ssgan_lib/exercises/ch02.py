"""Self-checks for chapter 2 (an MLP GAN on MNIST)."""
from __future__ import annotations

import math
from typing import Callable

import torch

from . import call_student, report


def check_scaling(to_tanh: Callable, to_pixels: Callable) -> bool:
    """``to_tanh`` maps pixels in [0, 1] to [-1, 1] (0 -> -1, 1 -> 1, linearly); ``to_pixels`` is its inverse."""
    what = "scaling to [-1, 1] and back"
    x = torch.tensor([[0.0, 0.25, 0.5, 1.0], [0.1, 0.9, 0.3, 0.7]], dtype=torch.float64)
    ok, y = call_student(to_tanh, what, x.clone())
    if not ok:
        return False
    try:
        y = torch.as_tensor(y, dtype=torch.float64)
    except Exception:
        return report(False, what, f"to_tanh should return a tensor, got {type(y).__name__}")
    expected = 2 * x - 1
    if y.shape != x.shape or not torch.allclose(y, expected, atol=1e-6):
        hint = "to_tanh(0) must be -1 and to_tanh(1) must be +1, linear in between"
        if y.shape == x.shape and torch.allclose(y, x - 0.5, atol=1e-6):
            hint = "x - 0.5 lands in [-0.5, 0.5]; scale by 2 as well"
        return report(False, what, hint)
    ok, back = call_student(to_pixels, what, expected.clone())
    if not ok:
        return False
    try:
        back = torch.as_tensor(back, dtype=torch.float64)
    except Exception:
        return report(False, what, f"to_pixels should return a tensor, got {type(back).__name__}")
    if back.shape != x.shape or not torch.allclose(back, x, atol=1e-6):
        return report(False, what, "to_pixels(to_tanh(x)) should give x back: to_pixels(-1) = 0, to_pixels(1) = 1")
    return report(True, what)


def check_generator_params(n) -> bool:
    """Trainable parameters of :class:`ssgan_lib.models.MLPGenerator` (default sizes)."""
    from ..models import MLPGenerator, count_parameters

    what = "generator parameters"
    expected = count_parameters(MLPGenerator())
    try:
        value = int(n)
    except (TypeError, ValueError):
        return report(False, what, f"expected an integer, got {type(n).__name__}")
    if value == expected:
        return report(True, what)
    hint = "weights and biases of 4 linear layers, plus a scale and a shift per unit of the 2 batch-norm layers"
    if value == expected - 2 * (512 + 1024):
        hint = "you left out the batch-norm scales and shifts (2 per unit, layers of 512 and 1024)"
    elif value == expected + 2 * (512 + 1024):
        hint = "running mean and variance are buffers, not trainable parameters"
    elif value == expected - (256 + 512 + 1024 + 784):
        hint = "the linear layers have biases too"
    elif value == expected + 2 * 256:
        hint = "there is no batch norm after the first layer (it sees the raw noise)"
    return report(False, what, hint)


def check_step_losses(d_loss, g_loss) -> bool:
    """:math:`L_D` and :math:`L_G^{\\text{ns}}` for one real image with :math:`D(x) = 0.9` and one fake with
    :math:`D(G(z)) = 0.2`."""
    what = "losses of one step"
    try:
        d, g = float(d_loss), float(g_loss)
    except (TypeError, ValueError):
        return report(False, what, "expected two numbers")
    exp_d = -math.log(0.9) - math.log(0.8)
    exp_g = -math.log(0.2)
    ok_d = math.isclose(d, exp_d, rel_tol=1e-3)
    ok_g = math.isclose(g, exp_g, rel_tol=1e-3)
    if ok_d and ok_g:
        return report(True, what)
    if not ok_d:
        hint = "L_D = -log D(x) - log(1 - D(G(z)))"
        if math.isclose(d, -math.log(0.9) - math.log(0.2), rel_tol=1e-3):
            hint = "the fake term is -log(1 - D(G(z))): D should say 'fake', i.e. a small D(G(z))"
        return report(False, what, hint)
    hint = "the non-saturating loss is -log D(G(z))"
    if math.isclose(g, math.log(0.8), rel_tol=1e-3):
        hint = "that is the minimax loss log(1 - D(G(z))); the non-saturating one is -log D(G(z))"
    return report(False, what, hint)
