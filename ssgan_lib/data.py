"""MNIST as device tensors, class-balanced labelled subsets, and batches drawn on the device.

Where the data comes from (first that works):

1. ``$SSGAN_DATA_DIR`` — a folder holding ``MNIST/raw/`` in torchvision's layout;
2. ``data/`` at the root of this repository when ``ssgan_lib`` runs from a checkout (an editable
   install included), else a user cache folder, ``$XDG_CACHE_HOME/ssgan_lib`` or
   ``~/.cache/ssgan_lib`` (an installed package: Colab's ``pip install git+...``) — never a folder
   inside the installed package or ``site-packages``;
3. torchvision's download into the first of those two folders (Colab, a laptop online), once: the
   next run finds the files there.

The split follows Salimans et al. (2016), ``train_mnist_feature_matching.py``:

* the **unlabelled pool** is the whole training set (60,000 images, their labels unused);
* the **labelled pool** is ``N/10`` images of each class drawn from the training set by a seeded
  permutation (``N`` = number of labels);
* the **test set** (10,000 images) is only ever used to report the final number, never to train
  or to choose a model. A *validation* split, carved from the training images, is there for that.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from .atomic import atomic_path

NUM_CLASSES = 10
IMAGE_SIZE = 28 * 28
ENV_VAR = "SSGAN_DATA_DIR"
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent  # the repository when running from a checkout; site-packages when installed


def _is_checkout(root: Path) -> bool:
    """True when ``root`` is a checkout of this repository (its ``pyproject.toml`` names ``ssgan_lib``)."""
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"""^name\s*=\s*["']ssgan_lib["']""", text, re.MULTILINE) is not None


IN_CHECKOUT = _is_checkout(REPO_ROOT)
# The repository's data/ folder, or None when ssgan_lib is an installed package (never site-packages/data).
REPO_DATA_DIR: Path | None = REPO_ROOT / "data" if IN_CHECKOUT else None


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ssgan_lib``, else ``~/.cache/ssgan_lib``: where an installed package keeps MNIST."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "ssgan_lib"


def default_data_dir() -> Path:
    """The folder used when ``$SSGAN_DATA_DIR`` is not set: the checkout's ``data/``, else the user cache."""
    return REPO_DATA_DIR if REPO_DATA_DIR is not None else user_cache_dir()


class DataNotFoundError(RuntimeError):
    """MNIST is neither on disk nor downloadable."""


@dataclass
class MNIST:
    """MNIST as flat float tensors on one device, pixels in [0, 1]."""

    train_x: torch.Tensor  # (60000, 784) float32
    train_y: torch.Tensor  # (60000,) int64
    test_x: torch.Tensor  # (10000, 784) float32
    test_y: torch.Tensor  # (10000,) int64

    @property
    def device(self) -> torch.device:
        return self.train_x.device


def candidate_dirs() -> list[Path]:
    """Folders searched for ``MNIST/raw``, in order."""
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]).expanduser())
    dirs.append(default_data_dir())
    return dirs


RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _has_raw(root: Path) -> bool:
    """True when ``root/MNIST/raw`` holds the four files, uncompressed or as ``.gz`` (unpacked on first use)."""
    raw = root / "MNIST" / "raw"
    return all((raw / n).exists() or (raw / (n + ".gz")).exists() for n in RAW_FILES)


def _unpack_gz(root: Path) -> None:
    """Unpack ``MNIST/raw/*.gz`` beside themselves where the uncompressed file is missing (torchvision
    reads only those). Each file is written to a temporary name and renamed: never half a file."""
    import gzip
    import shutil

    raw = root / "MNIST" / "raw"
    for n in RAW_FILES:
        if (raw / n).exists():
            continue
        try:
            with atomic_path(raw / n, fsync=False) as tmp, gzip.open(raw / (n + ".gz"), "rb") as src, \
                    open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except OSError as exc:
            raise DataNotFoundError(f"cannot unpack {raw / (n + '.gz')} ({exc.strerror or exc}); "
                                    f"unpack the four .gz files in {raw} yourself (gunzip -k)") from exc


def find_data_dir(download: bool = True) -> Path:
    """Return a folder that holds ``MNIST/raw``; download there if needed and allowed.

    Raises :class:`DataNotFoundError` with both ways to fix it when nothing works.
    """
    dirs = candidate_dirs()
    for d in dirs:
        if _has_raw(d):
            _unpack_gz(d)
            return d
    target = dirs[0]
    if download:
        existed = target.exists()
        mnist_existed = (target / "MNIST").exists()
        try:
            from torchvision.datasets import MNIST as TVMNIST

            target.mkdir(parents=True, exist_ok=True)
            TVMNIST(str(target), train=True, download=True)
            TVMNIST(str(target), train=False, download=True)
            if _has_raw(target):
                return target
        except Exception as exc:  # network errors come in many types
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        else:
            reason = "download finished without the raw files"
        import shutil

        if not existed:  # leave nothing half-written behind
            shutil.rmtree(target, ignore_errors=True)
        elif not mnist_existed:  # torchvision made MNIST/raw/ in an existing folder before failing
            shutil.rmtree(target / "MNIST", ignore_errors=True)
    else:
        reason = "download not allowed"
    searched = ", ".join(str(d.absolute()) for d in dirs)  # where a relative $SSGAN_DATA_DIR led
    raise DataNotFoundError(
        f"MNIST not found (searched {searched}) and could not be downloaded ({reason}). "
        f"Fix: set {ENV_VAR}=/absolute/path/to/folder holding MNIST/raw/ (notebooks and tests run from "
        'other folders; e.g. "$PWD/../shared/data" from the repository root), '
        f"or put the four MNIST files in {dirs[-1] / 'MNIST' / 'raw'}."
    )


