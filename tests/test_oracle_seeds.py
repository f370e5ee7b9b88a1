"""Two seeds batched in one trainer against two separate runs, through ``Trainer.fit``, in float64 (issue 35,
item 3). ``tests/test_train.py::test_seeds_side_by_side_equal_separate_runs`` already feeds ``train_step`` the
same inputs in float32 for 3 steps with loose tolerances (1e-3); this one goes through ``fit`` (its loop, epoch
boundary, logging, evaluation) in float64, where the two must agree to rounding, so that a change that lets the
seeds mix (a statistic over the seed axis, a shared draw) shows at once.

The batched run draws its inputs (``Trainer.draw_inputs``, recorded); each single run replays its slice of them
(the RNG streams of ``seeds=2`` and ``seeds=1`` differ by design: one generator per trainer), starting from its
slice of the batched state after the data-dependent init. Equal per seed: the labelled subset, the initial
weights (before the init), every logged loss, every parameter, Adam moment and average, and the predictions of
the raw and the averaged D."""
from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.slow  # about 2 minutes on a busy 2-core machine (float64, full-size D and G)
STEPS = 4  # on a 300-image MNIST (3 steps per epoch): the run crosses an epoch boundary


@pytest.fixture(scope="module")
def runs(mnist):
    from ssgan_lib.data import MNIST
    from ssgan_lib.train import Trainer
    from ssgan_lib.config import TrainConfig

    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        x = mnist.train_x[:300].double()
        data = MNIST(train_x=x, train_y=mnist.train_y[:300], test_x=mnist.test_x[:300].double(),
                     test_y=mnist.test_y[:300])

        def cfg(**kw):
            return TrainConfig(labels=20, steps=STEPS, val_size=50, log_every=1, eval_every=2, init_size=100, **kw)

        big = Trainer(cfg(seeds=2, seed=1), data=data, progress=False)
        small = [Trainer(cfg(seeds=1, seed=1 + s), data=data, progress=False) for s in range(2)]
        init = {"big": {k: v.clone() for k, v in big.D.state_dict().items()},
                "small": [{k: v.clone() for k, v in t.D.state_dict().items()} for t in small]}
        big._init_data_dependent()
        for s, tr in enumerate(small):
            tr.D.load_state_dict({k: v[s:s + 1] for k, v in big.D.state_dict().items()})
            tr.G.load_state_dict({k: v[s:s + 1] for k, v in big.G.state_dict().items()})
            tr.initialised = True
        drawn = []
        orig = big.draw_inputs

        def record():
            inp = orig()
            drawn.append(inp)
            return inp

        big.draw_inputs = record
        big.fit()
        for s, tr in enumerate(small):
            feed = iter(drawn)
            tr.draw_inputs = lambda feed=feed, s=s: {k: ([t[s:s + 1] for t in v] if isinstance(v, list)
                                                         else v[s:s + 1]) for k, v in next(feed).items()}
            tr.fit()
        return big, small, init
    finally:
        torch.set_default_dtype(prev)


def _rel(a, b):
    return float((a - b).detach().abs().max() / a.detach().abs().max().clamp_min(1e-300))


def test_batched_seeds_start_as_separate_runs(runs):
    big, small, init = runs
    for s, tr in enumerate(small):
        assert torch.equal(big.lab_idx[s], tr.lab_idx[0])
        for k, v in init["big"].items():
            assert torch.equal(v[s:s + 1], init["small"][s][k]), (s, k)


def test_batched_seeds_through_fit_equal_separate_runs(runs):
    big, small, _ = runs
    assert big.step == STEPS and all(t.step == STEPS for t in small)
    for s, tr in enumerate(small):
        for key in ("loss_lab", "loss_unl", "loss_g", "train_acc"):
            a = torch.tensor([v[s] for v in big.history[key]])
            b = torch.tensor([v[0] for v in tr.history[key]])
            assert len(a) == STEPS and _rel(a, b) < 1e-12, (s, key, a, b)
        pairs = [(big.D.state_dict(), tr.D.state_dict()), (big.G.state_dict(), tr.G.state_dict())]
        for ob, os_ in ((big.opt_d, tr.opt_d), (big.opt_g, tr.opt_g)):
            pairs.append(({f"m{i}": m for i, m in enumerate(ob.m)} | {f"v{i}": v for i, v in enumerate(ob.v)},
                          {f"m{i}": m for i, m in enumerate(os_.m)} | {f"v{i}": v for i, v in enumerate(os_.v)}))
        pairs.append(({i: a for i, a in enumerate(big.avg.avg)}, {i: a for i, a in enumerate(tr.avg.avg)}))
        for db, ds in pairs:
            for k, v in ds.items():
                assert _rel(db[k][s:s + 1], v) < 1e-10, (s, k, _rel(db[k][s:s + 1], v))
        for params in ("raw", "averaged"):
            pb, _ = big.predict("test", params=params)
            ps, _ = tr.predict("test", params=params)
            assert torch.equal(pb[s], ps[0]), (s, params, int((pb[s] != ps[0]).sum()))
        assert [v[s] for v in big.history["val_acc"]] == [v[0] for v in tr.history["val_acc"]]
    assert _rel(big.D.out.theta[0], big.D.out.theta[1]) > 0.1  # and the two seeds are different runs
