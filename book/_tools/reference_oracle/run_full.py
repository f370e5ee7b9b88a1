"""The authors' final MNIST script, full length, on a labelled set given from outside, resumable. Theano env.

The script (``mnist_svhn_cifar10/train_mnist_feature_matching.py``) and its ``nn.py`` are read from a git snapshot
of openai/improved-gan at run time and exec'd whole, patched as text (each patch asserted to apply exactly once):

* the labelled set ``txs, tys`` (chosen by the script from ``--seed_data``) is replaced by the images at ``lab_idx``
  of ``--subset`` (an npz of ``export_subset.py``: the library's subset), asserted equal to its ``x_lab`` / ``lab_y``;
  the validation images ``val_idx`` are measured only: the unlabelled data stays all 60,000 images, as in the
  library, whose validation images are kept out of the labelled pool only;
* ``np.load('mnist.npz')`` reads ``--mnist`` (built from the raw MNIST files if absent: x / 255 in float32, the
  first 50,000 training images as ``x_train``, the last 10,000 as ``x_valid``, as the script concatenates them);
* ``range(a/b)`` -> ``range(int(a/b))`` (Python 3), the GPU-only ``dnn`` import of ``nn.py`` in try/except;
* the epoch loop runs from the checkpoint's next epoch to ``--epochs`` (the script's 300 at most, lr 0.003 constant
  as in the script), and ``nr_batches_train`` can be cut by ``--steps-per-epoch`` (a debug option);
* the two cumulative permutations of the unlabelled copies (``trainx_unl = trainx_unl[rng.permutation(..)]``, state
  that crosses epochs) are also applied to index arrays, so a checkpoint holds them as 2 x 60,000 indices;
* after each epoch's own report: measurement-only predictions of the averaged and raw D (noise off) on the test set
  and the validation images, then a checkpoint.

Weights: ``--seed`` is the script's ``--seed`` (its numpy ``rng``, which seeds the Theano MRG streams and Lasagne's
initialisation, and draws the batch order); ``--seed_data`` stays 1 (it only picks the DDI batch now).

Checkpoint ``OUT/ckpt.npz`` (written to a temp file, then ``os.replace``): every Theano shared variable created while
the script is built and compiled (parameters, their averages, Adam moments and step counters, G's batch-norm
averages, the state of every MRG random stream: G's uniform z and each Gaussian noise layer), in creation order;
the numpy RandomStates (``rng``, ``data_rng``, Lasagne's); each MRG_RandomStreams' host ``rstate``; the two
permutations; the epoch; the history; the last predictions. On start with a checkpoint the script is built as usual
(DDI included), then all of that is restored and the loop continues at the next epoch. ``OUT/record.json`` (small,
also atomic) is what ``collect.py`` turns into ``book/results/reference/*.json``.

    THEANO_FLAGS=floatX=float32,device=cpu,mode=FAST_RUN,blas.ldflags=-lopenblas OMP_NUM_THREADS=1 \\
        /work/oracle/ref/bin/python run_full.py --subset /work/campaign/ref/subsets/labels100-subset1.npz \\
        --seed 1 --epochs 100 --out /work/campaign/ref/runs/labels100-subset1
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run_reference import git_show, wrap_gpu_imports  # noqa: E402

SCRIPT = "mnist_svhn_cifar10/train_mnist_feature_matching.py"
NN = "mnist_svhn_cifar10/nn.py"
CONF_EVERY = 1  # confusion matrices every epoch (10 x 10 ints: small)


def build_mnist(path: Path) -> None:
    """``mnist.npz`` in the layout the script reads, from the raw MNIST files the library reads."""
    import inputs as I

    raw = I.mnist_dir()
    x = I._idx(raw / "train-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / np.float32(255)
    y = I._idx(raw / "train-labels-idx1-ubyte").astype(np.int64)
    xt = I._idx(raw / "t10k-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / np.float32(255)
    yt = I._idx(raw / "t10k-labels-idx1-ubyte").astype(np.int64)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, x_train=x[:50000], y_train=y[:50000], x_valid=x[50000:], y_valid=y[50000:], x_test=xt, y_test=yt)
    os.replace(tmp, path)


def patch(src: str, old: str, new: str) -> str:
    assert src.count(old) == 1, f"patch target found {src.count(old)} times: {old!r}"
    return src.replace(old, new)


def atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def digits(a) -> str:
    return "".join(str(int(v)) for v in a)


class Hooks:
    """Called from the patched script (``_H``); holds the run's extra state."""

    def __init__(self, args, shared: list, streams: list):
        self.a = args
        self.out = Path(args.out)
        self.ckpt = self.out / "ckpt.npz"
        self.shared = shared  # every SharedVariable, in creation order
        self.streams = streams  # every MRG_RandomStreams, in creation order
        self.history: list[dict] = []
        self.start = 0
        self.stop = min(args.epochs, 300)
        self.preds: dict = {}
        self.resumed_from = None
        self.segments: list[dict] = []  # one per start of the process: where it began, when, on what

    # --- inside the script -------------------------------------------------------------------------------
    def limit_steps(self, n: int) -> int:
        return min(n, self.a.steps_per_epoch) if self.a.steps_per_epoch else n

    def replace_labelled(self, ns: dict) -> None:
        import theano as th

        sub = np.load(self.a.subset)
        data = ns["data"]
        all_y = np.concatenate([data["y_train"], data["y_valid"]]).astype(np.int32)
        base = ns["trainx_unl"]  # still the unpermuted copy of the 60,000 here
        assert base.shape == (60000, 784)
        self.lab_idx = sub["lab_idx"]
        ns["txs"] = base[sub["lab_idx"]].copy()
        ns["tys"] = all_y[sub["lab_idx"]]
        assert np.array_equal(ns["tys"], sub["lab_y"])
        assert np.array_equal(ns["txs"], sub["x_lab"].astype(th.config.floatX))
        assert np.array_equal(np.bincount(ns["tys"], minlength=10), np.full(10, len(ns["tys"]) // 10))
        self.valx = base[sub["val_idx"]].copy()
        self.valy = all_y[sub["val_idx"]]
        assert np.array_equal(self.valy, sub["val_y"])
        assert np.array_equal(ns["testy"], sub["test_y"])
        self.val_idx = sub["val_idx"]
        print(f"[full] labelled idx {self.lab_idx[:10].tolist()} ... per class {np.bincount(ns['tys']).tolist()}, "
              f"{len(self.val_idx)} validation images", flush=True)

    def before_loop(self, ns: dict) -> None:
        import theano as th
        import theano.tensor as T
        from theano.compile.sharedvalue import SharedVariable

        out = ns["output_before_softmax"]  # noise off (deterministic=True)
        x = ns["x_lab"]
        self.pred_avg = th.function([x], T.argmax(out, axis=1), givens=ns["disc_avg_givens"])
        self.pred_raw = th.function([x], T.argmax(out, axis=1))
        # graph optimisation clones shared variables (same container, same storage): keep one per container
        seen, state = set(), []
        for s in self.shared:
            if id(s.container) not in seen:
                seen.add(id(s.container))
                state.append(s)
        self.shared = state  # what a checkpoint holds
        fns = [ns[k] for k in ("init_param", "train_batch_disc", "train_batch_gen", "test_batch")]
        for f in fns + [self.pred_avg, self.pred_raw]:
            for s in f.get_shared():
                assert isinstance(s, SharedVariable) and id(s.container) in seen, f"untracked shared variable {s}"
        self.base_unl, self.base_unl2 = ns["trainx_unl"], ns["trainx_unl2"]
        self.perm_unl = np.arange(60000)
        self.perm_unl2 = np.arange(60000)
        self.rngs = {"rng": ns["rng"], "data_rng": ns["data_rng"], "lasagne_rng": ns["lasagne"].random.get_rng()}
        if self.ckpt.exists():
            self.restore(ns)
        self.segments.append({"from_epoch": self.start, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                              "cpu": self.meta["cpu"], "harness_commit": self.meta["harness_commit"]})

    def after_epoch(self, ns: dict, epoch: int, begin: float) -> None:
        t_train = time.time() - begin
        t0 = time.time()
        testx, testy, B = ns["testx"], ns["testy"], 100
        pa = np.concatenate([self.pred_avg(testx[i:i + B]) for i in range(0, len(testx), B)])
        pr = np.concatenate([self.pred_raw(testx[i:i + B]) for i in range(0, len(testx), B)])
        va = np.concatenate([self.pred_avg(self.valx[i:i + B]) for i in range(0, len(self.valx), B)])
        vr = np.concatenate([self.pred_raw(self.valx[i:i + B]) for i in range(0, len(self.valx), B)])
        vy = self.valy
        e = {"epoch": epoch + 1,
             "loss_lab": float(ns["loss_lab"]), "loss_unl": float(ns["loss_unl"]),
             "train_err": float(ns["train_err"]), "test_err_script": float(ns["test_err"]),
             "test_err_avg": float(np.mean(pa != testy)), "test_err_raw": float(np.mean(pr != testy)),
             "val_acc_avg": float(np.mean(va == vy)), "val_acc_raw": float(np.mean(vr == vy)),
             "test_7to2_avg": int(np.sum((testy == 7) & (pa == 2))), "test_7to2_raw": int(np.sum((testy == 7) & (pr == 2))),
             "val_7to2_avg": int(np.sum((vy == 7) & (va == 2))), "val_7to2_raw": int(np.sum((vy == 7) & (vr == 2))),
             "seconds_train": round(t_train, 2), "seconds_measure": round(time.time() - t0, 2)}
        last = epoch + 1 == self.stop
        if (epoch + 1) % CONF_EVERY == 0 or last:
            conf = lambda y, p: np.bincount(10 * y.astype(np.int64) + p, minlength=100).reshape(10, 10).tolist()
            e["confusion_test_avg"] = conf(testy, pa)
            e["confusion_val_avg"] = conf(vy, va)
        self.history.append(e)
        self.preds = {"pred_test_avg": pa.astype(np.int8), "pred_test_raw": pr.astype(np.int8),
                      "pred_val_avg": va.astype(np.int8), "pred_val_raw": vr.astype(np.int8)}
        t1 = time.time()
        self.save(epoch + 1)
        e["seconds_checkpoint"] = round(time.time() - t1, 2)
        self.write_record()
        print(f"  [m] epoch {epoch + 1}: test err avg {e['test_err_avg']:.4f} raw {e['test_err_raw']:.4f} | "
              f"test 7->2 avg {e['test_7to2_avg']} raw {e['test_7to2_raw']} | val acc avg {e['val_acc_avg']:.4f} "
              f"raw {e['val_acc_raw']:.4f}, val 7->2 avg {e['val_7to2_avg']} | train {t_train:.0f}s, measure "
              f"{e['seconds_measure']:.0f}s, checkpoint {e['seconds_checkpoint']:.1f}s", flush=True)

    # --- checkpoint ----------------------------------------------------------------------------------------
    def save(self, epochs_done: int) -> None:
        d = {f"shared_{i:03d}": np.asarray(s.get_value(borrow=False)) for i, s in enumerate(self.shared)}
        d["shared_names"] = np.array([str(s.name) for s in self.shared])
        for k, r in self.rngs.items():
            name, keys, pos, has_gauss, cached = r.get_state()
            d[f"{k}.keys"], d[f"{k}.pos"] = keys, np.int64(pos)
            d[f"{k}.has_gauss"], d[f"{k}.cached"] = np.int64(has_gauss), np.float64(cached)
        for i, s in enumerate(self.streams):
            d[f"mrg_{i:02d}.rstate"] = np.asarray(s.rstate)
        d["perm_unl"], d["perm_unl2"] = self.perm_unl.astype(np.int32), self.perm_unl2.astype(np.int32)
        d["epoch"] = np.int64(epochs_done)
        d["history"] = np.array(json.dumps(self.history))
        d["segments"] = np.array(json.dumps(self.segments))
        d.update(self.preds)
        atomic_write(self.ckpt, lambda f: np.savez(f, **d))

    def restore(self, ns: dict) -> None:
        c = np.load(self.ckpt)
        names = c["shared_names"].tolist()
        assert len(names) == len(self.shared), (len(names), len(self.shared))
        for i, s in enumerate(self.shared):
            v, cur = c[f"shared_{i:03d}"], s.get_value()
            assert names[i] == str(s.name) and v.shape == cur.shape and v.dtype == cur.dtype, (i, names[i], s)
            s.set_value(v)
        for k, r in self.rngs.items():
            r.set_state(("MT19937", c[f"{k}.keys"], int(c[f"{k}.pos"]), int(c[f"{k}.has_gauss"]),
                         float(c[f"{k}.cached"])))
        for i, s in enumerate(self.streams):
            s.rstate = c[f"mrg_{i:02d}.rstate"].copy()
        self.perm_unl, self.perm_unl2 = c["perm_unl"].astype(np.int64), c["perm_unl2"].astype(np.int64)
        ns["trainx_unl"], ns["trainx_unl2"] = self.base_unl[self.perm_unl], self.base_unl2[self.perm_unl2]
        self.history = json.loads(str(c["history"]))
        self.segments = json.loads(str(c["segments"]))
        self.preds = {k: c[k] for k in ("pred_test_avg", "pred_test_raw", "pred_val_avg", "pred_val_raw") if k in c}
        self.start = int(c["epoch"])
        self.resumed_from = self.start
        print(f"[full] resumed from {self.ckpt} after epoch {self.start}", flush=True)

    def write_record(self) -> None:
        rec = dict(self.meta)
        rec["epochs_done"] = len(self.history)
        rec["finished"] = len(self.history) >= self.a.epochs
        rec["segments"] = self.segments
        rec["history"] = self.history
        if self.preds:
            rec["final_pred_test_avg"] = digits(self.preds["pred_test_avg"])
            rec["final_pred_val_avg"] = digits(self.preds["pred_val_avg"])
        atomic_write(self.out / "record.json", lambda f: f.write(json.dumps(rec).encode()))


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def harness_commit() -> str:
    """This repository's commit (with ``+dirty`` when this tool folder has uncommitted changes)."""
    try:
        run = lambda *a: subprocess.run(["git", "-C", str(HERE), *a], capture_output=True, text=True).stdout.strip()
        return run("rev-parse", "HEAD") + ("+dirty" if run("status", "--porcelain", "--", ".") else "")
    except OSError:
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subset", required=True, help="npz of export_subset.py")
    ap.add_argument("--seed", type=int, required=True, help="the script's --seed (weights, noise, batch order)")
    ap.add_argument("--seed-data", type=int, default=1, help="the script's --seed_data (now only the DDI batch)")
    ap.add_argument("--epochs", type=int, default=300, help="stop after this many epochs (the script runs 300)")
    ap.add_argument("--steps-per-epoch", type=int, default=0, help="debug: cut each epoch to this many steps")
    ap.add_argument("--out", required=True)
    ap.add_argument("--repo", default="/work/.mirror/openai+improved-gan/repo/.git")
    ap.add_argument("--commit", default="4f5d1ec")
    ap.add_argument("--mnist", default="/work/oracle/mnist.npz")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not Path(args.mnist).exists():
        build_mnist(Path(args.mnist))

    import theano as th
    from theano.compile.sharedvalue import SharedVariable
    from theano.sandbox import rng_mrg

    # track every shared variable and every MRG stream object, in creation order
    shared, streams = [], []
    sv_init, mrg_init = SharedVariable.__init__, rng_mrg.MRG_RandomStreams.__init__

    def sv_init_tracked(self, *a, **k):
        sv_init(self, *a, **k)
        shared.append(self)

    def mrg_init_tracked(self, *a, **k):
        mrg_init(self, *a, **k)
        streams.append(self)

    SharedVariable.__init__ = sv_init_tracked
    rng_mrg.MRG_RandomStreams.__init__ = mrg_init_tracked

    git = ["git", "--git-dir", args.repo]
    commit = subprocess.run(git + ["rev-parse", args.commit], check=True, capture_output=True, text=True).stdout.strip()
    nn_src = wrap_gpu_imports(git_show(args.repo, f"{commit}:{NN}"))
    nn = types.ModuleType("nn")
    nn.__file__ = f"{commit[:7]}:{NN}"
    exec(compile(nn_src, nn.__file__, "exec"), nn.__dict__)
    sys.modules["nn"] = nn

    src = git_show(args.repo, f"{commit}:{SCRIPT}")
    src = patch(src, "data = np.load('mnist.npz')", "data = np.load(_H.a.mnist)")
    src = patch(src, "nr_batches_train = int(trainx.shape[0]/args.batch_size)\n",
                "nr_batches_train = _H.limit_steps(int(trainx.shape[0]/args.batch_size))\n")
    src = patch(src, "tys = np.concatenate(tys, axis=0)\n", "tys = np.concatenate(tys, axis=0)\n_H.replace_labelled(globals())\n")
    src = patch(src, "init_param(trainx[:500]) # data dependent initialization\n",
                "init_param(trainx[:500]) # data dependent initialization\n_H.before_loop(globals())\n")
    src = patch(src, "for epoch in range(300):", "for epoch in range(_H.start, _H.stop):")
    src = patch(src, "range(trainx_unl.shape[0]/txs.shape[0])", "range(int(trainx_unl.shape[0]/txs.shape[0]))")
    for v, p in (("trainx_unl", "perm_unl"), ("trainx_unl2", "perm_unl2")):
        src = patch(src, f"    {v} = {v}[rng.permutation({v}.shape[0])]\n",
                    f"    _p = rng.permutation({v}.shape[0]); {v} = {v}[_p]; _H.{p} = _H.{p}[_p]\n")
    tail = "test err = %.4f\" % (epoch, time.time()-begin, loss_lab, loss_unl, train_err, test_err))\n    sys.stdout.flush()\n"
    assert src.endswith(tail), "end of the epoch loop not found"
    src += "    _H.after_epoch(globals(), epoch, begin)\n"

    H = Hooks(args, shared, streams)
    H.meta = {"script_repo": "openai/improved-gan", "script_commit": commit, "script": SCRIPT,
              "subset_npz": str(args.subset), "subset": int(np.load(args.subset)["seed"]),
              "labels": int(np.load(args.subset)["labels"]),
              "lab_idx": np.load(args.subset)["lab_idx"].tolist(),
              "validation": f"{len(np.load(args.subset)['val_idx'])} images: the library's validation_split(60000, 5000, "
                            "seed=0), measured only (the unlabelled data is all 60,000 images)", "seed": args.seed, "seed_data": args.seed_data,
              "epochs_planned": args.epochs, "steps_per_epoch": args.steps_per_epoch or 600, "lr": 0.003,
              "theano": th.__version__, "numpy": np.__version__, "python": platform.python_version(),
              "floatX": th.config.floatX, "theano_flags": os.environ.get("THEANO_FLAGS", ""),
              "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "cpu": cpu_model(),
              "harness": "book/_tools/reference_oracle/run_full.py", "harness_commit": harness_commit()}
    sys.argv = [SCRIPT, "--seed", str(args.seed), "--seed_data", str(args.seed_data)]
    ns: dict = {"__name__": "__main__", "_H": H}
    t0 = time.time()
    exec(compile(src, f"{commit[:7]}:{SCRIPT}", "exec"), ns)
    print(f"[full] done: epochs {H.start if H.resumed_from is None else H.resumed_from}..{H.stop} "
          f"in {time.time() - t0:.0f}s, {len(H.history)} epochs in the record", flush=True)


if __name__ == "__main__":
    main()
