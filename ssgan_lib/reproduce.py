"""``python -m ssgan_lib reproduce``: the paper's MNIST table and the label-rate study.

For every label count and method (``ssgan-fm``: the feature-matching SSGAN; ``supervised``: the same
D on the same labels, no GAN), ``seeds`` runs train side by side (the seed axis): run ``s`` uses seed
``s + 1`` for its weights, its noise and its class-balanced labelled subset. Protocol of Salimans et
al.: the labelled subset is drawn from all 60,000 training images (no validation split: nothing is
tuned here), the unlabelled pool is all 60,000, and each run's test error is measured once, after its
last step, with the D its recipe evaluates (``--recipe``, :mod:`ssgan_lib.recipes`). Rows go to a CSV
``method,labels,seed,test_error,epochs,recipe,device,commit`` (error in percent), written atomically after each
group; the group in progress checkpoints every epoch, so an
interrupted sweep (Ctrl-C, a lost session, a time-limited job) resumes where it stopped when the same
command runs again. A metadata JSON beside the CSV keeps, per group, its full configuration, wall time and
history (the losses every ``log_every`` steps), so every row can be run again from its record.
"""
from __future__ import annotations

import csv
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch

from . import __version__
from .atomic import atomic_path, write_json
from .config import device_name
from .data import load_mnist
from .runs import git_commit, machine
from .train import CheckpointError, Trainer
from .config import TrainConfig

DEFAULT_LABELS = (20, 50, 100, 200, 500, 1000, 3000, 60000)
FIELDS = ("method", "labels", "seed", "test_error", "epochs", "recipe", "device", "commit")


def read_rows(path: Path) -> list[dict]:
    """Rows of a results CSV (empty list if the file does not exist)."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if set(FIELDS) - set(r):
            raise ValueError(f"{path} is not a results file (columns {list(r)})")
        r["labels"], r["seed"], r["test_error"] = int(r["labels"]), int(r["seed"]), float(r["test_error"])
        r["epochs"] = float(r["epochs"]) if r["epochs"] else None
        for k in ("recipe", "device", "commit"):
            r[k] = r[k] or None
    return rows


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in sorted(rows, key=lambda r: (r["method"], r["labels"], r["seed"])):
            w.writerow({k: _cell(k, r.get(k)) for k in FIELDS})


def _cell(key: str, value) -> str:
    if value is None:
        return ""
    if key == "test_error":
        return f"{value:.4f}"
    if key == "epochs":
        return f"{value:g}"
    return str(value)


def _wall_total(meta: dict) -> float:
    """Seconds of training of every group in a sweep's metadata."""
    return round(sum(g["wall_seconds"] for g in meta["groups"].values()), 1)


def partial_dir(out: Path, method: str, labels: int) -> Path:
    """Where the group (``method``, ``labels``) keeps its checkpoint while it trains (removed when done)."""
    return out.with_name(f"{out.stem}.partial") / f"{method}-{labels}"


