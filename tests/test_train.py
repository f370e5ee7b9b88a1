"""The trainer on the real MNIST: it learns, it is deterministic, S seeds side by side equal S separate
runs, every method runs, and (on a GPU) the CUDA graph gives the eager losses."""
from __future__ import annotations

import pytest
import torch

from conftest import assert_same_run
from ssgan_lib.config import ConfigError
from ssgan_lib.evidence.records import confusion
from ssgan_lib.runs import predictions_text
from ssgan_lib.train import Trainer
from ssgan_lib.config import TrainConfig
from ssgan_lib.losses import accuracy

HIST_KEYS = {"step", "loss_lab", "loss_unl", "loss_g", "train_acc", "eval_step", "val_acc", "val_acc_raw"}


def tiny(**kw) -> TrainConfig:
    base = dict(labels=100, steps=20, val_size=100, log_every=10, eval_every=0)
    base.update(kw)
    return TrainConfig(**base)


def mean_per_log(hist, key):
    return [sum(v) / len(v) for v in hist[key]]


# ----------------------------------------------------------------------------------------------
@pytest.mark.slow  # a longer run; that every method and model learns: test_trainer_contract's test_it_learns
def test_a_tiny_run_learns(mnist):
    tr = Trainer(tiny(steps=60, eval_every=30), data=mnist, progress=False)
    acc0 = tr.evaluate("val")[0]
    hist = tr.fit()
    assert set(hist) == HIST_KEYS
    assert hist["step"] == [10, 20, 30, 40, 50, 60] and hist["eval_step"] == [30, 60]
    for key in ("loss_lab", "loss_unl", "loss_g", "train_acc", "val_acc", "val_acc_raw"):
        assert all(len(v) == 1 for v in hist[key]), key  # one value per seed
    lab = mean_per_log(hist, "loss_lab")
    # the labelled loss falls (the first GAN steps are noisy: compare the last 20 steps with the first 10)
    assert (lab[-1] + lab[-2]) / 2 < 0.3 * lab[0], lab
    assert (mean_per_log(hist, "train_acc")[-1] + mean_per_log(hist, "train_acc")[-2]) / 2 > 0.8
    val = hist["val_acc"][-1][0]
    assert val > max(0.4, acc0 + 0.2), (acc0, val)  # far above chance after 60 steps
    test = tr.evaluate("test")
    assert len(test) == 1 and test[0] > 0.3, test  # and on the test set too
    assert tr.step == 60 and tr.wall_seconds > 0


def test_data_seed_gives_every_run_one_labelled_subset(mnist):
    """data_seed (the reference's --seed_data) fixes the labelled subset; the weights still follow seed + s."""
    own = Trainer(tiny(seeds=2, seed=1), data=mnist, progress=False)
    shared = Trainer(tiny(seeds=2, seed=1, data_seed=2), data=mnist, progress=False)
    assert not torch.equal(own.lab_idx[0], own.lab_idx[1])  # by default each run draws its own subset
    assert torch.equal(shared.lab_idx[0], own.lab_idx[1]) and torch.equal(shared.lab_idx[1], own.lab_idx[1])
    for a, b in zip(own.D.parameters(), shared.D.parameters()):
        assert torch.equal(a, b)  # same initial weights: only the subset moved
    with pytest.raises(ConfigError, match="data_seed"):
        tiny(data_seed=-1).validate()


def test_seeds_side_by_side_equal_separate_runs(mnist):
    """The same draw_inputs, sliced by seed, into an S = 2 trainer and two S = 1 trainers."""
    big = Trainer(tiny(seeds=2, seed=1), data=mnist, progress=False)
    small = [Trainer(tiny(seeds=1, seed=1 + s), data=mnist, progress=False) for s in range(2)]
    for s, tr in enumerate(small):
        assert torch.equal(big.lab_idx[s], tr.lab_idx[0])  # run s labels what the single run seed+s labels
    big._init_data_dependent()
    for s, tr in enumerate(small):  # start from slice s of the batched state
        tr.D.load_state_dict({k: v[s:s + 1] for k, v in big.D.state_dict().items()})
        tr.G.load_state_dict({k: v[s:s + 1] for k, v in big.G.state_dict().items()})
        tr.initialised = True
    big._new_epoch()

    def part(inp, s):
        return {k: ([t[s:s + 1] for t in v] if isinstance(v, list) else v[s:s + 1]) for k, v in inp.items()}

    # float32 batched matmuls round differently from single ones, and Adam's first steps (m/sqrt(v) ~ +-1)
    # amplify rounding on tiny gradients: the first step is compared tightly, later ones loosely. A bug that
    # mixes seeds is off by O(1).
    for step, tol in enumerate((1e-5, 1e-3, 1e-3)):
        inp = big.draw_inputs()
        got = big.train_step(inp)
        for s, tr in enumerate(small):
            one = tr.train_step(part(inp, s))
            assert torch.allclose(got[s], one[0], rtol=tol, atol=tol), (step, s, got[s], one[0])
    for s, tr in enumerate(small):
        for name, (kb, vb) in zip(tr.D.state_dict(), big.D.state_dict().items()):
            diff = (vb[s:s + 1] - tr.D.state_dict()[name]).abs()
            assert diff.mean() < 1e-4 and diff.max() < 0.05, (s, name, diff.mean(), diff.max())
        for name, vb in big.G.state_dict().items():
            diff = (vb[s:s + 1] - tr.G.state_dict()[name]).abs()
            assert diff.mean() < 1e-4, (s, name, diff.mean())
        other = big.D.out.theta[1 - s:2 - s]
        assert (other - tr.D.out.theta).abs().mean() > 1e-2  # and the other seed is a different run


