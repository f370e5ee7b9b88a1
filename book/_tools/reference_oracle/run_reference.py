"""Run the *unchanged* Theano reference (openai/improved-gan, MNIST feature matching) on the inputs of
``inputs.py`` and dump what it computes. Runs in the Theano environment (see README.md).

The script and ``nn.py`` are read from a git snapshot of openai/improved-gan at run time and exec'd up to
(not including) their ``th.function`` calls; the only substitutions:

* G's uniform noise ``theano_rng.uniform(size=(args.batch_size, 100))`` becomes a symbolic matrix ``z``;
* ``nn.GaussianNoiseLayer.get_output_for`` is patched to add ``sigma * eps`` with ``eps`` a new symbolic matrix
  per call (registered in call order: DDI, lab, unl, fake, G-step fake, G-step real), instead of an MRG draw;
* GPU-only imports (``dnn``) are wrapped in try/except, ``import plotting`` gets an empty module.

Then the same functions are compiled with those extra inputs (init_param, train_batch_disc with the averaging
updates where the script has them, train_batch_gen), plus two gradient functions for step 1.

    THEANO_FLAGS=floatX=float64,device=cpu,mode=FAST_RUN,blas.ldflags=-lopenblas OMP_NUM_THREADS=1 \\
        ref/bin/python run_reference.py --version final --steps 500 --out /work/oracle/ref_final_f64
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inputs as I  # noqa: E402

VERSIONS = {
    # version: (commit, script path, nn.py path, learning rate of its first epochs)
    "final": ("4f5d1ec", "mnist_svhn_cifar10/train_mnist_feature_matching.py", "mnist_svhn_cifar10/nn.py", 0.003),
    "paper_era": ("2b81a18^", "train_mnist_feature_matching.py", "nn.py", 0.001),
}
UNIFORM = "noise = theano_rng.uniform(size=(args.batch_size, 100))"


def git_show(repo: str, spec: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, "show", spec], check=True, capture_output=True, text=True).stdout


def wrap_gpu_imports(src: str) -> str:
    out = []
    for line in src.splitlines():
        if line.startswith(("from lasagne.layers import dnn", "from theano.sandbox.cuda")):
            line = f"try:\n    {line}\nexcept Exception:\n    pass"
        out.append(line)
    return "\n".join(out) + "\n"


def build(version: str, repo: str):
    import theano as th
    import theano.tensor as T

    commit, script_path, nn_path, lr = VERSIONS[version]
    nn_src = wrap_gpu_imports(git_show(repo, f"{commit}:{nn_path}"))
    nn = types.ModuleType("nn")
    nn.__file__ = f"{commit}:{nn_path}"
    exec(compile(nn_src, nn.__file__, "exec"), nn.__dict__)
    sys.modules["nn"] = nn
    sys.modules["plotting"] = types.ModuleType("plotting")

    registry: list = []

    def noise_output(self, input, deterministic=False, use_last_noise=False, **kwargs):
        if deterministic or self.sigma == 0:
            return input
        eps = T.matrix(f"eps{len(registry)}")
        registry.append(eps)
        return input + self.sigma * eps

    nn.GaussianNoiseLayer.get_output_for = noise_output

    script = git_show(repo, f"{commit}:{script_path}")
    assert script.count(UNIFORM) == 1, "G's noise line not found"
    script = script.replace(UNIFORM, "noise = T.matrix('z')")
    cut = script.index("init_param = th.function(")
    script = script[:cut]
    sys.argv = [script_path]
    ns: dict = {"__name__": "reference"}
    exec(compile(script, f"{commit}:{script_path}", "exec"), ns)
    assert len(registry) == 6 + 6 * 3 + 5 * 2, f"unexpected number of noise layers: {len(registry)}"
    eps_init, eps_lab, eps_unl, eps_fake = (registry[6 * k: 6 * k + 6] for k in range(4))
    eps_gfake, eps_greal = registry[24:29], registry[29:34]

    x_lab, labels, x_unl, z, lr_var = ns["x_lab"], ns["labels"], ns["x_unl"], ns["noise"], ns["lr"]
    loss_d = ns["loss_lab"] + ns["args"].unlabeled_weight * ns["loss_unl"]
    disc_updates = ns["disc_param_updates"] + ns.get("disc_avg_updates", [])
    d_in = [x_lab, labels, x_unl, lr_var, z] + eps_lab + eps_unl + eps_fake
    g_in = [x_unl, lr_var, z] + eps_gfake + eps_greal
    t0 = time.time()
    fn = {
        "init": th.function([x_lab, z] + eps_init, None, updates=ns["init_updates"], on_unused_input="ignore"),
        "disc": th.function(d_in, [ns["loss_lab"], ns["loss_unl"], ns["train_err"]], updates=disc_updates),
        "gen": th.function(g_in, [ns["loss_gen"]], updates=ns["gen_param_updates"]),
        "grad_d": th.function(d_in, T.grad(loss_d, ns["disc_params"]), on_unused_input="ignore"),
        "grad_g": th.function(g_in, T.grad(ns["loss_gen"], ns["gen_params"]), on_unused_input="ignore"),
    }
    print(f"compiled in {time.time() - t0:.0f}s", flush=True)
    return ns, fn, lr


def param_map(ns: dict, version: str) -> dict:
    """Common name -> Theano shared variable."""
    layers, gl = ns["layers"], ns["gen_layers"]
    dense = [l for l in layers if hasattr(l, "theta")]
    assert len(dense) == 6
    m = {}
    for i, l in enumerate(dense):
        m[f"D{i}.theta"], m[f"D{i}.b"], m[f"D{i}.g"] = l.theta, l.b, l.weight_scale

    def named(layer, name):
        (p,) = [p for p in layer.params if p.name == name]
        return p

    m["G.W1"], m["G.b1"] = named(gl[1].input_layer, "W"), gl[1].b
    m["G.W2"], m["G.b2"] = named(gl[2].input_layer, "W"), gl[2].b
    if version == "final":  # nn.l2normalize(DenseLayer): W, b, W_scale on the dense layer
        m["G.W3"], m["G.b3"], m["G.g3"] = named(gl[3], "W"), named(gl[3], "b"), named(gl[3], "W_scale")
    else:  # nn.weight_norm(DenseLayer, train_g=True): W on the dense layer, b and g on the WeightNormLayer
        m["G.W3"], m["G.b3"], m["G.g3"] = named(gl[3].input_layer, "W"), gl[3].b, gl[3].g
    return m


def step_args(s: dict, li, train_x, train_y, lr: float, fx: str, B: int) -> tuple[list, list]:
    """The arguments of the compiled D and G functions for one step's inputs ``s`` (``inputs.step_inputs``),
    ``li`` the labelled batch's indices: the noise of each layer split into the labelled, unlabelled and
    generated rows (D) and the generated and real rows (G, its first five layers)."""
    nd = [e.astype(fx) for e in s["noise_d"]]
    ng = [e.astype(fx) for e in s["noise_g"]]
    d_args = ([train_x[li], train_y[li].astype(np.int32), train_x[s["unl"]], np.asarray(lr, dtype=fx),
               s["z"].astype(fx)] + [e[:B] for e in nd] + [e[B:2 * B] for e in nd] + [e[2 * B:] for e in nd])
    g_args = ([train_x[s["unl2"]], np.asarray(lr, dtype=fx), s["z2"].astype(fx)]
              + [e[B:2 * B] for e in ng[:5]] + [e[:B] for e in ng[:5]])
    return d_args, g_args


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", choices=sorted(VERSIONS), default="final")
    ap.add_argument("--repo", default="/work/.mirror/openai+improved-gan/repo/.git")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import theano as th

    fx = th.config.floatX
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ns, fn, lr = build(args.version, args.repo)
    P = param_map(ns, args.version)
    name_of = {v: k for k, v in P.items()}
    d_names = [name_of[p] for p in ns["disc_params"]]
    g_names = [name_of[p] for p in ns["gen_params"]]
    print("D params:", d_names, "\nG params:", g_names, flush=True)
    adam = {}  # "mD.name"/"vD.name"/... -> shared
    for tag, ups, names in (("D", ns["disc_param_updates"], d_names), ("G", ns["gen_param_updates"], g_names)):
        for i, n in enumerate(names):
            adam[f"m{tag}.{n}"], adam[f"v{tag}.{n}"] = ups[3 * i][0], ups[3 * i + 1][0]
            assert ups[3 * i + 2][0] is P[n]
    avg = {f"avg.{name_of[p]}": a for p, a in zip(ns["disc_params"], ns.get("disc_param_avg", []))}

    init = I.initial_params(args.seed)
    for k, v in init.items():
        assert P[k].get_value().shape == v.shape, (k, P[k].get_value().shape, v.shape)
        P[k].set_value(v.astype(fx))

    train_x, train_y = I.load_train()
    train_x = train_x.astype(fx)
    lab_idx = I.labelled_set(args.seed, train_y)
    ii = I.init_inputs(args.seed)
    fn["init"](train_x[ii["idx"]], ii["z"].astype(fx), *[e.astype(fx) for e in ii["noise"]])
    np.savez(out / "ddi.npz", **{k: v.get_value() for k, v in P.items()})

    def values(d):
        return {k: np.asarray(v.get_value()) for k, v in d.items()}

    B = 100
    losses, norms = [], {}
    t0 = time.time()
    for t in range(1, args.steps + 1):
        s = I.step_inputs(args.seed, t)
        li = lab_idx[s["lab"]]
        d_args, g_args = step_args(s, li, train_x, train_y, lr, fx, B)
        if t == 1:
            gd = fn["grad_d"](*d_args)
        ll, lu, te = fn["disc"](*d_args)
        if t == 1:
            gg = fn["grad_g"](*g_args)
            np.savez(out / "grads1.npz", **{f"grad.{n}": g for n, g in zip(d_names + g_names, list(gd) + list(gg))})
        (lg,) = fn["gen"](*g_args)
        losses.append([float(ll), float(lu), float(te), float(lg)])
        vals = {**values(P), **values(avg)}
        for k, v in vals.items():
            norms.setdefault(k, []).append(float(np.sqrt(np.sum(np.square(v.astype(np.float64))))))
        if t in I.CHECKPOINTS or t == args.steps:
            np.savez(out / f"ckpt_{t}.npz", **vals, **values(adam))
        if t % 50 == 0 or t == 1:
            print(f"step {t} {losses[-1]} {time.time() - t0:.0f}s", flush=True)
    np.savez(out / "trace.npz", losses=np.array(losses), **{f"norm.{k}": np.array(v) for k, v in norms.items()})
    (out / "meta.json").write_text(json.dumps({"version": args.version, "commit": VERSIONS[args.version][0],
                                               "floatX": fx, "seed": args.seed, "steps": args.steps, "lr": lr,
                                               "d_params": d_names, "g_params": g_names}, indent=1))
    print("done", flush=True)


if __name__ == "__main__":
    main()
