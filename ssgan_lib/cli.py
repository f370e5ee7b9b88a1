"""Command line: ``python -m ssgan_lib {train,variants,bench,reproduce} ...``: the top layer (it imports the
library; nothing in the library imports it). The flags of ``train`` and ``variants`` are derived from
:class:`~ssgan_lib.config.TrainConfig`'s fields: one flag per field, the field's comment as its help, its default.

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


# Flags of TrainConfig's fields: --field-name, the field's comment as help, TrainConfig's default (the CLI states
# none of its own; a device not named is this machine's, config.default_device). Numbers must be positive unless
# zero means something (ZERO_OK).
FLAG_NAMES = {"adam_eps_place": "--adam-eps", "adam_eps": "--adam-epsilon"}  # --adam-eps inside|outside (ablation)
ZERO_OK = {"seed", "data_seed", "val_size", "ckpt_every", "eval_every", "lr_decay_epochs", "unlabeled_weight",
           "sigma_in", "sigma_hidden", "avg_decay", "beta1", "beta2"}
DEVICE_HELP = "cuda if available, else cpu"


def flag_of(name: str) -> str:
    """The command-line flag of the TrainConfig field ``name``."""
    return FLAG_NAMES.get(name, "--" + name.replace("_", "-"))


def add_config_args(p: argparse.ArgumentParser) -> None:
    """One flag per :class:`~ssgan_lib.config.TrainConfig` field; a flag not given stays out of the parsed
    namespace (:func:`config_overrides` collects those given)."""
    from dataclasses import MISSING, fields

    from .config import RECIPE_FIELDS, TrainConfig, field_help

    helps = field_help(TrainConfig)
    g = p.add_argument_group("training configuration (TrainConfig's fields; the defaults are the reference recipe)")
    steps_or_epochs = g.add_mutually_exclusive_group()
    for f in fields(TrainConfig):
        if not f.init:  # resolved: derived from the others
            continue
        flag, kind = flag_of(f.name), str(f.type).replace(" | None", "")
        default = f.default if f.default is not MISSING else None
        shown = DEVICE_HELP if f.name == "device" else "the recipe's" if default is None and f.name in RECIPE_FIELDS \
            else default
        kw: dict = {"dest": f.name, "default": argparse.SUPPRESS,
                    "help": f"{helps[f.name]} (default: {shown})".replace("%", "%%")}
        if kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif kind in ("int", "float"):
            kw["type"] = _number(int if kind == "int" else float, flag, allow_zero=f.name in ZERO_OK)
            kw["metavar"] = "N" if kind == "int" else "X"
        else:
            kw["metavar"] = f.name.upper()
        (steps_or_epochs if f.name in ("steps", "epochs") else g).add_argument(flag, **kw)


def config_overrides(args: argparse.Namespace) -> dict:
    """The TrainConfig fields given on the command line, ``device`` this machine's when not given."""
    from dataclasses import fields

    from .config import TrainConfig, default_device

    out = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.init and hasattr(args, f.name)}
    out["device"] = out.get("device") or default_device()
    return out


def build_parser() -> argparse.ArgumentParser:
    top = _Parser(prog="python -m ssgan_lib", description="Semi-supervised GANs on MNIST.")
    sub = top.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train one SSGAN (or supervised baseline) and report test accuracy")
    t.add_argument("--label-rate", type=_number(float, "--label-rate"), default=None,
                   help="fraction of the 60,000 training labels instead of --labels, e.g. 0.2")
    t.add_argument("--out", default=None, help="output folder (default runs/<method>-<labels>-seed<seed>)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--overwrite", action="store_true", help="start afresh even if OUT holds a checkpoint")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_args(t)

    v = sub.add_parser("variants", help="train named variants of the recipe (config overrides), each in its folder")
    v.add_argument("group", help="ablation (ssgan_lib.ablation.VARIANTS) or recipe (ssgan_lib.recipes.STUDY)")
    v.add_argument("--root", required=True, help="one folder per variant under it; finished ones are skipped, "
                                                 "one cut short continues")
    v.add_argument("--collect", default=None, help="ablation: gather the finished variants into this JSON file")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_args(v)

    b = sub.add_parser("bench", help="time the plain loop against the library's loop")
    b.add_argument("--steps", type=_number(int, "--steps"), default=None, help="timed steps (default: 300 on GPU, 30 on CPU)")
    b.add_argument("--seeds", type=_number(int, "--seeds"), default=1, help="seeds for the parallel measurement")
    b.add_argument("--device", default=None, help=f"cpu, cuda or cuda:N (default: {DEVICE_HELP})")

    r = sub.add_parser("reproduce", help="the paper's MNIST table and the label-rate study")
    r.add_argument("--labels", default=None, help="comma-separated label counts (default 20,50,100,200,500,1000,3000,60000)")
    r.add_argument("--label-rate", type=_number(float, "--label-rate"), default=None, help="add a labelled rate, e.g. 0.2")
    r.add_argument("--seeds", type=_number(int, "--seeds"), default=10)
    r.add_argument("--epochs", type=_number(float, "--epochs"), default=None, help="epochs per run (default: TrainConfig's)")
    r.add_argument("--supervised-epochs", type=_number(float, "--supervised-epochs"), default=None,
                   help="epochs of the supervised-only runs (default: --epochs)")
    r.add_argument("--recipe", default=None, help="final or paper-2016-06 (default: TrainConfig's; see ssgan_lib.recipes)")
    r.add_argument("--steps", type=_number(int, "--steps"), default=None, help="steps per run instead of epochs (tiny checks)")
    r.add_argument("--methods", default="ssgan-fm,supervised")
    r.add_argument("--out", default="book/results/label_rate_mnist.csv")
    r.add_argument("--device", default=None, help=f"cpu, cuda or cuda:N (default: {DEVICE_HELP})")
    r.add_argument("--quiet", action="store_true")
    return top


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


