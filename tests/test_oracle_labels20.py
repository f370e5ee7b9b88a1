"""The oracle's step comparison at 20 labels (issue 35, item 3): the unchanged Theano script and
``Trainer.train_step`` on the same initial weights, DDI, batches, z and noise (``inputs.py``), float64, with the
labelled set ``inputs.labelled_set(seed, y, 20)`` and each labelled batch of 100 five permutations of the 20
(``beyond.step_inputs_labels``), as the reference's ``txs`` repeated. ``tests/data/oracle_beyond_labels20.json``
comes from ``export_beyond.py eval`` (losses of 12 steps, norms, a few entries of every tensor after the DDI, of
the step-1 gradients and at steps 1, 5, 10, 12). The first 3 steps run here, all 12 in the ``slow`` test."""
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

REF = json.loads((Path(__file__).parent / "data" / "oracle_beyond_labels20.json").read_text())


def run(mnist, steps: int) -> dict:
    import export_json as EJ
    import inputs as I
    import run_library as RL

    seed = REF["meta"]["seed"]
    y_np = mnist.train_y.numpy()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    prev = torch.get_default_dtype()
    try:
        tr, ctx = RL.build(seed, "float64", "final", data=(mnist.train_x.numpy(), y_np))
        lab_idx = I.labelled_set(seed, y_np, 20)
        assert lab_idx.tolist() == REF["lab_idx"]
        P, order = ctx["P"], ctx["order"]
        out = {"ddi": EJ.samples({k: RL.np_(v) for k, v in P.items()}), "losses": [], "norms": {}, "ckpt": {}}
        captured = {}
        for tag, opt in (("D", tr.opt_d), ("G", tr.opt_g)):
            def wrap(grads, _tag=tag, _step=opt.step):
                captured.setdefault(_tag, [RL.np_(g) for g in grads])
                return _step(grads)
            opt.step = wrap
        x, y, dt = ctx["x"], ctx["y"], ctx["dt"]
        for t in range(1, steps + 1):
            s = BY.step_inputs_labels(seed, t, 20)
            li = torch.from_numpy(lab_idx[s["lab"]])

            def T(a):
                return torch.from_numpy(a).to(dt)[None]

            inp = {"x_lab": x[li][None], "y_lab": y[li][None], "x_unl": x[torch.from_numpy(s["unl"])][None],
                   "x_unl2": x[torch.from_numpy(s["unl2"])][None], "z": T(s["z"]), "z2": T(s["z2"]),
                   "noise_d": [T(e) for e in s["noise_d"]], "noise_g": [T(e) for e in s["noise_g"]]}
            ll, lu, lg, acc = tr.train_step(inp)[0].tolist()
            out["losses"].append([ll, lu, 1.0 - acc, lg])
            vals = {k: RL.np_(v) for k, v in P.items()}
            vals.update({f"avg.{n}": RL.np_(a) for n, a in zip(order["D"], tr.avg.avg)})
            for tag, opt in (("D", tr.opt_d), ("G", tr.opt_g)):
                vals.update({f"m{tag}.{n}": RL.np_(m) for n, m in zip(order[tag], opt.m)})
                vals.update({f"v{tag}.{n}": RL.np_(v) for n, v in zip(order[tag], opt.v)})
            for k, v in vals.items():
                if k[:2] not in ("mD", "vD", "mG", "vG"):
                    out["norms"].setdefault(k, []).append(float(np.linalg.norm(v.astype(np.float64).ravel())))
            if str(t) in REF["ckpt"]:
                out["ckpt"][str(t)] = EJ.samples(vals)
        out["grads1"] = EJ.samples({f"grad.{n}": g for tag in ("D", "G") for n, g in zip(order[tag], captured[tag])})
        return out
    finally:
        torch.set_default_dtype(prev)
        torch.set_num_threads(threads)


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def compare(got: dict, steps: int, tol: float = 1e-11) -> dict:
    worst = {}
    for k, v in REF["ddi"].items():
        worst[f"ddi {k}"] = _rel(v, got["ddi"][k])
    for k, v in REF["grads1"].items():
        worst[f"step-1 {k}"] = _rel(v, got["grads1"][k])
    r, g = np.array(REF["losses"][:steps]), np.array(got["losses"])
    for i, name in enumerate(REF["loss_names"]):
        if name == "train_err":
            assert np.max(np.abs(r[:, i] - g[:, i])) < 1e-6, (r[:, i], g[:, i])
        else:
            worst[name] = float(np.max(np.abs(r[:, i] - g[:, i]) / np.abs(r[:, i])))
    for k, v in REF["norms"].items():
        worst[f"norm {k}"] = _rel(v[:steps], got["norms"][k])
    for t, tens in REF["ckpt"].items():
        if int(t) <= steps:
            for k, v in tens.items():
                worst[f"step {t} {k}"] = _rel(v, got["ckpt"][t][k])
    bad = {k: v for k, v in worst.items() if not v <= tol}
    assert not bad, ", ".join(f"{k} {v:.2e}" for k, v in sorted(bad.items(), key=lambda kv: -kv[1])[:8])
    return worst


def test_twenty_labels_step_by_step_first_steps(mnist):
    compare(run(mnist, 3), 3)


@pytest.mark.slow
def test_twenty_labels_step_by_step_12_steps(mnist):
    compare(run(mnist, 12), 12)
