"""Which details of the reference recipe matter: one switch at a time, compared on the validation split.

Each variant differs from the reference recipe (:class:`~ssgan_lib.train.TrainConfig`'s defaults) in exactly one
piece, the pieces that ports of the paper most often change:

* ``trainable-scales`` — D's hidden weight-norm scales trained (``torch.nn.utils.weight_norm`` does this);
  the reference sets them by the data-dependent init and then freezes them;
* ``adam-eps-outside`` — ``torch.optim.Adam``'s :math:`\\hat m/(\\sqrt{\\hat v}+\\epsilon)` instead of the
  reference's :math:`\\hat m/\\sqrt{\\hat v+\\epsilon}`;
* ``no-data-init`` — D's scales left at 1 and biases at 0 instead of the data-dependent init;
* ``all-three`` — the three changes together, roughly what a port built on PyTorch's defaults does.

``python -m ssgan_lib train ... --out DIR`` writes one ``metrics.json`` per variant (``book/_tools/gpu_runs.sh``,
``STAGE=ablate``, runs them); :func:`collect` gathers them into one file that chapter 6 plots. The comparison
is on the **validation** split (5,000 training images whose labels are never used); the test accuracy is
stored as the runs report it, not used to rank anything.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .train import atomic_write_json

# name -> (what changes, the train command's extra flags)
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "reference": ("the reference recipe", []),
    "trainable-scales": ("hidden weight-norm scales trained", ["--hidden-scale", "trainable"]),
    "adam-eps-outside": ("Adam's epsilon outside the sqrt (torch.optim.Adam)", ["--adam-eps", "outside"]),
    "no-data-init": ("no data-dependent init", ["--no-data-init"]),
    "all-three": ("all three changed (as many ports do)",
                  ["--hidden-scale", "trainable", "--adam-eps", "outside", "--no-data-init"]),
}


def collect(run_root: str | Path, out: str | Path) -> dict[str, Any]:
    """Read ``run_root/<variant>/metrics.json`` for every variant that has one; write them to ``out`` (JSON).

    Raises ``FileNotFoundError`` naming the folder when no variant has finished.
    """
    run_root = Path(run_root)
    runs = {}
    for name, (what, flags) in VARIANTS.items():
        f = run_root / name / "metrics.json"
        if f.is_file():
            m = json.loads(f.read_text())
            m["variant"], m["what"], m["flags"] = name, what, flags
            runs[name] = m
    if not runs:
        raise FileNotFoundError(f"no finished variant under {run_root} (expected {run_root}/<variant>/metrics.json)")
    result = {"variants": runs}
    atomic_write_json(result, Path(out))
    return result


def val_curves(result: dict[str, Any]) -> dict[str, tuple[list[float], list[list[float]]]]:
    """Per variant: (epochs of the evaluations, validation accuracy in % per evaluation and seed)."""
    curves = {}
    for name, m in result["variants"].items():
        per_epoch = m["steps"] / m["epochs"]
        h = m["history"]
        curves[name] = ([s / per_epoch for s in h["eval_step"]], [[100 * a for a in v] for v in h["val_acc"]])
    return curves


def summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per variant: last validation accuracy (mean, min, max over seeds, %), seeds, epochs."""
    rows = []
    for name, (epochs, vals) in val_curves(result).items():
        last = vals[-1]
        rows.append({"variant": name, "what": result["variants"][name]["what"], "seeds": len(last),
                     "epochs": epochs[-1], "val_mean": sum(last) / len(last), "val_min": min(last),
                     "val_max": max(last)})
    return rows
