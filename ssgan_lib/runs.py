"""Writing a training run: :func:`train_run` trains a :class:`~ssgan_lib.config.TrainConfig` into a folder (its
checkpoint and its record ``metrics.json``, what ``python -m ssgan_lib train`` does); :func:`train_variants` trains
a set of named variants (config overrides, e.g. :data:`ssgan_lib.ablation.VARIANTS`) into one folder each, resuming
any cut short. The record (:func:`metrics_of`) holds the whole configuration, the command, the commit
(:func:`git_commit`), the machine (:func:`machine`: what float32 rounding depends on) and the history. Reading
stored records for the book is :mod:`ssgan_lib.evidence.records`.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable


def predictions_text(pred) -> list[str]:
    """Predicted classes (seeds, images) as one string of digits per seed: 5,000 predictions are 5,000 characters
    of a record (classes 0-9)."""
    return ["".join(map(str, row)) for row in pred.tolist()]


def git_commit() -> str | None:
    """The commit of the checkout this package runs from (with '+dirty' for local changes), else None."""
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


def machine(device: str = "cpu") -> dict[str, Any]:
    """What a float32 run's rounding depends on besides its config and commit: torch, its thread count, the CPU
    model and the GPU ``device`` names (None on CPU), Python. A re-run compares exactly only where these match."""
    import platform

    import torch

    from .config import device_name

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = device_name(device) if torch.device(device).type == "cuda" else None
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": cpu, "gpu": gpu,
            "python": platform.python_version()}


def metrics_of(trainer, command: str | None = None) -> dict[str, Any]:
    """The record of a finished run: test accuracy of the D its recipe evaluates (after the last step; the test
    set chose nothing), validation accuracy, length, device, wall time, the full config, command, commit, history."""
    from . import __version__
    from .config import device_name
    from .losses import accuracy

    cfg = trainer.cfg
    test_acc = trainer.evaluate("test")
    val_acc = val_pred = None
    if cfg.val_size:  # one pass over the validation split gives both
        pred, y = trainer.predict("val")
        val_acc, val_pred = accuracy(pred, y).tolist(), predictions_text(pred)
    mean = sum(test_acc) / len(test_acc)
    device = str(cfg.device)
    return {
        "test_accuracy": mean, "test_error": 100.0 * (1 - mean),
        "test_accuracy_per_seed": test_acc, "val_accuracy_per_seed": val_acc,
        # per seed, D's class for each validation image as one digit (in the order of the split): which digits it
        # mistakes (ssgan_lib.evidence.records.confusion)
        "val_predictions": val_pred,
        "labels": cfg.labels, "seed": cfg.seed, "seeds": cfg.seeds, "method": cfg.method, "model": cfg.model,
        "steps": trainer.step, "epochs": trainer.step / trainer.steps_per_epoch,
        "wall_seconds": round(trainer.wall_seconds, 2), "device": device,
        "device_name": device_name(device),
        "evaluated": f"{'parameter-averaged' if cfg.resolved.eval_params == 'averaged' else 'raw'} D, noise off, last step "
                     "(the test set chose nothing)",
        "recipe": {"name": cfg.recipe, "hidden_scale": cfg.hidden_scale, "adam_eps_place": cfg.adam_eps_place,
                   "data_init": cfg.data_init, "lr": cfg.resolved.lr, "lr_decay_epochs": cfg.decay_epochs(),
                   "batch_size": cfg.batch_size},
        # everything needed to run it again: TrainConfig(**config) (ssgan_lib.config.config_from_dict)
        "config": asdict(cfg),
        "command": command if command is not None else "python -m ssgan_lib " + shlex.join(sys.argv[1:]),
        "commit": git_commit(), "machine": machine(device),
        "ssgan_lib": __version__, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        # losses every log_every steps and validation accuracy of the averaged and raw D every eval_every steps,
        # one value per seed: enough to plot the run without loading its checkpoint
        "history": trainer.history,
    }


def train_run(cfg, out: str | Path, resume: bool = False, progress: bool = True, data=None,
              command: str | None = None, before_fit: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Train ``cfg`` into ``out``: checkpoints (``cfg.ckpt_every``, the end, Ctrl-C) in ``out/checkpoint.pt``,
    the record (:func:`metrics_of`) in ``out/metrics.json``; returns the record.

    ``resume``: continue ``out/checkpoint.pt`` (``CheckpointError`` when it is missing, corrupt or from another
    configuration; nothing is written then). ``before_fit(trainer)`` is called once the trainer is built (and its
    checkpoint loaded), before anything is written.
    """
    from .atomic import write_json
    from .data import load_mnist
    from .train import Trainer

    out = Path(out)
    trainer = Trainer(cfg, data=data if data is not None else load_mnist(cfg.device), out_dir=out, progress=progress)
    if resume:
        trainer.load(out / "checkpoint.pt")
    if before_fit is not None:
        before_fit(trainer)
    out.mkdir(parents=True, exist_ok=True)
    trainer.fit()
    metrics = metrics_of(trainer, command)
    write_json(metrics, out / "metrics.json")
    return metrics