def test_batched_trainer_reports_one_value_per_seed(mnist):
    tr = Trainer(tiny(seeds=2, steps=4, log_every=2, eval_every=4), data=mnist, progress=False)
    hist = tr.fit()
    assert all(len(v) == 2 for k in ("loss_lab", "loss_unl", "loss_g", "train_acc", "val_acc") for v in hist[k])
    assert len(tr.evaluate("test")) == 2 and len(tr.evaluate("val")) == 2
    pred, y = tr.predict("val")  # D's class per seed and validation image
    assert pred.shape == (2, len(y)) and accuracy(pred, y).tolist() == tr.evaluate("val")
    text = predictions_text(pred)  # as a record stores them: one digit per image
    assert len(text) == 2 and text[1] == "".join(str(p) for p in pred[1].tolist())
    conf = torch.tensor(confusion(text, y.tolist()))  # (seed, true class, D's class)
    assert conf.shape == (2, 10, 10) and conf.sum().item() == 2 * len(y)
    assert conf.sum(-1)[0].tolist() == torch.bincount(y, minlength=10).tolist()  # rows: the true classes
    assert conf[1, y[0], pred[1, 0]] >= 1  # the first image counts in its (true, predicted) cell
    diag = conf.diagonal(dim1=1, dim2=2).sum(-1).float() / len(y)
    assert diag.tolist() == tr.evaluate("val")  # the diagonal is the accuracy, exactly
    with pytest.raises(ValueError, match="labels"):
        confusion([[1, 2]], [1])


def test_evaluate_uses_the_bias_corrected_average(mnist):
    tr = Trainer(tiny(steps=6, avg_decay=0.9, log_every=3), data=mnist, progress=False)
    tr.fit()
    tr.sync_eval()
    corr = 1 - 0.9 ** 6
    for pe, a, p in zip(tr.D_eval.parameters(), tr.avg.avg, tr.D.parameters()):
        assert torch.allclose(pe, a / corr, atol=1e-6)
    assert not torch.allclose(tr.D_eval.out.theta, tr.D.out.theta)  # the average is not the last weights
    for be, b in zip(tr.D_eval.buffers(), tr.D.buffers()):
        assert torch.equal(be, b)  # the frozen scales come along
    with pytest.raises(ValueError):
        tr.evaluate("train")
    no_val = Trainer(tiny(val_size=0, steps=1), data=mnist, progress=False)
    with pytest.raises(ValueError, match="val_size"):
        no_val.evaluate("val")


def test_lr_decays_linearly_over_the_last_epochs(mnist):
    tr = Trainer(tiny(steps=None, epochs=10, lr_decay_epochs=4, lr=0.01), data=mnist, progress=False)
    seen = {}
    for epoch in (0, 6, 7, 8, 9):
        tr.step = epoch * tr.steps_per_epoch
        tr._new_epoch()
        seen[epoch] = (float(tr.opt_d.lr), float(tr.opt_g.lr))
    assert seen[0] == pytest.approx((0.01, 0.01)) and seen[6] == pytest.approx((0.01, 0.01))
    assert seen[7] == pytest.approx((0.0075, 0.0075)) and seen[9] == pytest.approx((0.0025, 0.0025))


def test_config_validation():
    TrainConfig().validate()
    for bad in (dict(labels=0), dict(labels=15), dict(labels=70000), dict(method="foo"), dict(model="foo"),
                dict(lr=float("nan")), dict(lr=-1), dict(epochs=0), dict(steps=0), dict(seeds=0),
                dict(batch_size=60001), dict(epochs=1e-5), dict(device="tpu"), dict(graph="fast"),
                dict(fm_kind="cubic"), dict(beta1=1.0), dict(avg_decay=1.0), dict(val_size=-1)):
        with pytest.raises(ConfigError):
            TrainConfig(**bad).validate()
    assert TrainConfig(epochs=2).total_steps() == 1200 and TrainConfig(steps=7).total_steps() == 7


def test_checkpoint_written_during_fit_counts_the_time_so_far(mnist, tmp_path):
    """A run resumed from a mid-run checkpoint reports its whole wall time, not only the part after it."""
    tr = Trainer(tiny(steps=4, log_every=2, ckpt_every=2), data=mnist, out_dir=tmp_path, progress=False)
    seen: list[float] = []
    real_save = tr.save

    def spy(path=None):
        seen.append(tr.state_dict()["wall_seconds"])
        return real_save(path)

    tr.save = spy
    tr.fit()
    assert len(seen) == 3 and 0 < seen[0] < seen[1] <= seen[2] == tr.wall_seconds  # steps 2, 4, then the end


def test_fit_runs_user_callbacks_without_changing_the_run(mnist):
    """A notebook watches a run through ``fit(callbacks=...)`` (no hand-rolled chunks): the callback sees the
    steps done and the validation already taken at that step, and a run watched equals a run not watched."""
    from ssgan_lib.engine import Every

    watched = Trainer(tiny(steps=12, log_every=4, eval_every=4), data=mnist, progress=False)
    seen = []
    watched.fit(callbacks=[Every(6, lambda: seen.append((watched.step, list(watched.history["eval_step"]))))])
    assert seen == [(6, [4]), (12, [4, 8, 12])]
    plain = Trainer(tiny(steps=12, log_every=4, eval_every=4), data=mnist, progress=False)
    plain.fit()
    assert_same_run(watched, plain)