def run_sweep(labels: list[int], methods: list[str], seeds: int, epochs: float | None, out: Path,
              device: str, steps: int | None = None, progress: bool = True, data=None,
              ckpt_every: int | None = None, recipe: str = "final", supervised_epochs: float | None = None
              ) -> list[dict]:
    """Run every (method, labels) group not yet complete in ``out``; return all rows.

    A finished group is a set of CSV rows and is never trained again. A group in progress writes a
    checkpoint every ``ckpt_every`` steps (None: TrainConfig's, every epoch; and on Ctrl-C) under ``partial_dir``:
    running the same
    sweep again continues it from there, bit-identical on CPU, so a sweep survives a lost Colab
    session or a time-limited job. The partial checkpoint is deleted once the group's rows are written.
    """
    rows = read_rows(out)
    data = data if data is not None else load_mnist(device)
    meta_path = out.with_suffix(".meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"groups": {}}
    t_start = time.perf_counter()
    for method in methods:
        for n in labels:
            have = {r["seed"] for r in rows if r["method"] == method and r["labels"] == n}
            if have >= set(range(1, seeds + 1)):
                continue  # done in an earlier (interrupted) sweep
            ep = epochs or TrainConfig.epochs  # None: TrainConfig's default
            ep = (supervised_epochs or ep) if method == "supervised" else ep
            cfg = TrainConfig(labels=n, seed=1, seeds=seeds, method=method, epochs=ep, steps=steps, recipe=recipe,
                              val_size=0, eval_every=0, ckpt_every=ckpt_every, device=device)
            part = partial_dir(out, method, n)
            tr = Trainer(cfg, data=data, out_dir=part, progress=progress)
            try:
                resumed = tr.resume_saved()
            except CheckpointError as exc:
                raise CheckpointError(f"{exc}; it belongs to an earlier sweep with other settings: run that "
                                      f"sweep again, or delete {part} to start this group afresh") from exc
            if resumed:
                print(f"{method:>10} {n:>6} labels: resuming at step {tr.step} of {tr.total_steps}", flush=True)
            tr.fit()
            errs = [100.0 * (1 - a) for a in tr.evaluate("test")]
            rows = [r for r in rows if not (r["method"] == method and r["labels"] == n)]
            commit = git_commit()
            rows += [{"method": method, "labels": n, "seed": s + 1, "test_error": e,
                      "epochs": round(tr.step / tr.steps_per_epoch, 4), "recipe": recipe, "device": device,
                      "commit": commit} for s, e in enumerate(errs)]
            write_rows(out, rows)
            meta["groups"][f"{method}/{n}"] = {"wall_seconds": round(tr.wall_seconds, 1), "steps": tr.step,
                                               "config": asdict(cfg), "commit": commit, "machine": machine(device),
                                               "history": tr.history}
            meta.update({"commit": commit, "device": device,
                         "device_name": device_name(device),
                         "seeds": seeds, "ssgan_lib": __version__, "torch": torch.__version__,
                         "wall_seconds_total": _wall_total(meta),
                         "protocol": "labelled subset from all 60,000 training images, class-balanced, seed s "
                                     "for run s; unlabelled pool all 60,000; test error of the D the recipe "
                                     "evaluates, after the last step; no validation split, nothing tuned"})
            write_json(meta, meta_path)
            shutil.rmtree(part, ignore_errors=True)
            if part.parent.is_dir() and not any(part.parent.iterdir()):
                part.parent.rmdir()
            mean = sum(errs) / len(errs)
            print(f"{method:>10} {n:>6} labels: test error {mean:.2f}% over {len(errs)} seeds "
                  f"({tr.wall_seconds:.0f}s)", flush=True)
    print(f"sweep done in {time.perf_counter() - t_start:.0f}s; results in {out}")
    return rows


def merge_sweeps(sources: list[Path], out: Path) -> list[dict]:
    """Combine the CSVs (and metadata JSONs beside them) of sweeps run apart, e.g. one label count per job, into
    ``out`` and its metadata. A (method, labels) group found in several sources is taken from the last one;
    ``out`` itself may be among the sources, so results stored earlier are kept. Lengths (``steps``, the config's
    ``epochs``) are per group only: groups of one sweep may differ in length. Returns the combined rows."""
    rows: dict[tuple[str, int], list[dict]] = {}
    meta: dict = {"groups": {}}
    for src in map(Path, sources):
        fresh: dict[tuple[str, int], list[dict]] = {}
        for r in read_rows(src):
            fresh.setdefault((r["method"], r["labels"]), []).append(r)
        rows.update(fresh)
        m_path = src.with_suffix(".meta.json")
        if m_path.exists():
            m = json.loads(m_path.read_text())
            meta["groups"].update(m.pop("groups", {}))
            meta.update(m)
    meta["wall_seconds_total"] = _wall_total(meta)
    merged = [r for group in rows.values() for r in group]
    write_rows(out, merged)
    write_json(meta, out.with_suffix(".meta.json"))
    return merged
