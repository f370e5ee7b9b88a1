"""Which details of the reference recipe matter: one switch at a time, compared on the validation split.

Each variant differs from the reference recipe (:class:`~ssgan_lib.config.TrainConfig`'s defaults) in exactly one
piece, the pieces that ports of the paper most often change:

* ``trainable-scales`` — D's hidden weight-norm scales trained (``torch.nn.utils.weight_norm`` does this);
  the reference sets them by the data-dependent init and then freezes them;
* ``adam-eps-outside`` — ``torch.optim.Adam``'s :math:`\\hat m/(\\sqrt{\\hat v}+\\epsilon)` instead of the
  reference's :math:`\\hat m/\\sqrt{\\hat v+\\epsilon}`;
* ``no-data-init`` — D's scales left at 1 and biases at 0 instead of the data-dependent init;
* ``all-three`` — the three changes together, roughly what a port built on PyTorch's defaults does.

Each variant is a set of :class:`~ssgan_lib.config.TrainConfig` overrides. ``python -m ssgan_lib variants ablation
--root DIR --collect FILE`` (``book/_tools/gpu_runs.sh``, ``STAGE=ablate``) trains every variant into
``DIR/<variant>`` (resuming one cut short, skipping one finished) and :func:`collect` gathers their
``metrics.json`` into one file that chapter 6 plots (:func:`ssgan_lib.evidence.records.val_curve` and
:func:`ssgan_lib.evidence.records.last_val` read each run). The comparison is on the **validation** split (5,000 training
images whose labels are never used); the test accuracy is stored as the runs report it, not used to rank anything.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .atomic import write_json

# name -> (what changes, the TrainConfig fields it sets)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "reference": ("the reference recipe", {}),
    "trainable-scales": ("hidden weight-norm scales trained", {"hidden_scale": "trainable"}),
    "adam-eps-outside": ("Adam's epsilon outside the sqrt (torch.optim.Adam)", {"adam_eps_place": "outside"}),
    "no-data-init": ("no data-dependent init", {"data_init": False}),
    "all-three": ("all three changed (as many ports do)",
                  {"hidden_scale": "trainable", "adam_eps_place": "outside", "data_init": False}),
}


def collect(run_root: str | Path, out: str | Path) -> dict[str, Any]:
    """Read ``run_root/<variant>/metrics.json`` for every variant that has one; write them to ``out`` (JSON).

    Raises ``FileNotFoundError`` naming the folder when no variant has finished.
    """
    run_root = Path(run_root)
    runs = {}
    for name, (what, overrides) in VARIANTS.items():
        f = run_root / name / "metrics.json"
        if f.is_file():
            m = json.loads(f.read_text())
            m["variant"], m["what"], m["overrides"] = name, what, overrides
            runs[name] = m
    if not runs:
        raise FileNotFoundError(f"no finished variant under {run_root} (expected {run_root}/<variant>/metrics.json)")
    result = {"variants": runs}
    write_json(result, Path(out))
    return result
