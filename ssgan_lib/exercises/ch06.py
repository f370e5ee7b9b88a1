"""Self-checks for chapter 6 (Improved GAN: K logits, feature matching, weight norm, averaging, Adam)."""
from __future__ import annotations

import math
from typing import Callable

import torch

from .. import losses
from . import check_close, report
from .ch05 import _check_fn


def check_salimans_unl_loss(fn: Callable) -> bool:
    """``fn(unl_logits, fake_logits)`` ((S, B, K) logits, fake logit fixed at 0) equals
    :func:`ssgan_lib.losses.unsupervised_loss` (with its factor 1/2), also for extreme logits."""
    return _check_fn(fn, losses.unsupervised_loss, 2, "improved-GAN unsupervised D loss",
                     "write log D(x) and log(1 - D(x)) with logsumexp and softplus, D(x) = Z/(Z+1); keep the 1/2",
                     k=10, library=(losses.unsupervised_loss, losses.salimans_d_loss))


def check_d_of_x(fn: Callable) -> bool:
    """``fn(logits)`` ((S, B, K)) returns D(x) = Z/(Z+1), shape (S, B), finite for extreme logits."""
    return _check_fn(fn, lambda l: torch.sigmoid(torch.logsumexp(l, dim=-1)), 1, "D(x) = Z/(Z+1)",
                     "Z/(Z+1) = sigmoid(log Z) and log Z = logsumexp(logits); exp() of a large logit overflows",
                     k=10)


def check_k_plus_one(fn: Callable) -> bool:
    """``fn(logits)`` turns (..., K+1) logits (last = fake) into the K logits with the fake logit fixed at 0."""
    return _check_fn(fn, losses.k_plus_one_to_k, 1, "K+1 -> K logits",
                     "subtract the fake logit from each real one", k=11, library=(losses.k_plus_one_to_k,))


def paper_adam_first_step(lr: float, grad: float, eps: float = 1e-8) -> float:
    """Size of the first update of the reference Adam (epsilon inside the square root)."""
    return lr * abs(grad) / math.sqrt(grad * grad + eps)


def check_adam_first_step(value: float) -> bool:
    """First update of PaperAdam with lr = 0.003 on a parameter whose gradient is 1e-5."""
    return check_close(value, paper_adam_first_step(3e-3, 1e-5), "first PaperAdam step (lr 0.003, gradient 1e-5)",
                       rtol=1e-3, atol=0,
                       hint="after bias correction m = g and v = g^2; the step is lr * m / sqrt(v + eps)")


def check_bias_corrected_average(fn: Callable) -> bool:
    """``fn(values, decay)`` returns the bias-corrected exponential moving average of a list of numbers
    (the rule of :class:`ssgan_lib.optim.ParamAverage`, here in float64)."""
    cases = [([1.0, 2.0, 3.0], 0.9), ([5.0] * 10, 0.9999), ([0.3, -1.0, 2.5, 4.0, 0.0], 0.5), ([7.0], 0.99)]
    for values, decay in cases:
        a = 0.0  # the update of optim.ParamAverage, in float64
        for v in values:
            a += (1 - decay) * (v - a)
        want = a / (1 - decay ** len(values))
        try:
            got = float(fn(list(values), decay))
        except Exception as exc:
            return report(False, "bias-corrected average", f"it raised {type(exc).__name__}: {exc}")
        if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
            return report(False, "bias-corrected average",
                          f"for {values} with decay {decay} expected {want:.6g}, got {got:.6g}; "
                          "start at a = 0, update a += (1 - decay)(p - a), divide by 1 - decay^t")
    return report(True, "bias-corrected average")