def train_variants(variants: dict[str, tuple[str, dict[str, Any]]], root: str | Path, base: dict[str, Any],
                   progress: bool = True, data=None, log=print) -> list[str]:
    """Train each variant (name -> (what, TrainConfig overrides)) with ``base`` fields into ``root/<name>``.

    A variant with a ``metrics.json`` is done and skipped; one with only a checkpoint (cut short) continues it. So
    a time-limited job runs the same call again until everything is done. Returns the names trained now.
    """
    from .config import TrainConfig

    trained = []
    for name, (what, overrides) in variants.items():
        out = Path(root) / name
        if (out / "metrics.json").is_file():
            continue
        cfg = TrainConfig(**{**base, **overrides})
        cfg.validate()
        resume = (out / "checkpoint.pt").is_file()
        log(f"{name}: {what}{' (resuming)' if resume else ''}")
        m = train_run(cfg, out, resume=resume, progress=progress, data=data,
                      command=f"ssgan_lib.runs.train_variants: {name} {json.dumps({**base, **overrides})}")
        log(f"{name}: test accuracy {100 * m['test_accuracy']:.2f}% after {m['steps']} steps")
        trained.append(name)
    return trained


# ----------------------------------------------------------------------------------------------
# Trained networks: the evaluated D and G of a run, small enough to ship
# ----------------------------------------------------------------------------------------------
TRAINED_FORMAT = "ssgan_lib.trained.v1"


class TrainedModelError(ValueError):
    """A trained-model file that cannot be used: missing, not one, changed since its checksum, or of other shapes.
    The message is one line that says which and what to do."""


def sha256_of(path: str | Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export_trained(trainer, path: str | Path, run: int = 0, dtype=None) -> dict[str, Any]:
    """Write run ``run`` of ``trainer`` (a :class:`~ssgan_lib.train.Trainer`) as the networks a reader loads: the D
    its recipe evaluates (the bias-corrected parameter average, or the raw D) and G, as ``dtype`` (default
    float16: half the bytes; :func:`load_trained` returns float32), with the configuration and the step. Atomic;
    returns ``{"file", "sha256", "bytes"}`` for a manifest that :func:`load_trained` checks against."""
    import torch

    from .atomic import torch_save

    dtype = dtype or torch.float16
    D = trainer.sync_eval() if trainer.cfg.resolved.eval_params == "averaged" else trainer.D

    def one_run(module) -> dict[str, Any]:
        return {k: v[run:run + 1].detach().to("cpu", dtype if v.is_floating_point() else v.dtype).clone()
                for k, v in module.state_dict().items()}

    cfg = asdict(trainer.cfg)
    cfg.update(seed=trainer.cfg.seed + run, seeds=1, device="cpu")
    state = {"format": TRAINED_FORMAT, "config": cfg, "step": trainer.step,
             "epochs": trainer.step / trainer.steps_per_epoch, "D": one_run(D),
             "G": one_run(trainer.G) if trainer.G is not None else None}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch_save(state, path)
    return {"file": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size}


def load_trained(path: str | Path, sha256: str | None = None, device: str = "cpu"):
    """The networks of :func:`export_trained`: ``(D, G, info)``, float32 on ``device``, D ready for ``D(x,
    train=False)`` (``x`` of shape (1, B, 784)), ``info`` the file's configuration, step and epochs.

    ``sha256`` (e.g. from the manifest the file came with): the file must have it. Every failure is a
    :class:`TrainedModelError` with a one-line message: no file, not a trained-model file, a checksum that differs
    (the file changed or was cut short), or a tensor whose shape does not fit the model its configuration builds.
    """
    import torch

    from .config import ConfigError, config_from_dict
    from .train import build_models

    path = Path(path)
    if not path.is_file():
        raise TrainedModelError(f"no trained-model file at {path}")
    if sha256 is not None:
        got = sha256_of(path)
        if got != sha256:
            raise TrainedModelError(f"{path.name}: checksum {got[:12]}… is not the expected {sha256[:12]}… (the file "
                                    "changed or was cut short: reinstall the package or fetch the file again)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrainedModelError(f"{path.name} is not a readable trained-model file ({type(exc).__name__})") from exc
    if not isinstance(state, dict) or state.get("format") != TRAINED_FORMAT:
        raise TrainedModelError(f"{path.name} is not an ssgan_lib trained-model file (format {TRAINED_FORMAT} expected)")
    try:
        cfg = config_from_dict(state["config"])
    except (ConfigError, TypeError, KeyError) as exc:
        raise TrainedModelError(f"{path.name} holds a bad configuration: {exc}") from exc
    D, G = build_models(cfg)
    for name, module, saved in (("D", D, state["D"]), ("G", G, state["G"])):
        if module is None:
            continue
        want = module.state_dict()
        if saved is None or set(saved) != set(want):
            missing = sorted(set(want) - set(saved or {})) or sorted(set(saved or {}) - set(want))
            raise TrainedModelError(f"{path.name}: {name} does not fit this model (tensors differ: {', '.join(missing)})")
        for k, v in saved.items():
            if tuple(v.shape) != tuple(want[k].shape):
                raise TrainedModelError(f"{path.name}: {name}.{k} has shape {tuple(v.shape)}, the model's is "
                                        f"{tuple(want[k].shape)}")
        module.load_state_dict({k: v.to(want[k].dtype) for k, v in saved.items()})
        module.to(device).eval()
    info = {"config": cfg, "step": state["step"], "epochs": state["epochs"]}
    return D, G, info
