"""Shrink a ``run_reference.py`` dump into the small JSON file the tests read.

    python export_json.py /work/oracle/ref_final_f64 ../../../tests/data/reference_oracle_final.json

Keeps: per-step losses (all steps), per-step L2 norms of every parameter and D average (every step up to 30,
then every 25th), and a few entries of every tensor (fixed flat indices) after the DDI, of the step-1
gradients and at the checkpoints 1, 2, 5, 10, 50, 100, 500 (parameters, D averages, Adam moments).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

N_SAMPLES = 6


def norm_steps(n: int) -> list[int]:
    return [t for t in range(1, n + 1) if t <= 30 or t % 25 == 0]


def sample_idx(name: str, size: int) -> list[int]:
    """Fixed flat indices of a tensor (depend only on its name and size)."""
    rng = np.random.RandomState(sum(map(ord, name)) * 7919 % (2 ** 31) + size)
    return sorted(int(i) for i in rng.choice(size, min(N_SAMPLES, size), replace=False))


def samples(vals: dict) -> dict:
    return {k: [float(x) for x in np.asarray(v, np.float64).ravel()[sample_idx(k, np.size(v))]]
            for k, v in sorted(vals.items())}


def main() -> None:
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    meta = json.loads((src / "meta.json").read_text())
    tr = np.load(src / "trace.npz")
    n = len(tr["losses"])
    steps = norm_steps(n)
    out = {
        "about": "reference oracle (openai/improved-gan, real Theano code) on the inputs of "
                 "book/_tools/reference_oracle/inputs.py; see README.md there",
        "meta": meta,
        "loss_names": ["loss_lab", "loss_unl", "train_err", "loss_gen"],
        "losses": [[float(x) for x in row] for row in tr["losses"]],
        "norm_steps": steps,
        "norms": {k[5:]: [float(tr[k][t - 1]) for t in steps] for k in sorted(tr) if k.startswith("norm.")},
        "ddi": samples(dict(np.load(src / "ddi.npz"))),
        "grads1": samples(dict(np.load(src / "grads1.npz"))),
        "ckpt": {},
    }
    for t in (1, 2, 5, 10, 50, 100, 500):
        f = src / f"ckpt_{t}.npz"
        if f.exists():
            out["ckpt"][str(t)] = samples(dict(np.load(f)))
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(json.dumps(out, separators=(",", ":")))
    print(f"wrote {dst} ({dst.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
