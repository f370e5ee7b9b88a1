"""Helpers of the comparisons "beyond one step" (README.md, section "Beyond one step"), numpy only: the same
file runs in the Theano environment (``export_beyond.py``, which writes ``tests/data/oracle_beyond_*.json``) and
in the library's tests (``tests/test_oracle_*.py``).

* :func:`ks_uniform`, :func:`ks_two_sample`: Kolmogorov-Smirnov statistics without scipy;
* :func:`structure`: what the batches of an epoch look like (class balance, each block of ``labels`` consecutive
  labelled slots a permutation of the labelled set, each unlabelled order a permutation of all images, how much
  two orders share), computed the same way from the reference's recorded batches and from the library's;
* :func:`grad_stream`: the seeded gradient stream fed to the reference's ``nn.adam_updates`` + averaging and
  to the library's ``PaperAdam`` + ``ParamAverage``;
* :func:`step_inputs_labels`: the oracle's step inputs of ``inputs.py`` with a labelled batch drawn from
  ``n_labels`` labelled images (a batch of 100 from 20 labels is 5 permutations of the 20, as in the reference).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

import inputs as I

# --- distributions ------------------------------------------------------------------------------------------


def ks_uniform(x: np.ndarray) -> float:
    """KS statistic of the sample ``x`` against U(0, 1)."""
    x = np.sort(np.asarray(x, np.float64).ravel())
    n = len(x)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - x), np.max(x - (i - 1) / n)))


def ks_two_sample(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS statistic: max |F_a - F_b| over the pooled sample."""
    a, b = np.sort(np.asarray(a, np.float64).ravel()), np.sort(np.asarray(b, np.float64).ravel())
    pts = np.concatenate([a, b])
    fa = np.searchsorted(a, pts, side="right") / len(a)
    fb = np.searchsorted(b, pts, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def ks_crit(n: int, m: int | None = None, alpha_c: float = 1.95) -> float:
    """Critical two-sided KS distance at level ~0.001 (c(alpha) = 1.95): sqrt(1/n) or sqrt((n+m)/(n m))."""
    return alpha_c * (np.sqrt(1.0 / n) if m is None else np.sqrt((n + m) / (n * m)))


def moments(x: np.ndarray) -> dict:
    x = np.asarray(x, np.float64).ravel()
    c = x - x.mean()
    return {"n": int(x.size), "mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()),
            "max": float(x.max()), "skew": float(np.mean(c ** 3) / x.std() ** 3),
            "kurt": float(np.mean(c ** 4) / x.std() ** 4)}


# --- batches ------------------------------------------------------------------------------------------------


def structure(lab: np.ndarray, unl: np.ndarray, unl2: np.ndarray, lab_set: np.ndarray, train_y: np.ndarray,
              steps_per_epoch: int) -> dict:
    """Structure of the batches of whole epochs.

    ``lab``, ``unl``, ``unl2``: (steps, B) indices into the 60,000 training images of every step's labelled batch,
    D's unlabelled batch and G's (feature matching) unlabelled batch, ``steps`` a multiple of ``steps_per_epoch``;
    ``lab_set``: the labelled indices. Everything returned is a count or a share, comparable across RNGs."""
    steps, B = lab.shape
    n_lab, n_train = len(lab_set), len(train_y)
    epochs = steps // steps_per_epoch
    assert epochs * steps_per_epoch == steps
    want = np.sort(lab_set)
    out: dict = {"labels": int(n_lab), "distinct_labelled": int(len(np.unique(lab_set))),
                 "per_class": np.bincount(train_y[lab_set], minlength=10).tolist(),
                 "steps_per_epoch": int(steps_per_epoch), "batch": int(B), "epochs": int(epochs)}
    blocks_perm, blocks_total, block_repeats, balanced_batches = 0, 0, 0, 0
    ep_lab, ep_unl, ep_unl2 = [], [], []
    for e in range(epochs):
        sl = slice(e * steps_per_epoch, (e + 1) * steps_per_epoch)
        seq = lab[sl].ravel()
        blocks = seq[: len(seq) // n_lab * n_lab].reshape(-1, n_lab)
        blocks_total += len(blocks)
        blocks_perm += int(sum(np.array_equal(np.sort(b), want) for b in blocks))
        block_repeats += int(sum(np.array_equal(blocks[i], blocks[i + 1]) for i in range(len(blocks) - 1)))
        balanced_batches += int(sum(np.all(np.bincount(train_y[b], minlength=10) == B // 10) for b in lab[sl]))
        ep_lab.append(seq)
        ep_unl.append(unl[sl].ravel())
        ep_unl2.append(unl2[sl].ravel())
    out["labelled_blocks"] = blocks_total
    out["labelled_blocks_permutations"] = blocks_perm  # each block of n_lab slots holds every labelled image once
    out["labelled_blocks_same_as_previous"] = block_repeats  # a new permutation per repetition
    out["labelled_batches_class_balanced"] = balanced_batches
    out["labelled_outside_set"] = int(sum(np.sum(~np.isin(s, lab_set)) for s in ep_lab))
    perm = np.arange(n_train)
    out["unl_orders_permutations"] = int(sum(np.array_equal(np.sort(s), perm) for s in ep_unl + ep_unl2))
    out["unl_orders"] = 2 * epochs
    # share of positions where two orders put the same image (a fresh independent permutation: ~1/60,000)
    out["same_position_unl_vs_unl2"] = [float(np.mean(a == b)) for a, b in zip(ep_unl, ep_unl2)]
    out["same_position_unl_epoch_to_epoch"] = [float(np.mean(ep_unl[i] == ep_unl[i + 1])) for i in range(epochs - 1)]
    out["same_position_unl2_epoch_to_epoch"] = [float(np.mean(ep_unl2[i] == ep_unl2[i + 1]))
                                                for i in range(epochs - 1)]
    out["same_position_lab_epoch_to_epoch"] = [float(np.mean(ep_lab[i] == ep_lab[i + 1])) for i in range(epochs - 1)]
    # how often the first labelled block of an epoch equals that of the next (0: the order is drawn again)
    return out


# --- Adam and averaging over many steps -----------------------------------------------------------------------

ADAM_SHAPES = {"P0": (6, 4), "P1": (4,), "P2": (3,)}
ADAM_SEED = 35
STEPS_PER_EPOCH_ADAM = 10  # the stream's "epoch": 10 steps, so that 300 epochs (and the decay) fit in 3,000 steps
ADAM_CHECKPOINTS = (1, 2, 10, 100, 1000, 2000, 2001, 2500, 3000)


def adam_init() -> dict[str, np.ndarray]:
    rng = np.random.RandomState(ADAM_SEED)
    return {k: rng.normal(0, 1, size=s) for k, s in ADAM_SHAPES.items()}


def grad_stream(t: int) -> dict[str, np.ndarray]:
    """Gradient of step t (1-based): per element a fixed scale from 1e-6 to 1e2 (eps inside the sqrt matters
    for the smallest), a fixed drift and fresh Gaussian noise; every 7th step one tensor's gradient is 0."""
    rs = np.random.RandomState(ADAM_SEED + 1)
    scale = {k: 10.0 ** rs.uniform(-6, 2, size=s) for k, s in ADAM_SHAPES.items()}
    drift = {k: rs.uniform(-1, 1, size=s) for k, s in ADAM_SHAPES.items()}
    rng = np.random.RandomState([ADAM_SEED, t])
    g = {k: scale[k] * (drift[k] + rng.standard_normal(s)) for k, s in ADAM_SHAPES.items()}
    if t % 7 == 0:
        g[sorted(ADAM_SHAPES)[t % 3]] = np.zeros(ADAM_SHAPES[sorted(ADAM_SHAPES)[t % 3]])
    return g


# --- the oracle's inputs at other label counts ---------------------------------------------------------------


def step_inputs_labels(seed: int, t: int, n_labels: int, batch: int = 100) -> dict:
    """``inputs.step_inputs(seed, t)`` with ``lab`` (positions in ``labelled_set(seed, y, n_labels)``) made of
    ``batch / n_labels`` permutations of the labelled set (n_labels = 100: unchanged)."""
    s = I.step_inputs(seed, t, batch=batch)
    if n_labels != I.N_LABELS:
        assert batch % n_labels == 0
        rng = np.random.RandomState([seed, t, n_labels])
        s["lab"] = np.concatenate([rng.permutation(n_labels) for _ in range(batch // n_labels)])
    return s


def load_test(raw: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 test images (float32 in [0, 1]) and labels, as ``inputs.load_train`` reads the training set."""
    raw = raw or I.mnist_dir()
    x = I._idx(raw / "t10k-images-idx3-ubyte").reshape(-1, I.IMG).astype(np.float32) / np.float32(255)
    y = I._idx(raw / "t10k-labels-idx1-ubyte").astype(np.int64)
    return x, y


EVAL_STEPS = 10  # the evaluation comparison: the oracle's run of 100 labels after this many steps
EVAL_IMAGES = 2000  # first test images whose predictions are compared
EVAL_LOGITS = 50  # first test images whose logits are compared
LAB20_STEPS = 12
LAB20_CKPT = (1, 5, 10, 12)
F32_STEPS = 5

_ = gzip  # (inputs._idx opens .gz files itself)
