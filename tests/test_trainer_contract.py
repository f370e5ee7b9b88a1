"""The trainer's contract, one suite over every (method x model): it learns, it is deterministic on the CPU,
a resumed run is bit-identical to an uninterrupted one, and bad input gets a one-line ConfigError.

Deeper tests of one case live beside their layer: the step against the reference (test_reference_oracle), seeds
side by side (test_train), batch norm in the DCGAN step (test_dcgan_trainer), checkpoints and signals
(test_robustness).
"""
from __future__ import annotations

import pytest
import torch

from conftest import assert_same_run
from ssgan_lib.config import METHODS, MODELS
from ssgan_lib.data import MNIST
from ssgan_lib.config import ConfigError
from ssgan_lib.train import read_checkpoint, Trainer
from ssgan_lib.config import TrainConfig

CASES = [(method, model) for model in MODELS for method in METHODS]
IDS = [f"{method}-{model}" for method, model in CASES]
pytestmark = pytest.mark.usefixtures("one_thread")


def config(method: str, model: str, **kw) -> TrainConfig:
    base = dict(method=method, model=model, labels=100, steps=12, batch_size=20, val_size=200, log_every=4,
                eval_every=0)
    base.update(kw)
    return TrainConfig(**base)


def make(method: str, model: str, mnist, out=None, **kw) -> Trainer:
    return Trainer(config(method, model, **kw), data=mnist, out_dir=out, progress=False)


@pytest.fixture(scope="module")
def short(mnist) -> MNIST:
    """The first 100 training images (each digit 5 to 14 times): with batches of 20 an epoch is 5 steps, so every
    run below crosses epoch boundaries (a new data order). 40 labels, no validation split (pass SHORT)."""
    return MNIST(mnist.train_x[:100], mnist.train_y[:100], mnist.test_x, mnist.test_y)


SHORT = dict(labels=40, val_size=0, init_size=100)


def mean_per_log(hist, key):
    return [sum(v) / len(v) for v in hist[key]]


# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method,model", CASES, ids=IDS)
def test_it_learns(mnist, method, model):
    tr = make(method, model, mnist, steps=24, log_every=8)
    acc0 = tr.evaluate("val", params="raw")[0]
    hist = tr.fit()
    assert (tr.G is None) == (method == "supervised")
    lab = mean_per_log(hist, "loss_lab")
    assert len(lab) == 3 and lab[-1] < lab[0], lab  # the labelled loss falls
    if method == "supervised":  # no game: the unsupervised and G losses are not computed
        assert hist["loss_unl"] == hist["loss_g"] == [[0.0]] * 3
    else:  # both players took part: their losses are positive numbers
        assert all(v[0] > 0 for v in hist["loss_unl"]) and all(v[0] > 0 for v in hist["loss_g"])
    acc = tr.evaluate("val", params="raw")[0]
    assert acc > max(0.3, acc0 + 0.15), (acc0, acc)  # far above the untrained D (about chance, 0.1)


@pytest.mark.parametrize("method,model", CASES, ids=IDS)
def test_it_is_deterministic_on_cpu(short, method, model):
    a, b = make(method, model, short, **SHORT), make(method, model, short, **SHORT)
    assert a.steps_per_epoch == 5
    a.fit()
    b.fit()
    assert_same_run(a, b)
    c = make(method, model, short, seed=2, **SHORT)  # the test can fail: another seed is another run
    c.fit()
    assert not torch.equal(a.batches.lab_idx, c.batches.lab_idx)
    assert not all(torch.equal(p, q) for p, q in zip(a.D.parameters(), c.D.parameters()))


@pytest.mark.parametrize("method,model", CASES, ids=IDS)
def test_a_resumed_run_is_bit_identical(short, tmp_path, method, model):
    """Stop at step k (on an epoch boundary, and mid-epoch), save, load into a new Trainer, fit to the end: the
    same weights, optimiser state, averages, RNG, data order and history as one uninterrupted run. (The one test of
    this property; the others of resuming test what is around it: Ctrl-C, the CLI, the sweep, a notebook cell.)"""
    full = make(method, model, short, **SHORT)
    full.fit()
    for k in (5, 8):
        out = tmp_path / f"k{k}"
        part = make(method, model, short, out, **SHORT)
        part.fit(steps=k)
        path = part.save()
        assert not list(out.glob("*.tmp"))
        at_k = read_checkpoint(path)  # (the resumed run below overwrites the file with its last step)
        resumed = make(method, model, short, out, **SHORT)
        resumed.load(path)
        assert resumed.step == k and resumed.initialised
        resumed.fit()
        assert_same_run(full, resumed)
    # the test can fail: a resume that forgets the data order is not the same run
    wrong = make(method, model, short, **SHORT)
    wrong.load_state_dict(at_k)  # step 8
    wrong.batches.lab_seq.copy_(wrong.batches.lab_seq.flip(1))
    wrong.fit()
    assert not all(torch.equal(p, q) for p, q in zip(wrong.D.parameters(), full.D.parameters()))


@pytest.mark.parametrize("method,model", CASES, ids=IDS)
@pytest.mark.parametrize("bad,field", [(dict(labels=15), "labels"), (dict(lr=-1.0), "lr"),
                                       (dict(batch_size=0), "batch_size"), (dict(seeds=0), "seeds")],
                         ids=["labels", "lr", "batch", "seeds"])
def test_bad_input_is_one_line_naming_the_field(mnist, method, model, bad, field):
    with pytest.raises(ConfigError) as err:
        Trainer(config(method, model, **bad), data=mnist, progress=False)
    msg = str(err.value)
    assert field in msg and "\n" not in msg, msg
