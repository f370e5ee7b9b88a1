"""Shared fixtures: real MNIST from $SSGAN_DATA_DIR (or data/ in the repo); tests that need it skip without it."""
from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def mnist():
    from ssgan_lib.data import DataNotFoundError, load_mnist

    try:
        return load_mnist("cpu", download=False)
    except DataNotFoundError as exc:
        pytest.skip(f"MNIST not available: {exc}")