@lru_cache(maxsize=4)
def _load_cpu(root: str) -> MNIST:
    from torchvision.datasets import MNIST as TVMNIST

    tr = TVMNIST(root, train=True, download=False)
    te = TVMNIST(root, train=False, download=False)
    # uint8 -> float in [0, 1] once, here; every batch afterwards is a slice of these tensors.
    return MNIST(
        train_x=tr.data.reshape(-1, IMAGE_SIZE).float().div_(255.0),
        train_y=tr.targets.long(),
        test_x=te.data.reshape(-1, IMAGE_SIZE).float().div_(255.0),
        test_y=te.targets.long(),
    )


def load_mnist(device: str | torch.device = "cpu", download: bool = True) -> MNIST:
    """Load MNIST train and test once and move them to ``device`` (about 200 MB as float32)."""
    root = find_data_dir(download=download)
    cpu = _load_cpu(str(root))
    device = torch.device(device)
    if device.type == "cpu":
        return cpu
    return MNIST(*(t.to(device) for t in (cpu.train_x, cpu.train_y, cpu.test_x, cpu.test_y)))


def validation_split(n_train: int, val_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Split training indices into (pool, validation) by a seeded permutation.

    The validation images keep their labels hidden from training; they are used to watch and tune,
    so that the test set never chooses anything.
    """
    if not 0 <= val_size < n_train:
        raise ValueError(f"val_size must be in [0, {n_train}), got {val_size}")
    g = torch.Generator().manual_seed(10_000 + seed)
    perm = torch.randperm(n_train, generator=g)
    return perm[: n_train - val_size].sort().values, perm[n_train - val_size :].sort().values


def balanced_subset(labels: torch.Tensor, n_labels: int, seed: int, pool: torch.Tensor | None = None,
                    num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Indices of a class-balanced labelled subset: ``n_labels / num_classes`` images per class.

    As in the paper: permute the (pool of) training images with ``seed``, then take the first
    ``n_labels / num_classes`` of each class. Same ``seed`` -> same subset, on any machine.
    ``n_labels`` equal to the size of the pool (e.g. 60,000: full supervision) labels the whole pool,
    whose classes are not balanced in MNIST.
    """
    labels = labels.cpu()
    if pool is None:
        pool = torch.arange(len(labels))
    if n_labels <= 0 or n_labels % num_classes:
        raise ValueError(f"labels must be a positive multiple of {num_classes} (class-balanced), got {n_labels}")
    per_class = n_labels // num_classes
    g = torch.Generator().manual_seed(seed)
    perm = pool[torch.randperm(len(pool), generator=g)]
    if n_labels == len(pool):  # every image labelled: no class can give more than it has
        return perm
    chosen = []
    for c in range(num_classes):
        of_c = perm[labels[perm] == c]
        if len(of_c) < per_class:
            raise ValueError(f"class {c} has only {len(of_c)} images in the pool, {per_class} asked for")
        chosen.append(of_c[:per_class])
    return torch.cat(chosen)


def label_rate_to_count(rate: float, n_train: int = 60_000, num_classes: int = NUM_CLASSES) -> int:
    """Number of labels for a labelled *rate* (e.g. 0.2 -> 12,000), rounded down to a multiple of 10."""
    if not 0 < rate <= 1:
        raise ValueError(f"label rate must be in (0, 1], got {rate}")
    n = int(rate * n_train) // num_classes * num_classes
    if n == 0:
        raise ValueError(f"label rate {rate} gives fewer than {num_classes} labels")
    return n


def epoch_permutation(n: int, seeds: int, device: torch.device, generator: torch.Generator) -> torch.Tensor:
    """``seeds`` independent permutations of ``range(n)``, shape (seeds, n), drawn on the device."""
    return torch.argsort(torch.rand(seeds, n, device=device, generator=generator), dim=1)


def repeated_permutation(n: int, length: int, seeds: int, device: torch.device,
                         generator: torch.Generator) -> torch.Tensor:
    """Concatenated permutations of ``range(n)`` covering ``length`` slots, shape (seeds, length).

    This is how the paper cycles through a small labelled set: every image appears once before any
    appears twice, so a batch of 100 from 100 labels holds each labelled image exactly once.
    """
    reps = -(-length // n)
    r = torch.rand(seeds, reps, n, device=device, generator=generator)
    return torch.argsort(r, dim=2).reshape(seeds, reps * n)[:, :length]
