"""Command line: ``python -m ssgan_lib {train,bench,reproduce} ...``.

Every expected failure (bad value, missing data, unwritable folder, bad checkpoint, divergence)
prints one line starting with ``error:`` and exits non-zero; set ``SSGAN_DEBUG=1`` for tracebacks.
Exit codes: 0 done, 1 unexpected error, 2 bad input, 3 diverged, 130 interrupted (checkpoint saved).
"""
from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130


class UsageError(Exception):
    """Bad command-line input; the message is the one line shown."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see: python -m ssgan_lib {self.prog.split()[-1]} --help)")


def _number(kind, name: str, positive: bool = True, allow_zero: bool = False):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a {'whole ' if kind is int else ''}number, got {text!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{name} must be finite, got {text!r}")
        if positive and (value < 0 or (value == 0 and not allow_zero)):
            raise argparse.ArgumentTypeError(f"{name} must be {'>= 0' if allow_zero else 'positive'}, got {text!r}")
        return value
    return parse


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda if available, else cpu)")
    p.add_argument("--model", default="mlp", help="mlp (Salimans et al. pair) or dcgan")
    p.add_argument("--lr", type=_number(float, "--lr"), default=None,
                   help="Adam learning rate (default: the recipe's, 0.003 final, 0.001 paper-2016-06)")
    p.add_argument("--batch-size", type=_number(int, "--batch-size"), default=100)
    p.add_argument("--val-size", type=_number(int, "--val-size", allow_zero=True), default=5000,
                   help="training images held out (labels hidden) to watch training; never the test set")
    p.add_argument("--graph", default="auto", help="CUDA: auto, cuda-graph or eager")


def build_parser() -> argparse.ArgumentParser:
    top = _Parser(prog="python -m ssgan_lib", description="Semi-supervised GANs on MNIST.")
    sub = top.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train one SSGAN (or supervised baseline) and report test accuracy")
    t.add_argument("--labels", type=_number(int, "--labels"), default=None,
                   help="number of labelled images, a multiple of 10 (default 100)")
    t.add_argument("--label-rate", type=_number(float, "--label-rate"), default=None,
                   help="fraction of the 60,000 training labels instead of --labels, e.g. 0.2")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=_number(float, "--epochs"), default=None, help="passes over 60,000 images (default 300)")
    g.add_argument("--steps", type=_number(int, "--steps"), default=None, help="training steps of one batch each")
    t.add_argument("--seed", type=_number(int, "--seed", allow_zero=True), default=1)
    t.add_argument("--seeds", type=_number(int, "--seeds"), default=1, help="independent runs side by side")
    t.add_argument("--method", default="ssgan-fm", help="ssgan-fm, sgan or supervised")
    t.add_argument("--out", default=None, help="output folder (default runs/<method>-<labels>-seed<seed>)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--overwrite", action="store_true", help="start afresh even if OUT holds a checkpoint")
    t.add_argument("--ckpt-every", type=_number(int, "--ckpt-every", allow_zero=True), default=600,
                   help="steps between checkpoints (default 600 = one epoch)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--recipe", default="final",
                   help="reference version to follow: final (default; lr 0.003, averaged D) or paper-2016-06 "
                        "(lr 0.001 decaying over the last third, raw D, G output init); see ssgan_lib.recipes")
    t.add_argument("--lr-decay-epochs", type=_number(float, "--lr-decay-epochs", allow_zero=True), default=None,
                   help="lr falls linearly to 0 over the last N epochs (default: the recipe's; 0 = constant)")
    a = t.add_argument_group("ablations (the defaults are the reference recipe; compare on the validation split)")
    a.add_argument("--hidden-scale", default="frozen",
                   help="D's hidden weight-norm scales: frozen after the data-dependent init (reference) or trainable")
    a.add_argument("--adam-eps", default="inside",
                   help="Adam's epsilon inside the sqrt (reference) or outside (torch.optim.Adam)")
    a.add_argument("--no-data-init", action="store_true", help="skip the data-dependent init of D (scales 1, biases 0)")
    _add_run_args(t)

    b = sub.add_parser("bench", help="time the plain loop against the library's loop")
    b.add_argument("--steps", type=_number(int, "--steps"), default=None, help="timed steps (default: 300 on GPU, 30 on CPU)")
    b.add_argument("--seeds", type=_number(int, "--seeds"), default=1, help="seeds for the parallel measurement")
    b.add_argument("--device", default=None)

    r = sub.add_parser("reproduce", help="the paper's MNIST table and the label-rate study")
    r.add_argument("--labels", default=None, help="comma-separated label counts (default 20,50,100,200,500,1000,3000,60000)")
    r.add_argument("--label-rate", type=_number(float, "--label-rate"), default=None, help="add a labelled rate, e.g. 0.2")
    r.add_argument("--seeds", type=_number(int, "--seeds"), default=10)
    r.add_argument("--epochs", type=_number(float, "--epochs"), default=300)
    r.add_argument("--supervised-epochs", type=_number(float, "--supervised-epochs"), default=None,
                   help="epochs of the supervised-only runs (default: --epochs)")
    r.add_argument("--recipe", default="final", help="final or paper-2016-06 (see ssgan_lib.recipes)")
    r.add_argument("--steps", type=_number(int, "--steps"), default=None, help="steps per run instead of epochs (tiny checks)")
    r.add_argument("--methods", default="ssgan-fm,supervised")
    r.add_argument("--out", default="book/results/label_rate_mnist.csv")
    r.add_argument("--device", default=None)
    r.add_argument("--quiet", action="store_true")
    return top


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _check_writable(out: Path, create: bool) -> None:
    """Fail early, with one line, if ``out`` cannot hold our files; create it only when asked."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"output folder {out} exists and is not a folder")
    probe_dir = out
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise UsageError(f"output folder {out} cannot be written ({probe_dir} is a file, not a folder)")
    if not os.access(probe_dir, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {out} cannot be written (no permission on {probe_dir})")
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=out):
                pass
        except OSError as exc:
            raise UsageError(f"output folder {out} cannot be written ({exc.strerror or exc})")


