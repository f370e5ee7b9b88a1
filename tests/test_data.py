"""ssgan_lib.data on the real MNIST: class-balanced seeded subsets, splits that never touch the test set,
and a clear error when the data is missing. Tests that need MNIST skip (saying why) without it."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from ssgan_lib import data as D
from ssgan_lib.config import ConfigError
from ssgan_lib.train import Trainer
from ssgan_lib.config import TrainConfig


def row_hashes(x: torch.Tensor) -> list[str]:
    u8 = (x.reshape(-1, 784) * 255).round().to(torch.uint8).numpy()
    return [hashlib.sha1(r.tobytes()).hexdigest() for r in u8]


@pytest.fixture(scope="module")
def hashes(mnist):
    return {"train": row_hashes(mnist.train_x), "test": set(row_hashes(mnist.test_x))}


# ----------------------------------------------------------------------------------------------
def test_mnist_shapes_and_ranges(mnist):
    assert mnist.train_x.shape == (60000, 784) and mnist.test_x.shape == (10000, 784)
    assert mnist.train_x.dtype == torch.float32 and 0 <= mnist.train_x.min() and mnist.train_x.max() <= 1
    assert sorted(mnist.train_y.unique().tolist()) == list(range(10))


@pytest.mark.parametrize("n", [10, 20, 100, 1000])
def test_balanced_subset_has_n_over_10_per_class(mnist, n):
    idx = D.balanced_subset(mnist.train_y, n, seed=3)
    assert len(idx) == n and len(set(idx.tolist())) == n  # no repeats
    assert torch.bincount(mnist.train_y[idx], minlength=10).tolist() == [n // 10] * 10


def test_balanced_subset_is_seeded_and_reproducible(mnist):
    a = D.balanced_subset(mnist.train_y, 100, seed=1)
    b = D.balanced_subset(mnist.train_y.clone(), 100, seed=1)
    assert torch.equal(a, b)  # same seed, same indices (and same order)
    c = D.balanced_subset(mnist.train_y, 100, seed=2)
    assert set(a.tolist()) != set(c.tolist())
    assert len(set(a.tolist()) & set(c.tolist())) < 10  # different seeds: essentially different images
    # it does not depend on, or move, the global RNG
    torch.manual_seed(0)
    r0 = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(D.balanced_subset(mnist.train_y, 100, seed=1), a)
    assert torch.equal(torch.rand(1), r0)


def test_balanced_subset_draws_only_from_its_pool(mnist):
    pool, val = D.validation_split(60000, 5000, seed=0)
    for seed in range(3):
        idx = D.balanced_subset(mnist.train_y, 1000, seed=seed, pool=pool)
        assert set(idx.tolist()) <= set(pool.tolist())
        assert not set(idx.tolist()) & set(val.tolist())
        assert torch.bincount(mnist.train_y[idx], minlength=10).tolist() == [100] * 10
    small_pool = torch.arange(0, 60000, 30)  # 2000 images: ~200 per class
    idx = D.balanced_subset(mnist.train_y, 100, seed=0, pool=small_pool)
    assert set(idx.tolist()) <= set(small_pool.tolist())
    with pytest.raises(ValueError, match="class"):
        D.balanced_subset(mnist.train_y, 5000, seed=0, pool=small_pool)  # 500 per class: not in this pool


@pytest.mark.parametrize("bad", [0, -10, 15])
def test_balanced_subset_rejects_counts_that_cannot_be_balanced(mnist, bad):
    with pytest.raises(ValueError, match="multiple of 10"):
        D.balanced_subset(mnist.train_y, bad, seed=0)


def test_all_labels_means_the_whole_pool(mnist):
    idx = D.balanced_subset(mnist.train_y, 60000, seed=0)
    assert sorted(idx.tolist()) == list(range(60000))
    # more of one class than MNIST has is a configuration error, not a crash
    with pytest.raises(ConfigError, match="class"):
        Trainer(TrainConfig(labels=55000, val_size=0, steps=1), data=mnist, progress=False)


def test_validation_split_is_a_seeded_partition():
    pool, val = D.validation_split(60000, 5000, seed=0)
    assert len(val) == 5000 and len(pool) == 55000
    assert sorted(torch.cat([pool, val]).tolist()) == list(range(60000))
    assert torch.equal(val, D.validation_split(60000, 5000, seed=0)[1])
    assert not torch.equal(val, D.validation_split(60000, 5000, seed=1)[1])
    for bad in (-1, 60000):
        with pytest.raises(ValueError):
            D.validation_split(60000, bad)


def test_validation_split_is_disjoint_from_every_labelled_subset(mnist):
    tr = Trainer(TrainConfig(labels=1000, seed=1, seeds=3, steps=1, val_size=5000), data=mnist, progress=False)
    val = set(tr.val_idx.tolist())
    assert len(val) == 5000
    for s in range(3):
        lab = tr.lab_idx[s]
        assert not val & set(lab.tolist())
        assert torch.equal(lab.cpu(), D.balanced_subset(mnist.train_y, 1000, seed=1 + s, pool=tr_pool(tr)))
    assert set(tr.lab_idx[0].tolist()) != set(tr.lab_idx[1].tolist())  # each seed its own subset


def tr_pool(tr: Trainer) -> torch.Tensor:
    return D.validation_split(60000, tr.cfg.val_size, seed=0)[0]


def test_test_images_are_not_training_rows(hashes):
    assert len(hashes["test"]) == 10000
    assert not hashes["test"] & set(hashes["train"])  # MNIST: no test image is also a training image


def test_trainer_batches_come_only_from_train_x(mnist, hashes):
    """Every labelled, unlabelled and feature-matching batch, over an epoch boundary, is rows of train_x
    (at the drawn indices), never a test image; labelled batches are labelled images with their labels."""
    short = D.MNIST(mnist.train_x[:400], mnist.train_y[:400], mnist.test_x, mnist.test_y)
    tr = Trainer(TrainConfig(labels=100, batch_size=100, steps=5, val_size=100), data=short, progress=False)
    assert tr.steps_per_epoch == 4  # 400 images, batches of 100: the draws cross an epoch boundary
    train_h = hashes["train"]
    lab_set = set(tr.lab_idx[0].tolist())
    b = tr.batches
    for step in range(5):
        if step % tr.steps_per_epoch == 0:
            tr._new_epoch()
        pos = int(b.pos)
        inp = tr.draw_inputs()
        cols = slice(pos * 100, pos * 100 + 100)
        for key, seq in (("x_lab", b.lab_seq), ("x_unl", b.unl_seq), ("x_unl2", b.unl2_seq)):
            idx = seq[0, cols]
            assert int(idx.min()) >= 0 and int(idx.max()) < 60000
            assert torch.equal(inp[key][0], short.train_x[idx]), key
            hs = row_hashes(inp[key])
            assert set(hs) <= set(train_h) and not set(hs) & hashes["test"], key
        assert set(b.lab_seq[0, cols].tolist()) == lab_set  # 100 labels, batch 100: each once
        assert torch.equal(inp["y_lab"][0], mnist.train_y[b.lab_seq[0, cols]])
        b.advance()


def test_training_never_reads_the_test_set(mnist):
    """With every test pixel NaN, training and validation run as on the real data: the test set is not
    touched (a NaN in a loss would stop fit() with DivergenceError; one in a validation logit would change
    the accuracies, which nothing else checks)."""
    poisoned = D.MNIST(mnist.train_x, mnist.train_y, torch.full_like(mnist.test_x, float("nan")), mnist.test_y)
    for method in ("ssgan-fm", "sgan"):
        cfg = TrainConfig(labels=100, steps=4, val_size=200, log_every=2, eval_every=2, method=method)
        hist = Trainer(cfg, data=poisoned, progress=False).fit()
        clean = Trainer(cfg, data=mnist, progress=False).fit()
        assert len(hist["val_acc"]) == 2
        for key in ("loss_lab", "loss_unl", "loss_g", "val_acc"):
            assert hist[key] == clean[key], (method, key)


# ----------------------------------------------------------------------------------------------
# missing data
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """SSGAN_DATA_DIR -> an empty folder, the repository's data/ -> a folder without MNIST."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(D.ENV_VAR, str(empty))
    monkeypatch.setattr(D, "REPO_DATA_DIR", tmp_path / "repo" / "data")
    return empty


