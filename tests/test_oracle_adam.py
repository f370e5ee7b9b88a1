"""Adam, the parameter average and the learning-rate decay over 3,000 steps against the reference's own code
(issue 35, item 3): ``nn.adam_updates(..., mom1=0.5)`` and the final script's ``disc_param_avg`` /
``disc_avg_updates`` compiled by Theano into one function (so the average reads the weights before the step, as in
``train_batch_disc``) on three small tensors, fed a seeded gradient stream (``beyond.grad_stream``: scales from
1e-6 to 1e2, so the epsilon inside the square root matters) at the learning rate of the paper-era script's line
``lr = start_lr * np.minimum(3. - epoch/100., 1.)`` with 10 steps per epoch; float64.
``tests/data/oracle_beyond_adam.json`` comes from ``export_beyond.py adam``.

Here the same stream goes through ``Trainer.fit`` (recipe ``paper-2016-06``, 300 epochs on a 1,000-image MNIST:
10 steps per epoch) with the step replaced by: copy the learning rate ``fit`` set for the epoch
(``Trainer.lr_at``), ``ParamAverage.update()``, ``PaperAdam.step(g)`` -- the order of ``ssgan_step``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ORACLE = Path(__file__).resolve().parents[1] / "book" / "_tools" / "reference_oracle"
if str(ORACLE) not in sys.path:
    sys.path.insert(0, str(ORACLE))
import beyond as BY  # noqa: E402

REF = json.loads((Path(__file__).parent / "data" / "oracle_beyond_adam.json").read_text())
STEPS = 3000  # 300 epochs; the reference's loop has a 301st epoch at lr 0 (no parameter change), not run here


@pytest.fixture(scope="module")
def run():
    from ssgan_lib import train as T
    from ssgan_lib.data import MNIST
    from ssgan_lib.optim import PaperAdam, ParamAverage

    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # as the float64 oracle runs: the lr tensors in float64 too
    try:
        x, y = torch.zeros(1000, 784), torch.arange(1000) % 10
        data = MNIST(train_x=x, train_y=y, test_x=x[:10], test_y=y[:10])
        cfg = T.TrainConfig(recipe="paper-2016-06", epochs=300, labels=100, val_size=0, eval_every=0,
                            log_every=10**9)
        tr = T.Trainer(cfg, data=data, progress=False)
        assert tr.steps_per_epoch == REF["steps_per_epoch"] and tr.total_steps == STEPS
        names = REF["names"]
        params = [torch.from_numpy(BY.adam_init()[k]).clone() for k in names]
        opt = PaperAdam(params, float(tr.opt_d.lr), (cfg.beta1, cfg.beta2), cfg.adam_eps)
        avg = ParamAverage(params, cfg.avg_decay)
    finally:
        torch.set_default_dtype(prev)
    rec: dict = {"lr": [], "ckpt": {}}

    def step(cfg, D, G, opt_d, opt_g, av, inp):
        t = len(rec["lr"]) + 1
        rec["lr"].append(float(opt_d.lr))
        opt.set_lr(float(opt_d.lr))
        g = BY.grad_stream(t)
        avg.update()  # the weights before this step's Adam update, as in ssgan_step
        opt.step([torch.from_numpy(g[k]) for k in names])
        if str(t) in REF["ckpt"]:
            corrected = [torch.empty_like(p) for p in params]
            avg.copy_to(corrected)
            rec["ckpt"][str(t)] = {k: {"p": params[i].numpy().copy(), "m": opt.m[i].numpy().copy(),
                                       "v": opt.v[i].numpy().copy(), "avg": avg.avg[i].numpy().copy(),
                                       "avg_corrected": corrected[i].numpy().copy()} for i, k in enumerate(names)}
        return torch.zeros(cfg.seeds, 4)

    tr.initialised = True
    tr.draw_inputs = lambda: {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(T, "ssgan_step", step)
        tr.fit()
    return tr, rec


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


def test_learning_rate_per_epoch_is_the_reference_schedule(run):
    tr, rec = run
    ref = REF["lr_per_epoch"]
    assert "np.minimum(3. - epoch/100., 1.)" in REF["lr_line"]
    for e in range(300):
        assert tr.lr_at(e) == pytest.approx(ref[e], rel=1e-13, abs=1e-18), (e, tr.lr_at(e), ref[e])
    per_step = np.array(rec["lr"])  # what fit set, step by step
    want = np.repeat(ref[:300], REF["steps_per_epoch"])
    assert len(per_step) == STEPS and np.max(np.abs(per_step - want)) <= 1e-13 * 0.001, "lr set by fit"
    assert ref[300] == 0.0  # the reference's extra epoch 300 runs at lr 0


# Measured: the average's increment is (1 - 0.9999) p in the library and 0.0001 p in the reference, 1.1e-13
# apart (relative); everything else is rounding of the same formulas (<= 1e-15 per step).
TOL = {"p": 1e-12, "m": 1e-12, "v": 1e-12, "avg": 1e-12}


@pytest.mark.parametrize("t", sorted(REF["ckpt"], key=int))
def test_adam_and_average_match_the_reference(run, t):
    _, rec = run
    worst = {}
    for k, ref in REF["ckpt"][t].items():
        got = rec["ckpt"][t][k]
        for q in ("p", "m", "v", "avg"):
            worst[f"{k}.{q}"] = _rel(ref[q], got[q].ravel())
        # the library evaluates the bias-corrected average a_t / (1 - 0.9999^t); the reference evaluates a_t
        corr = 1 - 0.9999 ** int(t)
        worst[f"{k}.avg_corrected"] = _rel(np.asarray(ref["avg"]) / corr, got["avg_corrected"].ravel())
    bad = {k: v for k, v in worst.items() if not v <= TOL.get(k.split(".")[-1], 1e-12)}
    assert not bad, f"step {t}: " + ", ".join(f"{k} {v:.2e}" for k, v in bad.items())
