"""Add the validation predictions to a stored run that was trained before records carried them.

    python book/_tools/add_predictions.py book/results/seed_vs_subset/subset-1.json /work/campaign/runs/subset-1

Runs stored since ``val_predictions`` exists have it from ``metrics_of``: per seed, the class the evaluated
(averaged) D gives each validation image, in the order of the split, so that a chapter can show which digits a
run mistakes (``ssgan_lib.evidence.records.confusion``). For an older run, this loads its own final checkpoint
(``<run dir>/checkpoint.pt``, written after its last step) into a Trainer built from the record's config and
writes the record again with ``val_predictions`` added and nothing else changed. Before writing it checks that
the checkpoint is the record's run: the same config, the same number of steps, and predictions that give exactly
the record's validation accuracy per seed. The test set plays no part.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import torch

from ssgan_lib.atomic import write_json
from ssgan_lib.runs import git_commit, predictions_text
from ssgan_lib.train import Trainer
from ssgan_lib.losses import accuracy
from ssgan_lib.config import config_from_dict


def add_predictions(record_path: Path, run_dir: Path) -> None:
    record = json.loads(record_path.read_text())
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=False)
    if state["config"] != record["config"] or state["step"] != record["steps"]:
        raise SystemExit(f"error: {run_dir}/checkpoint.pt is not the finished run of {record_path}")
    cfg = dataclasses.replace(config_from_dict(record["config"]), device="cpu")
    tr = Trainer(cfg, progress=False)
    tr.load(run_dir / "checkpoint.pt")
    pred, y = tr.predict("val", params=cfg.resolved.eval_params)
    acc = accuracy(pred, y).tolist()
    if acc != record["val_accuracy_per_seed"]:
        raise SystemExit(f"error: the predictions give accuracy {acc}, the record "
                         f"{record['val_accuracy_per_seed']}")
    record["val_predictions"] = predictions_text(pred)
    record["val_predictions_from"] = (f"book/_tools/add_predictions.py at {git_commit()}, from the run's final "
                                      "checkpoint")
    write_json(record, record_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    add_predictions(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"added val_predictions to {sys.argv[1]}")
