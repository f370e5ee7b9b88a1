"""Export what the *real* reference code (openai/improved-gan, Theano) does beyond one injected step, into the
small fixtures ``tests/data/oracle_beyond_*.json`` that ``tests/test_oracle_*.py`` read (no Theano in CI).
Runs in the Theano environment; the authors' script and ``nn.py`` are read from the git snapshot at run time
(nothing of them is copied here), as ``run_reference.py`` does.

    cd book/_tools/reference_oracle
    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
    F=device=cpu,mode=FAST_RUN,blas.ldflags=-lopenblas,base_compiledir=/tmp/beyond/theano
    for part in draws batches adam eval; do
        THEANO_FLAGS=floatX=float64,$F /work/oracle/ref/bin/python export_beyond.py $part --out ../../../tests/data
    done
    THEANO_FLAGS=floatX=float32,$F /work/oracle/ref/bin/python run_reference.py --version final --steps 5 \\
        --out /tmp/beyond/ref_f32
    /work/oracle/ref/bin/python export_json.py /tmp/beyond/ref_f32 ../../../tests/data/oracle_beyond_float32.json

Parts (README.md, "Beyond one step"):

* ``draws``: the final script built unchanged (its own MRG streams): G's latent batch ``noise`` drawn 100
  times, and each of D's six ``GaussianNoiseLayer`` on a zero input (its sigma, what it adds);
* ``batches``: the script's data selection and training loop (from ``# load MNIST data`` to the end, Python 2's
  ``/`` in ``range(...)`` made ``int``) with its ``rng``/``data_rng`` as seeded by the script, on an
  ``mnist.npz`` whose images are their own indices, and stubs for ``init_param`` / ``train_batch_disc`` /
  ``train_batch_gen`` / ``test_batch`` that record which images each call gets, for 2 epochs, at 100 and 20
  labels: the structure of :func:`beyond.structure`;
* ``adam``: ``nn.adam_updates(params, cost, lr=lr, mom1=0.5)`` and the script's ``disc_param_avg`` /
  ``disc_avg_updates`` lines, compiled into one function (as in ``train_batch_disc``) on three small shared
  tensors, fed the gradient stream :func:`beyond.grad_stream` (``cost = sum(p * g)``) for 3,000 steps at the
  learning rate of the paper-era script's line ``lr = np.cast[...](start_lr * np.minimum(3. - epoch/100., 1.))``
  with 10 steps per epoch;
* ``eval``: ``run_reference.build`` (the final script with injected noise), DDI and 10 oracle steps, then the
  script's ``disc_avg_givens`` test output (``deterministic=True``, argmax over the logits) on test images, for
  the raw D, the averages as the script holds them, and the averages divided by ``1 - 0.9999^t``; then the
  same state reset and 12 oracle steps with a 20-label labelled set (:func:`beyond.step_inputs_labels`).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import beyond as BY  # noqa: E402
import export_json as EJ  # noqa: E402
import inputs as I  # noqa: E402
import run_reference as R  # noqa: E402

FINAL = ("4f5d1ec", "mnist_svhn_cifar10/train_mnist_feature_matching.py", "mnist_svhn_cifar10/nn.py")
PAPER_ERA = ("2b81a18^", "train_mnist_feature_matching.py")


def load_nn(repo: str, commit: str, path: str):
    nn = types.ModuleType("nn")
    nn.__file__ = f"{commit}:{path}"
    exec(compile(R.wrap_gpu_imports(R.git_show(repo, f"{commit}:{path}")), nn.__file__, "exec"), nn.__dict__)
    sys.modules["nn"] = nn
    sys.modules["plotting"] = types.ModuleType("plotting")
    return nn


def script_text(repo: str, commit: str, path: str) -> str:
    return R.git_show(repo, f"{commit}:{path}")


def floats(a, digits: int = 10) -> list:
    return [float(f"{x:.{digits}g}") for x in np.asarray(a, np.float64).ravel()]


# --- draws ---------------------------------------------------------------------------------------------------


def part_draws(repo: str) -> dict:
    import theano as th
    import theano.tensor as T

    nn = load_nn(repo, FINAL[0], FINAL[2])
    src = script_text(repo, FINAL[0], FINAL[1])
    src = src[: src.index("init_param = th.function(")]
    sys.argv = [FINAL[1]]
    ns: dict = {"__name__": "reference"}
    exec(compile(src, f"{FINAL[0]}:{FINAL[1]}", "exec"), ns)
    fz = th.function([], ns["noise"])
    z = np.concatenate([fz() for _ in range(100)])
    out = {"z": {"batch_shape": list(fz().shape), "moments": BY.moments(z), "ks_uniform": BY.ks_uniform(z),
                 "in_unit_interval": bool(np.all((z >= 0) & (z < 1))), "sample": floats(z.ravel()[:4000], 8)},
           "noise": []}
    layers = [l for l in ns["layers"] if isinstance(l, nn.GaussianNoiseLayer)]
    assert len(layers) == 6
    for l, d in zip(layers, I.D_DIMS):
        f = th.function([], l.get_output_for(T.zeros((500, d))))
        a = f()
        out["noise"].append({"sigma": float(l.sigma), "dim": d, "moments": BY.moments(a),
                             "standardised_sample": floats(a.ravel()[:1000] / l.sigma, 8)})
    return out


# --- batches -------------------------------------------------------------------------------------------------


class _Stop(Exception):
    pass


def part_batches(repo: str) -> dict:
    import lasagne
    import theano as th
    from theano.sandbox.rng_mrg import MRG_RandomStreams

    src = script_text(repo, FINAL[0], FINAL[1])
    head = src[src.index("# fixed random seeds"): src.index("# specify generative model")]
    body = src[src.index("# load MNIST data"):]
    old = "range(trainx_unl.shape[0]/txs.shape[0])"
    assert body.count(old) == 1
    body = body.replace(old, "range(int(trainx_unl.shape[0]/txs.shape[0]))")  # Python 2's integer division
    _, train_y = I.load_train()
    out = {}
    tmp = Path(tempfile.mkdtemp(prefix="beyond_batches_"))
    idx = np.arange(60000, dtype=np.float64)[:, None]
    np.savez(tmp / "mnist.npz", x_train=idx[:50000], x_valid=idx[50000:], y_train=train_y[:50000],
             y_valid=train_y[50000:], x_test=np.zeros((10000, 1)), y_test=np.zeros(10000, np.int64))
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        for labels in (100, 20):
            rec = {"init": None, "lab": [], "laby": [], "unl": [], "unl2": [], "lr": []}
            epochs = 2

            def init_param(x):
                rec["init"] = x[:, 0].astype(np.int64)

            def train_batch_disc(xl, yl, xu, lr):
                if len(rec["lab"]) == epochs * 600:
                    raise _Stop
                rec["lab"].append(xl[:, 0].astype(np.int64))
                rec["laby"].append(np.asarray(yl))
                rec["unl"].append(xu[:, 0].astype(np.int64))
                rec["lr"].append(float(lr))
                return 0.0, 0.0, 0.0

            def train_batch_gen(xu2, lr):
                rec["unl2"].append(xu2[:, 0].astype(np.int64))
                return [0.0]

            args = argparse.Namespace(seed=1, seed_data=1, unlabeled_weight=1.0, batch_size=100, count=labels // 10)
            ns = {"__name__": "reference", "np": np, "th": th, "lasagne": lasagne, "MRG_RandomStreams": MRG_RandomStreams,
                  "args": args, "time": __import__("time"), "sys": sys, "init_param": init_param,
                  "train_batch_disc": train_batch_disc, "train_batch_gen": train_batch_gen,
                  "test_batch": lambda x, y: 0.0}
            exec(compile(head, "script:seeds", "exec"), ns)
            try:
                exec(compile(body, "script:data+loop", "exec"), ns)
            except _Stop:
                pass
            lab, unl, unl2 = (np.array(rec[k]) for k in ("lab", "unl", "unl2"))
            lab_set = ns["txs"][:, 0].astype(np.int64)
            assert np.array_equal(np.concatenate(rec["laby"]), train_y[lab.ravel()])  # labels travel with images
            s = BY.structure(lab, unl, unl2, lab_set, train_y, 600)
            s["init_batch"] = {"size": int(len(rec["init"])), "distinct": int(len(np.unique(rec["init"])))}
            s["lr_values"] = sorted(set(rec["lr"]))
            s["lab_set"] = lab_set.tolist()
            out[str(labels)] = s
            print(labels, {k: v for k, v in s.items() if not k.startswith(("same", "lab_set"))}, flush=True)
    finally:
        os.chdir(cwd)
    return out


# --- adam + averaging + lr schedule --------------------------------------------------------------------------


def part_adam(repo: str) -> dict:
    import theano as th
    import theano.tensor as T

    fx = th.config.floatX
    nn = load_nn(repo, FINAL[0], FINAL[2])
    final = script_text(repo, FINAL[0], FINAL[1])
    paper = script_text(repo, *PAPER_ERA)
    avg_lines = [ln for ln in final.splitlines() if ln.startswith(("disc_param_avg =", "disc_avg_updates ="))]
    assert len(avg_lines) == 2, avg_lines
    (lr_line,) = [ln.strip() for ln in paper.splitlines() if ln.strip().startswith("lr = np.cast")]
    (start_line,) = [ln.strip() for ln in paper.splitlines() if ln.strip().startswith("start_lr =")]
    (adam_line,) = [ln for ln in final.splitlines() if ln.startswith("disc_param_updates = nn.adam_updates(")]
    assert "mom1=0.5" in adam_line and "lr=lr" in adam_line

    init = BY.adam_init()
    names = sorted(init)
    params = [th.shared(init[k].astype(fx), name=k) for k in names]
    gs = [T.TensorType(fx, (False,) * init[k].ndim)(f"g_{k}") for k in names]
    lr = T.scalar("lr", dtype=fx)
    cost = sum((p * g).sum() for p, g in zip(params, gs))
    ups = nn.adam_updates(params, cost, lr=lr, mom1=0.5)  # as in the script's disc_param_updates line
    ns = {"np": np, "th": th, "disc_params": params}
    for ln in avg_lines:
        exec(ln, ns)
    f = th.function(gs + [lr], [], updates=ups + ns["disc_avg_updates"])
    m1 = {k: ups[3 * i][0] for i, k in enumerate(names)}
    m2 = {k: ups[3 * i + 1][0] for i, k in enumerate(names)}
    avg = dict(zip(names, ns["disc_param_avg"]))

    lr_ns = {"np": np, "th": th}
    exec(start_line, lr_ns)

    def lr_of(epoch: int) -> float:
        lr_ns["epoch"] = epoch
        exec(lr_line, lr_ns)
        return float(lr_ns["lr"])

    out = {"lr_line": lr_line, "start_line": start_line, "avg_lines": avg_lines, "adam_line": adam_line,
           "lr_per_epoch": [lr_of(e) for e in range(301)], "steps_per_epoch": BY.STEPS_PER_EPOCH_ADAM,
           "names": names, "ckpt": {}}
    last = max(BY.ADAM_CHECKPOINTS)
    for t in range(1, last + 1):
        g = BY.grad_stream(t)
        f(*[g[k].astype(fx) for k in names], np.asarray(lr_of((t - 1) // BY.STEPS_PER_EPOCH_ADAM), dtype=fx))
        if t in BY.ADAM_CHECKPOINTS:
            out["ckpt"][str(t)] = {k: {"p": floats(params[i].get_value(), 17), "m": floats(m1[k].get_value(), 17),
                                       "v": floats(m2[k].get_value(), 17), "avg": floats(avg[k].get_value(), 17)}
                                   for i, k in enumerate(names)}
    return out


# --- evaluation, and 20 labels -------------------------------------------------------------------------------


def _oracle_steps(fn, P, adam, avg, d_names, g_names, seed, n_labels, steps, lr, fx, train_x, train_y,
                  on_step=None):
    lab_idx = I.labelled_set(seed, train_y, n_labels)
    B = 100
    losses, grads1 = [], {}
    for t in range(1, steps + 1):
        s = BY.step_inputs_labels(seed, t, n_labels)
        li = lab_idx[s["lab"]]
        d_args, g_args = R.step_args(s, li, train_x, train_y, lr, fx, B)
        if t == 1:
            gd = fn["grad_d"](*d_args)
        ll, lu, te = fn["disc"](*d_args)
        if t == 1:  # G's gradient sees the updated D, as train_batch_gen does
            gg = fn["grad_g"](*g_args)
            grads1 = {f"grad.{n}": g for n, g in zip(d_names + g_names, list(gd) + list(gg))}
        (lg,) = fn["gen"](*g_args)
        losses.append([float(ll), float(lu), float(te), float(lg)])
        if on_step is not None:
            vals = {k: np.asarray(v.get_value()) for k, v in {**P, **avg, **adam}.items()}
            on_step(t, vals)
    return lab_idx, losses, grads1


def part_eval(repo: str) -> tuple[dict, dict]:
    import lasagne.layers as LL
    import theano as th
    import theano.tensor as T
    from theano.compile.sharedvalue import SharedVariable

    fx = th.config.floatX
    seed = 1
    ns, fn, lr = R.build("final", repo)
    P = R.param_map(ns, "final")
    name_of = {v: k for k, v in P.items()}
    d_names = [name_of[p] for p in ns["disc_params"]]
    g_names = [name_of[p] for p in ns["gen_params"]]
    adam = {}
    for tag, ups, names in (("D", ns["disc_param_updates"], d_names), ("G", ns["gen_param_updates"], g_names)):
        for i, n in enumerate(names):
            adam[f"m{tag}.{n}"], adam[f"v{tag}.{n}"] = ups[3 * i][0], ups[3 * i + 1][0]
    avg = {f"avg.{name_of[p]}": a for p, a in zip(ns["disc_params"], ns["disc_param_avg"])}
    x = T.matrix("x_eval")
    logits = LL.get_output(ns["layers"][-1], x, deterministic=True)  # as the script's test_batch: noise off
    f_avg = th.function([x], logits, givens=ns["disc_avg_givens"])
    f_raw = th.function([x], logits)
    shared = {}
    for f in list(fn.values()) + [f_avg, f_raw]:
        for inp in f.maker.inputs:
            if isinstance(inp.variable, SharedVariable):
                shared[id(inp.variable)] = (inp.variable, inp.variable.get_value().copy())

    train_x, train_y = I.load_train()
    train_x = train_x.astype(fx)
    test_x, test_y = BY.load_test()
    test_x = test_x.astype(fx)[: BY.EVAL_IMAGES]

    def start():
        for var, val in shared.values():
            var.set_value(val.copy())
        for k, v in I.initial_params(seed).items():
            P[k].set_value(v.astype(fx))
        ii = I.init_inputs(seed)
        fn["init"](train_x[ii["idx"]], ii["z"].astype(fx), *[e.astype(fx) for e in ii["noise"]])

    # -- evaluation after EVAL_STEPS oracle steps (100 labels)
    start()
    _oracle_steps(fn, P, adam, avg, d_names, g_names, seed, 100, BY.EVAL_STEPS, lr, fx, train_x, train_y)
    t = BY.EVAL_STEPS
    raw = f_raw(test_x)
    held = f_avg(test_x)  # the averages as the script holds (and evaluates) them: a_t, no correction
    saved = {k: a.get_value().copy() for k, a in avg.items()}
    corr = 1 - 0.9999 ** t
    for k, a in avg.items():
        a.set_value(saved[k] / corr)
    corrected = f_avg(test_x)
    for k, a in avg.items():
        a.set_value(saved[k])

    def digits(lg):
        return "".join(str(int(i)) for i in np.argmax(lg, axis=1))

    ev = {"steps": t, "seed": seed, "images": BY.EVAL_IMAGES, "correction": corr,
          "pred_raw": digits(raw), "pred_avg_as_held": digits(held), "pred_avg_corrected": digits(corrected),
          "logits_raw": floats(raw[: BY.EVAL_LOGITS], 17), "logits_avg_as_held": floats(held[: BY.EVAL_LOGITS], 17),
          "logits_avg_corrected": floats(corrected[: BY.EVAL_LOGITS], 17),
          "acc": {k: float(np.mean(np.array(list(v), dtype=int) == test_y[: BY.EVAL_IMAGES]))
                  for k, v in (("raw", digits(raw)), ("avg_as_held", digits(held)),
                               ("avg_corrected", digits(corrected)))},
          "floatX": fx}
    print("eval", ev["acc"], "differ held/corrected:",
          sum(a != b for a, b in zip(ev["pred_avg_as_held"], ev["pred_avg_corrected"])), flush=True)

    # -- 20 labels, LAB20_STEPS oracle steps from the same start
    start()
    ddi = {k: np.asarray(v.get_value()) for k, v in P.items()}
    ck, norms = {}, {}

    def on_step(t, vals):
        for k, v in vals.items():
            if k[:2] not in ("mD", "vD", "mG", "vG"):
                norms.setdefault(k, []).append(float(np.sqrt(np.sum(np.square(v.astype(np.float64))))))
        if t in BY.LAB20_CKPT:
            ck[str(t)] = EJ.samples(vals)

    lab_idx, losses, grads1 = _oracle_steps(fn, P, adam, avg, d_names, g_names, seed, 20, BY.LAB20_STEPS, lr, fx,
                                            train_x, train_y, on_step)
    l20 = {"meta": {"seed": seed, "labels": 20, "steps": BY.LAB20_STEPS, "lr": lr, "floatX": fx,
                    "commit": FINAL[0]},
           "lab_idx": lab_idx.tolist(), "loss_names": ["loss_lab", "loss_unl", "train_err", "loss_gen"],
           "losses": losses, "norms": norms, "ddi": EJ.samples(ddi), "grads1": EJ.samples(grads1), "ckpt": ck}
    print("labels20 losses", losses[0], losses[-1], flush=True)
    return ev, l20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=["draws", "batches", "adam", "eval"])
    ap.add_argument("--repo", default="/work/.mirror/openai+improved-gan/repo/.git")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import theano as th

    out = Path(a.out)
    about = ("exported by book/_tools/reference_oracle/export_beyond.py from the real reference code "
             "(openai/improved-gan); see README.md there, section 'Beyond one step'")
    meta = {"about": about, "floatX": th.config.floatX, "theano": th.__version__, "numpy": np.__version__}
    files = {}
    if a.part == "draws":
        files["oracle_beyond_draws.json"] = part_draws(a.repo)
    elif a.part == "batches":
        files["oracle_beyond_batches.json"] = part_batches(a.repo)
    elif a.part == "adam":
        files["oracle_beyond_adam.json"] = part_adam(a.repo)
    else:
        ev, l20 = part_eval(a.repo)
        files["oracle_beyond_eval.json"] = ev
        files["oracle_beyond_labels20.json"] = l20
    for name, d in files.items():
        (out / name).write_text(json.dumps({"meta": meta, **d} if "meta" not in d else {**d, "export": meta},
                                           separators=(",", ":")))
        print(f"wrote {out / name} ({(out / name).stat().st_size / 1024:.0f} KB)", flush=True)
    _ = re


if __name__ == "__main__":
    main()
