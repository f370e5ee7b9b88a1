"""Self-checks for chapter 4 (DCGAN)."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from . import call_student, report

_CASES = [(7, 4, 2, 1), (14, 4, 2, 1), (28, 4, 2, 1), (7, 3, 2, 1), (4, 5, 1, 0), (5, 4, 3, 2), (1, 7, 1, 0)]




def check_conv_size(fn: Callable) -> bool:
    """``fn(n, kernel, stride, padding)``: output side of ``nn.Conv2d`` on an ``n`` x ``n`` input,
    :math:`\\lfloor (n + 2p - k)/s \\rfloor + 1`, compared with PyTorch itself."""
    for n, k, s, p in _CASES:
        if n + 2 * p < k:
            continue
        expected = nn.Conv2d(1, 1, k, s, p)(torch.zeros(1, 1, n, n)).shape[-1]
        ok, got = call_student(fn, "conv output size", n, k, s, p)
        if not ok:
            return False
        if got != expected:
            return report(False, "conv output size",
                          f"for n={n}, kernel={k}, stride={s}, padding={p} PyTorch gives {expected}, you gave {got}"
                          + ("; round down (floor), then add 1" if isinstance(got, float) or got == expected + 1 else ""))
    return report(True, "conv output size")


def check_convtranspose_size(fn: Callable) -> bool:
    """``fn(n, kernel, stride, padding, output_padding=0)``: output side of ``nn.ConvTranspose2d``,
    :math:`(n-1)s - 2p + k + \\text{output\\_padding}`, compared with PyTorch itself."""
    for n, k, s, p in _CASES:
        for op in (0, 1):
            if op >= s:
                continue
            expected = nn.ConvTranspose2d(1, 1, k, s, p, output_padding=op)(torch.zeros(1, 1, n, n)).shape[-1]
            ok, got = call_student(fn, "transposed-conv output size", n, k, s, p, op)
            if not ok:
                return False
            if got != expected:
                hint = (f"for n={n}, kernel={k}, stride={s}, padding={p}, output_padding={op} PyTorch gives "
                        f"{expected}, you gave {got}")
                if got == n * s:
                    hint += "; n*s is right only for some kernels and paddings: undo the conv formula exactly"
                return report(False, "transposed-conv output size", hint)
    return report(True, "transposed-conv output size")


def check_conv_params(fn: Callable) -> bool:
    """``fn(c_in, c_out, kernel, bias)``: trainable scalars of ``nn.Conv2d(c_in, c_out, kernel, bias=bias)``."""
    for c_in, c_out, k, bias in ((1, 32, 4, True), (32, 64, 4, False), (64, 128, 3, False), (3, 5, 1, True)):
        expected = sum(p.numel() for p in nn.Conv2d(c_in, c_out, k, bias=bias).parameters())
        ok, got = call_student(fn, "conv parameters", c_in, c_out, k, bias)
        if not ok:
            return False
        if got != expected:
            hint = f"for c_in={c_in}, c_out={c_out}, kernel={k}, bias={bias} expected {expected}, got {got}"
            if got == c_in * c_out * k * k + (c_out if not bias else 0) or got == c_in * c_out * k * k + c_out:
                hint += "; one bias per output channel, and none when bias=False"
            return report(False, "conv parameters", hint)
    return report(True, "conv parameters")
