"""Stored training runs: read a ``metrics.json`` of ``python -m ssgan_lib train`` and turn its history into curves.

A stored run holds its configuration (``config``, a :class:`~ssgan_lib.train.TrainConfig` as a dict), the command,
commit, device, wall time, and its history: losses every ``log_every`` steps and the validation accuracy of the
averaged D (``val_acc``) and of the raw D (``val_acc_raw``, runs since the recipes were named) every
``eval_every`` steps, one value per seed. These helpers only reshape what is stored; they compute nothing new.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any


def load_run(path: str | Path) -> dict[str, Any]:
    """The stored record; ``FileNotFoundError`` naming the path when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no stored run at {path}")
    return json.loads(path.read_text())


def steps_per_epoch(run: dict[str, Any]) -> float:
    return run["steps"] / run["epochs"]


def val_curve(run: dict[str, Any], which: str = "averaged") -> tuple[list[float], list[list[float]]]:
    """(epochs of the evaluations, validation accuracy in % per evaluation and seed) of the averaged or raw D."""
    key = {"averaged": "val_acc", "raw": "val_acc_raw"}[which]
    h = run["history"]
    if not h.get(key):
        raise KeyError(f"this run stored no validation accuracy of the {which} D ({key})")
    per = steps_per_epoch(run)
    return [s / per for s in h["eval_step"]], [[100 * a for a in v] for v in h[key]]


def epoch_means(run: dict[str, Any], key: str) -> tuple[list[int], list[list[float]]]:
    """A logged quantity (``loss_lab``, ``loss_unl``, ``loss_g``, ``train_acc``) averaged over each epoch, per seed."""
    h, per = run["history"], steps_per_epoch(run)
    buckets: dict[int, list[list[float]]] = {}
    for step, vals in zip(h["step"], h[key]):
        buckets.setdefault(int((step - 1) // per) + 1, []).append(vals)
    epochs = sorted(buckets)
    return epochs, [[statistics.fmean(col) for col in zip(*buckets[e])] for e in epochs]


def seed_mean(values: list[list[float]]) -> list[float]:
    """Mean over seeds of each row (a row = one evaluation, one value per seed)."""
    return [statistics.fmean(v) for v in values]


def last_val(run: dict[str, Any], which: str = "averaged") -> dict[str, float]:
    """The last validation accuracy (%): mean, std (0 for one seed), min and max over seeds, and the epoch."""
    epochs, vals = val_curve(run, which)
    last = vals[-1]
    return {"epoch": epochs[-1], "mean": statistics.fmean(last),
            "std": statistics.stdev(last) if len(last) > 1 else 0.0, "min": min(last), "max": max(last),
            "seeds": len(last)}
