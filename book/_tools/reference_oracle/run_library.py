"""Run ``ssgan_lib``'s :class:`Trainer` on the inputs of ``inputs.py`` and dump the same quantities as
``run_reference.py`` (same file layout), for ``compare.py``. Runs in the library's environment.

    python run_library.py --steps 500 --dtype float64 --out /work/oracle/lib_final_f64

Nothing in the library is changed: the trainer is built as usual (``TrainConfig(labels=100, seeds=1,
device="cpu")``), its initial weights are overwritten with those of ``inputs.py``, ``D.data_init`` runs with
the given 500 images while ``torch.randn`` *as seen by* ``ssgan_lib.models`` hands out the given noise, and
each step is ``Trainer.train_step(inp)`` with the given batches, latent codes and noise. Losses are what
the step returns, gradients from what the trainer hands its optimisers.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inputs as I  # noqa: E402


def lib_names(trainer) -> tuple[dict, dict]:
    """Common name -> library tensor (parameters and D's frozen hidden scales), and the D/G parameter lists'
    common names in the optimisers' order."""
    D, G = trainer.D, trainer.G
    m = {}
    for i, layer in enumerate(list(D.hidden) + [D.out]):
        m[f"D{i}.theta"], m[f"D{i}.b"], m[f"D{i}.g"] = layer.theta, layer.b, layer.g
    m.update({"G.W1": G.w1, "G.b1": G.beta1, "G.W2": G.w2, "G.b2": G.beta2, "G.W3": G.w3, "G.b3": G.b3,
              "G.g3": G.g3})
    ids = {id(v): k for k, v in m.items()}
    return m, {"D": [ids[id(p)] for p in trainer.d_params], "G": [ids[id(p)] for p in trainer.g_params]}


class _RandnFeed:
    """Stands in for the ``torch`` module inside ``ssgan_lib.models``: ``randn`` returns the given tensors in
    order (shape checked), everything else is torch's."""

    def __init__(self, tensors):
        self.queue = list(tensors)

    def randn(self, *shape, **kw):
        t = self.queue.pop(0)
        want = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else tuple(shape)
        assert tuple(t.shape) == want, (tuple(t.shape), want)
        return t.clone()

    def __getattr__(self, name):
        return getattr(torch, name)


def build(seed: int = 1, dtype: str = "float64", recipe: str = "final", data=None, **cfg_overrides):
    """A trainer with the inputs' initial weights and its data-dependent init done. Returns (trainer, ctx).

    ``data``: ``(train_x, train_y)`` numpy arrays (float32 pixels, labels), e.g. from ``ssgan_lib``'s own
    loader; by default ``inputs.load_train()`` reads the IDX files."""
    from ssgan_lib import models
    from ssgan_lib.data import MNIST
    from ssgan_lib.train import Trainer
    from ssgan_lib.config import TrainConfig

    dt = getattr(torch, dtype)
    torch.set_default_dtype(dt)
    x_np, y_np = data if data is not None else I.load_train()
    x = torch.from_numpy(x_np).to(dt)  # float32 pixels, widened when dt is float64
    y = torch.from_numpy(y_np)
    mn = MNIST(train_x=x, train_y=y, test_x=x[:100], test_y=y[:100])
    cfg = TrainConfig(labels=100, seeds=1, device="cpu", val_size=0, recipe=recipe, seed=seed, log_every=10**9,
                      eval_every=0, **cfg_overrides)
    tr = Trainer(cfg, data=mn, progress=False)
    P, order = lib_names(tr)
    init = I.initial_params(seed)
    with torch.no_grad():
        for k, v in init.items():
            P[k].copy_(torch.from_numpy(v).to(dt).reshape(P[k].shape))
    ii = I.init_inputs(seed)
    feed = _RandnFeed([torch.from_numpy(e).to(dt)[None] for e in ii["noise"]])
    saved = models.torch
    models.torch = feed
    try:
        tr.D.data_init(x[torch.from_numpy(ii["idx"])][None])
    finally:
        models.torch = saved
    assert not feed.queue, "data_init used fewer noise tensors than the reference's six noise layers"
    if cfg.resolved.g_data_init:  # paper-2016-06: G's output layer too, on the given latent codes
        tr.G.data_init(torch.from_numpy(ii["z"]).to(dt)[None])
    tr.initialised = True
    lab_idx = torch.from_numpy(I.labelled_set(seed, y_np))
    return tr, {"P": P, "order": order, "x": x, "y": y, "lab_idx": lab_idx, "dt": dt, "seed": seed}


def step_dict(ctx, t: int) -> dict:
    s = I.step_inputs(ctx["seed"], t)
    x, y, dt = ctx["x"], ctx["y"], ctx["dt"]
    li = ctx["lab_idx"][torch.from_numpy(s["lab"])]

    def T(a):
        return torch.from_numpy(a).to(dt)[None]

    return {"x_lab": x[li][None], "y_lab": y[li][None], "x_unl": x[torch.from_numpy(s["unl"])][None],
            "x_unl2": x[torch.from_numpy(s["unl2"])][None], "z": T(s["z"]), "z2": T(s["z2"]),
            "noise_d": [T(e) for e in s["noise_d"]], "noise_g": [T(e) for e in s["noise_g"]]}


def do_step(tr, ctx, t: int) -> list[float]:
    """One library step with the inputs of step t; returns [loss_lab, loss_unl, train_err, loss_gen]."""
    ll, lu, lg, acc = tr.train_step(step_dict(ctx, t))[0].tolist()
    return [ll, lu, 1.0 - acc, lg]


def np_(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().reshape(t.shape[1:] if t.shape[1] != 1 else t.shape[2:]).copy()


def run(seed: int = 1, steps: int = 500, dtype: str = "float64", recipe: str = "final", data=None,
        on_step=None) -> dict:
    """Build, init and train ``steps`` steps. ``on_step(t, vals)`` is called after each step with every
    parameter, D average and Adam moment (common names, numpy). Returns ``ddi`` (params after the DDI),
    ``grads1`` (what the trainer hands its optimisers at step 1) and ``losses`` (steps x 4)."""
    prev_dtype = torch.get_default_dtype()
    try:
        return _run(seed, steps, dtype, recipe, data, on_step)
    finally:
        torch.set_default_dtype(prev_dtype)  # build() set it; leave the process as it was


def _run(seed, steps, dtype, recipe, data, on_step) -> dict:
    tr, ctx = build(seed, dtype, recipe, data=data)
    P, order = ctx["P"], ctx["order"]
    ddi = {k: np_(v) for k, v in P.items()}
    captured: dict = {}
    for tag, opt in (("D", tr.opt_d), ("G", tr.opt_g)):
        def wrap(grads, _tag=tag, _step=opt.step):
            if _tag not in captured:
                captured[_tag] = [np_(g) for g in grads]
            return _step(grads)
        opt.step = wrap
    losses = []
    for t in range(1, steps + 1):
        losses.append(do_step(tr, ctx, t))
        if on_step is not None:
            vals = {k: np_(v) for k, v in P.items()}
            vals.update({f"avg.{n}": np_(a) for n, a in zip(order["D"], tr.avg.avg)})
            for tag, opt in (("D", tr.opt_d), ("G", tr.opt_g)):
                vals.update({f"m{tag}.{n}": np_(m) for n, m in zip(order[tag], opt.m)})
                vals.update({f"v{tag}.{n}": np_(v) for n, v in zip(order[tag], opt.v)})
            on_step(t, vals)
    grads1 = {f"grad.{n}": g for tag in ("D", "G") for n, g in zip(order[tag], captured[tag])}
    return {"ddi": ddi, "grads1": grads1, "losses": np.array(losses), "order": order}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--recipe", default="final", choices=["final", "paper-2016-06"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    norms: dict = {}

    def on_step(t, vals):
        for k, v in vals.items():
            if k[:2] not in ("mD", "vD", "mG", "vG"):
                norms.setdefault(k, []).append(float(np.sqrt(np.sum(np.square(v.astype(np.float64))))))
        if t in I.CHECKPOINTS or t == args.steps:
            np.savez(out / f"ckpt_{t}.npz", **vals)
        if t % 50 == 0 or t == 1:
            print(f"step {t}", flush=True)

    res = run(args.seed, args.steps, args.dtype, args.recipe, on_step=on_step)
    np.savez(out / "ddi.npz", **res["ddi"])
    np.savez(out / "grads1.npz", **res["grads1"])
    np.savez(out / "trace.npz", losses=res["losses"], **{f"norm.{k}": np.array(v) for k, v in norms.items()})
    (out / "meta.json").write_text(json.dumps({"library": True, "dtype": args.dtype, "seed": args.seed,
                                               "steps": args.steps, "recipe": args.recipe,
                                               "d_params": res["order"]["D"], "g_params": res["order"]["G"]},
                                              indent=1))
    print("done", flush=True)


if __name__ == "__main__":
    main()