def _git_commit() -> str | None:
    """The commit of the checkout this package runs from (with '+dirty' for local changes), else None."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def cmd_train(args: argparse.Namespace, argv_of_run: list[str] | None = None) -> int:
    from dataclasses import asdict

    import torch

    from . import __version__
    from .data import label_rate_to_count, load_mnist
    from .train import Trainer, TrainConfig, atomic_write_json

    if args.labels is not None and args.label_rate is not None:
        raise UsageError("give --labels or --label-rate, not both")
    try:
        labels = label_rate_to_count(args.label_rate) if args.label_rate is not None else (args.labels or 100)
    except ValueError as exc:
        raise UsageError(str(exc))
    device = args.device or _default_device()
    cfg = TrainConfig(labels=labels, seed=args.seed, seeds=args.seeds, method=args.method, model=args.model,
                      epochs=args.epochs if args.epochs is not None else 300, steps=args.steps, lr=args.lr,
                      batch_size=args.batch_size, val_size=args.val_size, device=device, graph=args.graph,
                      ckpt_every=args.ckpt_every, hidden_scale=args.hidden_scale, adam_eps_place=args.adam_eps,
                      data_init=not args.no_data_init, recipe=args.recipe, lr_decay_epochs=args.lr_decay_epochs)
    cfg.validate()  # ConfigError -> one line before any file is touched
    out = Path(args.out or f"runs/{cfg.method}-{cfg.labels}-seed{cfg.seed}")
    ckpt = out / "checkpoint.pt"
    if args.resume and not ckpt.is_file():
        raise UsageError(f"--resume: no checkpoint at {ckpt}")
    if not args.resume and not args.overwrite and ckpt.exists():
        raise UsageError(f"{ckpt} exists: add --resume to continue it, --overwrite to start afresh, or choose another --out")
    _check_writable(out, create=False)
    data = load_mnist(device)  # DataNotFoundError -> one line
    trainer = Trainer(cfg, data=data, out_dir=out, progress=not args.quiet)
    if args.resume:
        trainer.load(ckpt)  # CheckpointError -> one line, nothing written
        print(f"resuming {ckpt} at step {trainer.step} of {trainer.total_steps}", file=sys.stderr)
    _check_writable(out, create=True)
    try:
        trainer.fit()
    except KeyboardInterrupt:
        where = f"; checkpoint saved to {ckpt}, continue with --resume" if ckpt.exists() else ""
        print(f"interrupted at step {trainer.step}{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    test_acc = trainer.evaluate("test")  # the recipe's D (cfg.eval_params), after the last step
    val_acc = trainer.evaluate("val") if cfg.val_size else None
    mean = sum(test_acc) / len(test_acc)
    metrics = {
        "test_accuracy": mean, "test_error": 100.0 * (1 - mean),
        "test_accuracy_per_seed": test_acc, "val_accuracy_per_seed": val_acc,
        "labels": cfg.labels, "seed": cfg.seed, "seeds": cfg.seeds, "method": cfg.method, "model": cfg.model,
        "steps": trainer.step, "epochs": trainer.step / trainer.steps_per_epoch,
        "wall_seconds": round(trainer.wall_seconds, 2), "device": str(device),
        "device_name": torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else "cpu",
        "evaluated": f"{'parameter-averaged' if cfg.eval_params == 'averaged' else 'raw'} D, noise off, last step "
                     "(the test set chose nothing)",
        "recipe": {"name": cfg.recipe, "hidden_scale": cfg.hidden_scale, "adam_eps_place": cfg.adam_eps_place,
                   "data_init": cfg.data_init, "lr": cfg.lr, "lr_decay_epochs": cfg.decay_epochs(),
                   "batch_size": cfg.batch_size},
        # everything needed to run it again: TrainConfig(**config) (ssgan_lib.train.config_from_dict)
        "config": asdict(cfg),
        "command": "python -m ssgan_lib " + shlex.join(sys.argv[1:] if argv_of_run is None else argv_of_run),
        "commit": _git_commit(),
        "ssgan_lib": __version__, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        # losses every log_every steps and validation accuracy of the averaged D every eval_every steps,
        # one value per seed: enough to plot the run without loading its checkpoint
        "history": trainer.history,
    }
    atomic_write_json(metrics, out / "metrics.json")
    print(f"test accuracy {100 * mean:.2f}% (error {metrics['test_error']:.2f}%) with {cfg.labels} labels after "
          f"{trainer.step} steps in {trainer.wall_seconds:.0f}s on {device}; wrote {out / 'metrics.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .data import DataNotFoundError
    from .train import CheckpointError, ConfigError, DivergenceError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        if args.command == "train":
            return cmd_train(args, argv)
        if args.command == "bench":
            from .bench import cmd_bench
            return cmd_bench(args)
        if args.command == "reproduce":
            from .reproduce import cmd_reproduce
            return cmd_reproduce(args)
    except (UsageError, ConfigError, CheckpointError, DataNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DivergenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last resort: still one line, unless debugging
        if os.environ.get("SSGAN_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              f"(set SSGAN_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return 0