def _check_message(msg: str) -> None:
    assert "\n" not in msg
    assert "SSGAN_DATA_DIR" in msg and "data/" in msg.replace("\\", "/")
    assert "MNIST/raw" in msg.replace("\\", "/")


def test_missing_data_without_download(no_data):
    with pytest.raises(D.DataNotFoundError) as exc:
        D.find_data_dir(download=False)
    _check_message(str(exc.value))
    assert "download not allowed" in str(exc.value)
    assert str(D.REPO_DATA_DIR) in str(exc.value)  # the folder it really searched, not a fixed "data/"
    with pytest.raises(D.DataNotFoundError):
        D.load_mnist("cpu", download=False)


def test_a_relative_data_dir_is_reported_where_it_led(no_data, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(D.ENV_VAR, "../shared/data")  # README's folder, but relative to this cwd
    with pytest.raises(D.DataNotFoundError) as exc:
        D.find_data_dir(download=False)
    _check_message(str(exc.value))
    assert str(tmp_path / ".." / "shared" / "data") in str(exc.value) and "/absolute/" in str(exc.value)


def test_missing_data_when_the_download_fails(no_data, monkeypatch):
    import torchvision.datasets

    calls = []

    def offline(self, *a, **k):  # as torchvision does: make MNIST/raw/, then fail to connect
        calls.append(self.root)
        Path(self.raw_folder).mkdir(parents=True, exist_ok=True)
        raise OSError("Could not resolve host: ossci-datasets.s3.amazonaws.com")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    with pytest.raises(D.DataNotFoundError) as exc:
        D.find_data_dir(download=True)
    assert calls, "the download was not even tried"
    _check_message(str(exc.value))
    assert "OSError" in str(exc.value)
    assert list(no_data.iterdir()) == []  # nothing left behind in the user's folder


def test_missing_data_leaves_no_folder_it_created(tmp_path, monkeypatch):
    import torchvision.datasets

    target = tmp_path / "new" / "dir"
    monkeypatch.setenv(D.ENV_VAR, str(target))
    monkeypatch.setattr(D, "REPO_DATA_DIR", tmp_path / "repo" / "data")

    def half_download(self, *a, **k):  # creates MNIST/raw and a partial file, then fails
        raw = target / "MNIST" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        (raw / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b partial")
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", half_download)
    with pytest.raises(D.DataNotFoundError):
        D.find_data_dir(download=True)
    assert not target.exists()


def test_gzipped_raw_files_are_unpacked_on_first_use(tmp_path, monkeypatch, mnist):
    """A folder with only the four ``.gz`` files (as MNIST is distributed) loads the very same data."""
    import gzip

    src = next(d for d in D.candidate_dirs() if (d / "MNIST" / "raw" / D.RAW_FILES[0]).exists()) / "MNIST" / "raw"
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for n in D.RAW_FILES:
        (raw / (n + ".gz")).write_bytes(gzip.compress((src / n).read_bytes(), compresslevel=1))
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path))
    got = D.load_mnist("cpu", download=False)
    assert torch.equal(got.train_x, mnist.train_x) and torch.equal(got.test_y, mnist.test_y)
    assert sorted(p.name for p in raw.iterdir()) == sorted(list(D.RAW_FILES) + [n + ".gz" for n in D.RAW_FILES])


