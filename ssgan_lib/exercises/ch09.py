"""Self-checks for chapter 9 (under the hood)."""
from __future__ import annotations

from typing import Callable

import torch

from ..models import SalimansD
from . import check_close, report


def check_d_macs(n: int) -> bool:
    """Multiply-adds of one Salimans-D forward on one image, counted from the model itself."""
    d = SalimansD(1)
    macs = sum(layer.theta.shape[1] * layer.theta.shape[2] for layer in list(d.hidden) + [d.out])
    return check_close(n, macs, "multiply-adds of one D forward", rtol=0, atol=0.5,
                       hint="sum n_in * n_out over the six dense layers")


def check_batch_indices(fn: Callable) -> bool:
    """``fn(perm, pos, B)`` must equal ``perm[:, pos*B:(pos+1)*B]`` for a 0-d tensor ``pos``."""
    g = torch.Generator().manual_seed(0)
    perm = torch.argsort(torch.rand(3, 50, generator=g), dim=1)
    for p in range(5):
        try:
            got = fn(perm, torch.tensor(p), 10)
        except Exception as exc:
            return report(False, "batch_indices", f"it raised {type(exc).__name__}: {exc}")
        if not torch.equal(torch.as_tensor(got), perm[:, p * 10:(p + 1) * 10]):
            return report(False, "batch_indices", f"batch {p} differs from perm[:, {p * 10}:{(p + 1) * 10}]")
    return report(True, "batch_indices")
