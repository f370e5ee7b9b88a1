"""Subset selection and shuffling through ``Trainer.fit`` against the reference's (issue 35, item 3).

The reference's ``txs``/``tys`` (``count`` images per class from a seeded permutation), its labelled set repeated
with a fresh ``rng.permutation`` per repetition to fill an epoch of 600 batches, and its two unlabelled copies
permuted each epoch were recorded by running the script's own data code and loop (stub Theano functions that
record which images each call gets; ``export_beyond.py batches``). The library's batches are recorded the same
way: ``Trainer.fit`` with the step replaced by a recorder, on an MNIST whose images are their own indices. Both
are reduced by ``beyond.structure`` (RNGs differ, so structure: counts and shares) and must agree, at 100 and at
20 labels, over two epochs and the first batch of the third."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

ORACLE = Path(__file__).resolve().parents[1] / "book" / "_tools" / "reference_oracle"
if str(ORACLE) not in sys.path:
    sys.path.insert(0, str(ORACLE))
import beyond as BY  # noqa: E402

REF = json.loads((Path(__file__).parent / "data" / "oracle_beyond_batches.json").read_text())
EPOCHS, SPE = 2, 600
EXACT = ("labels", "distinct_labelled", "per_class", "steps_per_epoch", "batch", "epochs", "labelled_blocks",
         "labelled_blocks_permutations", "labelled_blocks_same_as_previous", "labelled_batches_class_balanced",
         "labelled_outside_set", "unl_orders_permutations", "unl_orders")


def fit_batches(mnist, labels: int, seeds: int):
    """``Trainer.fit`` for two epochs and one step with the step replaced by a recorder; returns the trainer and
    per seed the (steps, B) indices of the labelled, unlabelled and G's unlabelled batches, and the labels."""
    from ssgan_lib import train as T
    from ssgan_lib.data import MNIST

    x = torch.arange(60000, dtype=torch.float32)[:, None]  # each "image" is its own index (exact in float32)
    data = MNIST(train_x=x, train_y=mnist.train_y, test_x=x[:10], test_y=mnist.test_y[:10])
    cfg = T.TrainConfig(labels=labels, seed=1, seeds=seeds, steps=EPOCHS * SPE + 1, val_size=5000, eval_every=0,
                        log_every=10**9)
    tr = T.Trainer(cfg, data=data, progress=False)
    tr.initialised = True  # no data-dependent init (the images are indices)
    tr.D = types.SimpleNamespace(noise_shapes=lambda b: [])  # no Gaussian-layer noise to draw: batches only
    rec: dict = {"lab": [], "y": [], "unl": [], "unl2": [], "lr": []}

    def step(cfg, D, G, opt_d, opt_g, avg, inp):
        rec["lab"].append(inp["x_lab"][..., 0].long())
        rec["y"].append(inp["y_lab"])
        rec["unl"].append(inp["x_unl"][..., 0].long())
        rec["unl2"].append(inp["x_unl2"][..., 0].long())
        rec["lr"].append(float(opt_d.lr))
        return torch.zeros(cfg.seeds, 4)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(T, "ssgan_step", step)
        tr.fit()
    out = {k: torch.stack(v, 1).numpy() for k, v in rec.items() if k != "lr"}  # (S, steps, B)
    return tr, out, rec["lr"]


@pytest.fixture(scope="module")
def runs(mnist):
    return {100: fit_batches(mnist, 100, seeds=2), 20: fit_batches(mnist, 20, seeds=1)}


@pytest.mark.parametrize("labels", [100, 20])
def test_epochs_of_batches_have_the_reference_structure(mnist, runs, labels):
    tr, b, lr = runs[labels]
    ref = REF[str(labels)]
    y = mnist.train_y.numpy()
    assert len(ref["lab_set"]) == labels
    assert np.array_equal(b["y"], y[b["lab"]])  # each labelled image comes with its own label
    for s in range(tr.cfg.seeds):
        lab_set = tr.lab_idx[s].numpy()
        n = EPOCHS * SPE
        got = BY.structure(b["lab"][s, :n], b["unl"][s, :n], b["unl2"][s, :n], lab_set, y, SPE)
        bad = {k: (got[k], ref[k]) for k in EXACT if got[k] != ref[k]}
        assert not bad, f"seed {s}: (library, reference) " + str(bad)
        for k in ("same_position_unl_vs_unl2", "same_position_unl_epoch_to_epoch",
                  "same_position_unl2_epoch_to_epoch"):  # a fresh independent permutation: ~1/60,000 each
            assert max(got[k]) < 1e-3 and max(ref[k]) < 1e-3, (k, got[k], ref[k])
        # the labelled orders of two epochs are different draws (share ~1/labels, as in the reference)
        for g, r in zip(got["same_position_lab_epoch_to_epoch"], ref["same_position_lab_epoch_to_epoch"]):
            assert g < 0.5 and abs(g - r) < 0.05, (g, r)
        # the first batch of epoch 3 starts a new labelled order and new unlabelled orders
        assert not np.array_equal(b["unl"][s, n], b["unl"][s, 0]) and not np.array_equal(b["unl"][s, n], b["unl"][s, SPE])
    assert ref["lr_values"] == [0.003]  # the final script: constant lr (the library's is a float32 tensor here)
    assert all(v == pytest.approx(0.003, rel=1e-7) for v in lr)


def test_labelled_subset_per_seed_and_outside_the_validation_split(mnist, runs):
    """Run s of a batched trainer labels what ``balanced_subset(seed + s)`` picks from the pool that excludes the
    validation images (the library's validation split; the reference has none and picks from all 60,000)."""
    from ssgan_lib.data import balanced_subset, validation_split

    pool, val = validation_split(60000, 5000, seed=0)
    for labels, (tr, _, _) in runs.items():
        for s in range(tr.cfg.seeds):
            lab = tr.lab_idx[s]
            assert torch.equal(lab, balanced_subset(mnist.train_y, labels, seed=1 + s, pool=pool))
            assert not set(lab.tolist()) & set(val.tolist())
            assert np.bincount(mnist.train_y[lab].numpy(), minlength=10).tolist() == REF[str(labels)]["per_class"]
    tr = runs[100][0]
    assert len(set(tr.lab_idx[0].tolist()) & set(tr.lab_idx[1].tolist())) < 10  # two seeds, two subsets