def test_data_dir_order(tmp_path, monkeypatch):
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path / "env"))
    assert D.candidate_dirs()[0] == tmp_path / "env" and D.candidate_dirs()[1] == D.REPO_DATA_DIR
    monkeypatch.delenv(D.ENV_VAR)
    assert D.candidate_dirs() == [D.REPO_DATA_DIR]


def test_label_rate_to_count():
    assert D.label_rate_to_count(0.2) == 12000 and D.label_rate_to_count(1.0) == 60000
    assert D.label_rate_to_count(0.001) == 60
    for bad in (0, -0.1, 1.5, 0.0001):
        with pytest.raises(ValueError):
            D.label_rate_to_count(bad)


def test_permutation_helpers():
    g = torch.Generator().manual_seed(0)
    p = D.epoch_permutation(50, 3, torch.device("cpu"), g)
    assert p.shape == (3, 50) and all(sorted(r.tolist()) == list(range(50)) for r in p)
    assert not torch.equal(p[0], p[1])
    r = D.repeated_permutation(20, 70, 2, torch.device("cpu"), g)
    assert r.shape == (2, 70)
    for row in r:  # every image once before any twice
        for k in range(3):
            assert sorted(row[20 * k:20 * (k + 1)].tolist()) == list(range(20))
        assert sorted(row[60:].tolist()) == sorted(set(row[60:].tolist()))