def cmd_train(args: argparse.Namespace, argv_of_run: list[str] | None = None) -> int:
    from .config import TrainConfig, check_device
    from .data import label_rate_to_count, load_mnist
    from .runs import train_run

    if hasattr(args, "labels") and args.label_rate is not None:
        raise UsageError("give --labels or --label-rate, not both")
    overrides = config_overrides(args)
    if args.label_rate is not None:
        try:
            overrides["labels"] = label_rate_to_count(args.label_rate)
        except ValueError as exc:
            raise UsageError(str(exc))
    cfg = TrainConfig(**overrides)  # checked as it is made: ConfigError -> one line before any file is touched
    check_device(cfg.device)
    out = Path(args.out or f"runs/{cfg.method}-{cfg.labels}-seed{cfg.seed}")
    ckpt = out / "checkpoint.pt"
    if args.resume and not ckpt.is_file():
        raise UsageError(f"--resume: no checkpoint at {ckpt}")
    if not args.resume and not args.overwrite and ckpt.exists():
        raise UsageError(f"{ckpt} exists: add --resume to continue it, --overwrite to start afresh, or choose another --out")
    _check_writable(out, create=False)
    data = load_mnist(cfg.device)  # DataNotFoundError -> one line
    trainers = []

    def before_fit(trainer) -> None:  # built, its checkpoint loaded (CheckpointError -> one line, nothing written)
        trainers.append(trainer)
        if args.resume:
            print(f"resuming {ckpt} at step {trainer.step} of {trainer.total_steps}", file=sys.stderr)
        _check_writable(out, create=True)

    command = "python -m ssgan_lib " + shlex.join(sys.argv[1:] if argv_of_run is None else argv_of_run)
    try:
        m = train_run(cfg, out, resume=args.resume, progress=not args.quiet, data=data, command=command,
                      before_fit=before_fit)
    except KeyboardInterrupt:
        if not trainers:
            raise
        where = f"; checkpoint saved to {ckpt}, continue with --resume" if ckpt.exists() else ""
        print(f"interrupted at step {trainers[0].step}{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"test accuracy {100 * m['test_accuracy']:.2f}% (error {m['test_error']:.2f}%) with {cfg.labels} labels "
          f"after {m['steps']} steps in {m['wall_seconds']:.0f}s on {cfg.device}; wrote {out / 'metrics.json'}")
    return 0


def cmd_variants(args: argparse.Namespace) -> int:
    from .ablation import VARIANTS, collect
    from .config import TrainConfig
    from .recipes import STUDY
    from .runs import train_variants

    groups = {"ablation": VARIANTS, "recipe": STUDY}
    if args.group not in groups:
        raise UsageError(f"unknown group {args.group!r}; choose one of {', '.join(groups)}")
    if args.collect and args.group != "ablation":
        raise UsageError("--collect gathers the ablation group only")
    base = config_overrides(args)
    for _, overrides in groups[args.group].values():
        TrainConfig(**{**base, **overrides})  # every variant's config is checked before anything trains
    root = Path(args.root)
    _check_writable(root, create=True)
    try:
        train_variants(groups[args.group], root, base, progress=not args.quiet,
                       log=lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        print(f"interrupted; the variant in progress is checkpointed under {root}: run the same command again "
              f"to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.collect:
        collect(root, args.collect)
        print(f"wrote {args.collect}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench
    from .config import check_device

    if args.device:
        check_device(args.device)
    run_bench(args.device, args.steps, args.seeds)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .config import TrainConfig, check_device, default_device
    from .data import label_rate_to_count
    from .recipes import RECIPES
    from .reproduce import DEFAULT_LABELS, run_sweep

    try:
        labels = [int(x) for x in args.labels.split(",")] if args.labels else list(DEFAULT_LABELS)
    except ValueError:
        raise UsageError(f"--labels must be comma-separated whole numbers, got {args.labels!r}")
    if args.label_rate is not None:
        try:
            labels.append(label_rate_to_count(args.label_rate))
        except ValueError as exc:
            raise UsageError(str(exc))
    for n in labels:
        if n <= 0 or n % 10 or n > 60000:
            raise UsageError(f"label counts must be positive multiples of 10 up to 60000, got {n}")
    recipe = args.recipe or TrainConfig.recipe
    if recipe not in RECIPES:
        raise UsageError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in ("ssgan-fm", "supervised"):
            raise UsageError(f"unknown method {m!r} (ssgan-fm, supervised)")
    device = args.device or default_device()
    check_device(device)
    out = Path(args.out)
    _check_writable(out.parent, create=False)
    try:
        run_sweep(sorted(set(labels)), methods, args.seeds, args.epochs, out, device, steps=args.steps,
                  progress=not args.quiet, recipe=recipe, supervised_epochs=args.supervised_epochs)
    except KeyboardInterrupt:
        print(f"interrupted; finished groups are in {out}, the group in progress is checkpointed: "
              f"run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def main(argv: list[str] | None = None) -> int:
    from .config import ConfigError
    from .data import DataNotFoundError
    from .engine import DivergenceError, keep_freed_memory
    from .train import CheckpointError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        keep_freed_memory()  # this process is ours: large temporaries are reused, not faulted in anew each step
        if args.command == "train":
            return cmd_train(args, argv)
        if args.command == "variants":
            return cmd_variants(args)
        if args.command == "bench":
            return cmd_bench(args)
        if args.command == "reproduce":
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
