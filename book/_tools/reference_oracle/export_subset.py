"""Write the library's labelled subset and validation split for (labels, seed) as an npz for ``run_full.py``.

Runs in the library's environment. "Subset s" is what ``Trainer(TrainConfig(labels=L, seed=s, seeds=1))`` picks
(the headline's run s at 100 labels, ``book/results/labels_20/seed{s}.json`` at 20): its labelled indices and its
5,000 validation indices, both into the unpermuted 60,000 training images. Layout (as
``/work/shared/reference-runs/subset1/lib_subset1.npz``): ``lab_idx``, ``lab_y``, ``x_lab`` (float32), ``val_idx``,
``val_y``, ``test_y``, plus ``labels``, ``seed``, ``val_size``.

    .venv/bin/python book/_tools/reference_oracle/export_subset.py --labels 100 --seed 1 \\
        --out /work/campaign/ref/subsets/labels100-subset1.npz
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def export(labels: int, seed: int, out: Path) -> dict:
    from ssgan_lib.config import TrainConfig
    from ssgan_lib.train import Trainer

    tr = Trainer(TrainConfig(labels=labels, seed=seed, seeds=1, device="cpu", recipe="final"), progress=False)
    lab = tr.lab_idx.cpu().numpy()
    assert lab.shape == (1, labels), lab.shape
    lab = lab[0].astype(np.int64)
    val = tr.val_idx.cpu().numpy().astype(np.int64)
    ty = tr.data.train_y.cpu().numpy().astype(np.int64)
    tx = tr.data.train_x.cpu().numpy().reshape(len(ty), -1).astype(np.float32)
    lab_y = ty[lab]
    # class-balanced, distinct, and never a validation image
    assert np.array_equal(np.bincount(lab_y, minlength=10), np.full(10, labels // 10)), np.bincount(lab_y)
    assert len(np.unique(lab)) == labels and not np.intersect1d(lab, val).size
    assert len(val) == tr.cfg.val_size == 5000 and len(np.unique(val)) == 5000
    d = {"lab_idx": lab, "lab_y": lab_y, "x_lab": tx[lab], "val_idx": val, "val_y": ty[val],
         "test_y": tr.data.test_y.cpu().numpy().astype(np.int64),
         "labels": np.int64(labels), "seed": np.int64(seed), "val_size": np.int64(len(val))}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **d)
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    d = export(a.labels, a.seed, Path(a.out))
    print(f"{a.out}: {a.labels} labels, subset {a.seed}, lab_idx[:10] {d['lab_idx'][:10].tolist()}, "
          f"per class {np.bincount(d['lab_y']).tolist()}, {len(d['val_idx'])} validation images")


if __name__ == "__main__":
    main()
