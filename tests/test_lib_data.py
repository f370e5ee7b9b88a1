"""Data: where MNIST is found, class-balanced seeded subsets, splits that never mix with the test set."""
from __future__ import annotations

import hashlib

import pytest
import torch

from ssgan_lib import data as D
from ssgan_lib.train import Trainer, TrainConfig


def test_balanced_subset_is_balanced_seeded_and_reproducible(mnist):
    for n in (20, 100, 1000):
        idx = D.balanced_subset(mnist.train_y, n, seed=3)
        assert len(idx) == n and len(set(idx.tolist())) == n
        counts = torch.bincount(mnist.train_y[idx], minlength=10)
        assert (counts == n // 10).all(), counts
    a, b = D.balanced_subset(mnist.train_y, 100, seed=1), D.balanced_subset(mnist.train_y, 100, seed=1)
    c = D.balanced_subset(mnist.train_y, 100, seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a.sort().values, c.sort().values)


def test_balanced_subset_stays_in_its_pool_and_rejects_bad_counts(mnist):
    pool = torch.arange(0, 60000, 2)
    idx = D.balanced_subset(mnist.train_y, 200, seed=0, pool=pool)
    assert set(idx.tolist()) <= set(pool.tolist())
    for bad in (0, -10, 15):
        with pytest.raises(ValueError):
            D.balanced_subset(mnist.train_y, bad, seed=0)


def test_validation_split_is_disjoint_from_labelled_subset(mnist):
    cfg = TrainConfig(labels=1000, seed=1, seeds=2, steps=1, val_size=5000)
    tr = Trainer(cfg, data=mnist, progress=False)
    val = set(tr.val_idx.tolist())
    assert len(val) == 5000
    for s in range(2):
        assert not val & set(tr.lab_idx[s].tolist())
    assert not torch.equal(tr.lab_idx[0].sort().values, tr.lab_idx[1].sort().values)  # each seed its own subset


def _row_hashes(x: torch.Tensor) -> set[str]:
    u8 = (x * 255).round().to(torch.uint8).numpy()
    return {hashlib.sha1(r.tobytes()).hexdigest() for r in u8}


def test_training_batches_come_from_the_training_set_only(mnist):
    tr = Trainer(TrainConfig(labels=100, steps=3, val_size=100), data=mnist, progress=False)
    tr._new_epoch()
    inp = tr.draw_inputs()
    train_h = _row_hashes(mnist.train_x)
    for key in ("x_lab", "x_unl", "x_unl2"):
        assert _row_hashes(inp[key].reshape(-1, 784)) <= train_h, key
    # labelled batches hold labelled images only, with their true labels
    lab_h = _row_hashes(mnist.train_x[tr.lab_idx[0]])
    assert _row_hashes(inp["x_lab"][0]) <= lab_h
    assert tr.lab_seq.max() < 60000 and tr.unl_seq.max() < 60000
    # with 100 labels and batches of 100, every labelled batch is the whole labelled set once
    assert sorted(tr.lab_seq[0, :100].tolist()) == sorted(tr.lab_idx[0].tolist())


def test_test_set_is_separate_from_training_set(mnist):
    assert len(mnist.test_x) == 10000 and len(mnist.train_x) == 60000
    overlap = _row_hashes(mnist.test_x) & _row_hashes(mnist.train_x)
    assert len(overlap) < 10  # MNIST has a handful of duplicate-looking blank-ish digits at most


def test_label_rate_to_count():
    assert D.label_rate_to_count(0.2) == 12000
    assert D.label_rate_to_count(0.001) == 60
    for bad in (0, -0.1, 1.5, 0.0001):
        with pytest.raises(ValueError):
            D.label_rate_to_count(bad)


def test_missing_data_gives_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path / "empty"))
    monkeypatch.setattr(D, "REPO_DATA_DIR", tmp_path / "repo_data")

    def no_network(*a, **k):
        raise OSError("Could not resolve host")

    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", no_network)
    with pytest.raises(D.DataNotFoundError) as exc:
        D.find_data_dir(download=True)
    msg = str(exc.value)
    assert "SSGAN_DATA_DIR" in msg and "repo_data" in msg and "\n" not in msg
    assert not (tmp_path / "empty").exists(), "a failed download must not leave an empty data folder"
    with pytest.raises(D.DataNotFoundError):
        D.find_data_dir(download=False)


def test_permutation_helpers_are_permutations():
    g = torch.Generator().manual_seed(0)
    p = D.epoch_permutation(50, 3, torch.device("cpu"), g)
    assert all(sorted(r.tolist()) == list(range(50)) for r in p)
    r = D.repeated_permutation(20, 70, 2, torch.device("cpu"), g)
    assert r.shape == (2, 70)
    for row in r:
        for k in range(3):
            assert sorted(row[20 * k:20 * (k + 1)].tolist()) == list(range(20))
