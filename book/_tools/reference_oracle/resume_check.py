"""Compare the checkpoints and records of run_full.py runs bit for bit (numpy only; either env).

    python resume_check.py DIR_A DIR_B [DIR_C ...]

Every array of ``ckpt.npz`` (all shared variables, RandomStates, MRG host states, permutations, predictions; not
``segments``, which says when each process started) must be equal with ``np.array_equal``, and every per-epoch
number of the history equal exactly (wall times aside).
Exits 1 on any difference.
"""
from __future__ import annotations

import json
import sys

import numpy as np

TIMES = ("seconds_train", "seconds_measure", "seconds_checkpoint")


def main() -> int:
    dirs = sys.argv[1:]
    ref = np.load(f"{dirs[0]}/ckpt.npz")
    ref_hist = json.loads(str(ref["history"]))
    bad = 0
    for d in dirs[1:]:
        c = np.load(f"{d}/ckpt.npz")
        assert sorted(c.files) == sorted(ref.files), (d, set(c.files) ^ set(ref.files))
        n_diff = [k for k in ref.files if k not in ("history", "segments") and not np.array_equal(ref[k], c[k])]
        hist = json.loads(str(c["history"]))
        h_diff = [(e["epoch"], k) for e, f in zip(ref_hist, hist) for k in e if k not in TIMES and e[k] != f[k]]
        if len(hist) != len(ref_hist):
            h_diff.append(("epochs", len(ref_hist), len(hist)))
        n_shared = sum(k.startswith("shared_") for k in ref.files) - 1
        print(f"{d} vs {dirs[0]}: {len(ref.files)} arrays ({n_shared} shared variables), epoch {int(c['epoch'])}: "
              f"{len(n_diff)} differ {n_diff[:5]}; history {len(hist)} epochs, {len(h_diff)} numbers differ {h_diff[:5]}")
        bad += bool(n_diff or h_diff)
    for e in ref_hist:
        print("  ", {k: v for k, v in e.items() if not k.startswith(("confusion", "seconds"))})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
