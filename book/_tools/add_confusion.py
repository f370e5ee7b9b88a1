"""Add the validation confusion matrices to a stored run that was trained before records carried them.

    python book/_tools/add_confusion.py book/results/seed_vs_subset/subset-1.json /work/campaign/runs/subset-1

Runs stored since ``val_confusion`` exists have it from ``metrics_of``. For an older one, this loads the run's own
final checkpoint (``<run dir>/checkpoint.pt``, written after its last step) into a Trainer built from the record's
config, counts the validation images by (true class, class of the averaged D) per seed, and writes the record
again with ``val_confusion`` added and nothing else changed. Before writing it checks that the checkpoint is the
record's run: the same config, the same number of steps, and a confusion whose diagonal gives exactly the
record's validation accuracy per seed. The test set plays no part.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from ssgan_lib.atomic import write_json
from ssgan_lib.runs import git_commit
from ssgan_lib.train import Trainer, config_from_dict


def add_confusion(record_path: Path, run_dir: Path) -> list[list[list[int]]]:
    record = json.loads(record_path.read_text())
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=False)
    if state["config"] != record["config"] or state["step"] != record["steps"]:
        raise SystemExit(f"error: {run_dir}/checkpoint.pt is not the finished run of {record_path}")
    cfg = config_from_dict(record["config"])
    cfg.device = "cpu"
    tr = Trainer(cfg, progress=False)
    tr.load(run_dir / "checkpoint.pt")
    conf = tr.confusion("val", params="averaged")
    diag = torch.tensor(conf).diagonal(dim1=1, dim2=2).sum(-1).float()
    acc = (diag / len(tr.val_idx)).tolist()  # as Trainer.evaluate computes it (float32)
    if acc != record["val_accuracy_per_seed"]:
        raise SystemExit(f"error: accuracy from the confusion {acc} is not the record's "
                         f"{record['val_accuracy_per_seed']}")
    record["val_confusion"] = conf
    record["val_confusion_from"] = (f"book/_tools/add_confusion.py at {git_commit()}, from the run's final "
                                    "checkpoint (averaged D, validation split)")
    write_json(record, record_path)
    return conf


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    add_confusion(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"added val_confusion to {sys.argv[1]}")
