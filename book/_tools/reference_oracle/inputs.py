"""Deterministic inputs shared by the reference (Theano) run and the library (PyTorch) run.

numpy only, so the same file runs in the Theano environment and in the library's. Everything comes from
``np.random.RandomState`` seeded by ``seed`` (initial parameters, labelled set, data-dependent-init batch) or by
``[seed, t]`` (the random inputs of step ``t``), so nothing large is stored and any step can be regenerated alone.

Conventions (both runners follow them):

* pixels: ``np.float32(uint8) / np.float32(255)`` (what ``ssgan_lib.data.load_mnist`` and the reference's
  ``mnist.npz`` hold), widened to float64 for float64 runs;
* parameters *before* data-dependent init, under common names (``D0..D5`` dense layers of D, ``G`` generator):
  ``D{i}.theta`` ~ N(0, 0.1^2), ``D{i}.b`` = 0, ``D{i}.g`` = 1 (the reference's ``weight_scale``);
  ``G.W1``, ``G.W2``, ``G.W3`` Glorot-uniform as Lasagne's ``DenseLayer`` draws them, ``G.b1``, ``G.b2``
  (batch-norm shifts) = 0, ``G.g3`` = 1 (``W_scale`` / weight-norm ``g``), ``G.b3`` = 0;
* Gaussian noise: standard normal, multiplied by sigma (0.3 input, 0.5 hidden) inside the model;
* D step noise ``noise_d[i]``: (3B, d_i), rows [0:B] for the labelled forward, [B:2B] unlabelled, [2B:3B] fake;
  G step noise ``noise_g[i]``: (2B, d_i), rows [0:B] for the real (unlabelled-2) forward, [B:2B] fake;
  d = (784, 1000, 500, 250, 250, 250): the input of each of D's six dense layers.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

D_DIMS = (784, 1000, 500, 250, 250, 250)
D_OUT = (1000, 500, 250, 250, 250, 10)
Z_DIM, G_HIDDEN, IMG = 100, 500, 784
N_LABELS = 100
INIT_SIZE = 500


def mnist_dir() -> Path:
    """``$SSGAN_DATA_DIR/MNIST/raw`` or the shared data folder."""
    for base in (os.environ.get("SSGAN_DATA_DIR"), "/work/shared/data",
                 str(Path(__file__).resolve().parents[4] / "shared" / "data")):
        if base and (Path(base) / "MNIST" / "raw").is_dir():
            return Path(base) / "MNIST" / "raw"
    raise FileNotFoundError("MNIST/raw not found: set SSGAN_DATA_DIR")


def _idx(path: Path) -> np.ndarray:
    if not path.exists():
        path = path.with_name(path.name + ".gz")
    op = gzip.open if path.suffix == ".gz" else open
    with op(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_train(raw: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 60,000 training images (float32 in [0, 1], (60000, 784)) and labels (int64)."""
    raw = raw or mnist_dir()
    x = _idx(raw / "train-images-idx3-ubyte").reshape(-1, IMG).astype(np.float32) / np.float32(255)
    y = _idx(raw / "train-labels-idx1-ubyte").astype(np.int64)
    return x, y


def initial_params(seed: int) -> dict[str, np.ndarray]:
    """Parameters before data-dependent init, float64, under the common names."""
    rng = np.random.RandomState(seed)
    p: dict[str, np.ndarray] = {}
    for i, (a, b) in enumerate(zip(D_DIMS, D_OUT)):
        p[f"D{i}.theta"] = rng.normal(0.0, 0.1, size=(a, b))
        p[f"D{i}.b"] = np.zeros(b)
        p[f"D{i}.g"] = np.ones(b)
    for name, (a, b) in (("W1", (Z_DIM, G_HIDDEN)), ("W2", (G_HIDDEN, G_HIDDEN)), ("W3", (G_HIDDEN, IMG))):
        lim = np.sqrt(6.0 / (a + b))  # lasagne.init.GlorotUniform(gain=1) of a dense (a, b) weight
        p[f"G.{name}"] = rng.uniform(-lim, lim, size=(a, b))
    p["G.b1"] = np.zeros(G_HIDDEN)
    p["G.b2"] = np.zeros(G_HIDDEN)
    p["G.g3"] = np.ones(IMG)
    p["G.b3"] = np.zeros(IMG)
    return p


def labelled_set(seed: int, train_y: np.ndarray, n: int = N_LABELS) -> np.ndarray:
    """Indices (into the 60,000) of ``n/10`` images per class, as the reference picks them (first of each
    class in a seeded permutation)."""
    perm = np.random.RandomState(seed + 10_000).permutation(len(train_y))
    return np.concatenate([perm[train_y[perm] == c][: n // 10] for c in range(10)])


def init_inputs(seed: int, n_train: int = 60_000) -> dict:
    """Data-dependent init: 500 image indices, the noise of D's six noise layers, and G's latent codes
    (used only by the paper-era script, whose G output layer has a data-dependent init too)."""
    rng = np.random.RandomState([seed, 0])
    idx = rng.choice(n_train, INIT_SIZE, replace=False)
    noise = [rng.standard_normal((INIT_SIZE, d)) for d in D_DIMS]
    z = rng.uniform(size=(100, Z_DIM))
    return {"idx": idx, "noise": noise, "z": z}


def step_inputs(seed: int, t: int, batch: int = 100, n_train: int = 60_000, n_labels: int = N_LABELS) -> dict:
    """The random inputs of step ``t`` (1-based): batches (indices), latent codes, Gaussian noise."""
    rng = np.random.RandomState([seed, t])
    out = {
        "lab": rng.permutation(n_labels)[:batch],  # positions in labelled_set()
        "unl": rng.choice(n_train, batch, replace=False),
        "unl2": rng.choice(n_train, batch, replace=False),
        "z": rng.uniform(size=(batch, Z_DIM)),
        "z2": rng.uniform(size=(batch, Z_DIM)),
    }
    out["noise_d"] = [rng.standard_normal((3 * batch, d)) for d in D_DIMS]
    out["noise_g"] = [rng.standard_normal((2 * batch, d)) for d in D_DIMS]
    return out


# steps at which full parameters are dumped
CHECKPOINTS = (1, 2, 5, 10, 50, 100, 200, 500)
D_NAMES = [f"D{i}.{k}" for i in range(6) for k in ("theta", "b", "g")]
G_NAMES = ["G.W1", "G.b1", "G.W2", "G.b2", "G.W3", "G.b3", "G.g3"]
D_TRAINABLE = [n for n in D_NAMES if not (n.endswith(".g") and n != "D5.g")]
