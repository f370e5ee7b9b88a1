"""Compare two dumps (``run_reference.py`` and ``run_library.py``, same layout) tensor by tensor.

    python compare.py REF_DIR LIB_DIR [--steps 1 10 100 500]

Prints, for the DDI result, the step-1 gradients and each checkpoint, the max relative difference
(max |a-b| / max |a|, per tensor) and the worst tensor; then the per-step losses and norms, and the first
step at which a quantity differs by more than ``--tol`` (relative).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.max(np.abs(a))
    return float(np.max(np.abs(a - b)) / scale) if scale > 0 else float(np.max(np.abs(a - b)))


def table(ref: dict, lib: dict, keys=None) -> dict[str, float]:
    keys = keys or sorted(set(ref) & set(lib))
    return {k: rel(ref[k], lib[k]) for k in keys}


def summarise(title: str, d: dict[str, float], show_all: bool = False) -> None:
    if not d:
        return
    worst = max(d, key=d.get)
    print(f"{title:<28} max rel {d[worst]:.2e} ({worst})")
    if show_all:
        for k, v in d.items():
            print(f"    {k:<20} {v:.2e}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("lib")
    ap.add_argument("--tol", type=float, default=1e-10)
    ap.add_argument("--all", action="store_true", help="every tensor, not only the worst")
    args = ap.parse_args()
    R, L = Path(args.ref), Path(args.lib)
    load = lambda p: dict(np.load(p))  # noqa: E731
    summarise("params after DDI", table(load(R / "ddi.npz"), load(L / "ddi.npz")), args.all)
    summarise("gradients at step 1", table(load(R / "grads1.npz"), load(L / "grads1.npz")), args.all)
    for f in sorted(R.glob("ckpt_*.npz"), key=lambda p: int(p.stem[5:])):
        if not (L / f.name).exists():
            continue
        r, l = load(f), load(L / f.name)
        groups = {"D": [k for k in r if k.startswith("D")], "G": [k for k in r if k.startswith("G")],
                  "avg D": [k for k in r if k.startswith("avg.")],
                  "Adam D": [k for k in r if k[:2] in ("mD", "vD")], "Adam G": [k for k in r if k[:2] in ("mG", "vG")]}
        for g, keys in groups.items():
            summarise(f"step {f.stem[5:]:>4} {g}", table(r, l, [k for k in keys if k in l]), args.all)
    tr, tl = load(R / "trace.npz"), load(L / "trace.npz")
    n = min(len(tr["losses"]), len(tl["losses"]))
    print(f"\nper-step quantities over {n} steps: max rel diff at steps 1, 10, 100, 500 and first step > {args.tol:g}")
    names = ["loss_lab", "loss_unl", "train_err", "loss_gen"]
    rows = [(nm, tr["losses"][:n, i], tl["losses"][:n, i]) for i, nm in enumerate(names)]
    rows += [(k[5:], tr[k][:n], tl[k][:n]) for k in sorted(tr) if k.startswith("norm.") and k in tl]
    for nm, a, b in rows:
        r = np.abs(a - b) / np.maximum(np.abs(a), 1e-300)
        at = "  ".join(f"{r[s - 1]:.1e}" if s <= n else "   -   " for s in (1, 10, 100, 500))
        bad = np.nonzero(r > args.tol)[0]
        print(f"  {nm:<14} {at}   first>{args.tol:g}: {bad[0] + 1 if len(bad) else '-'}")


if __name__ == "__main__":
    main()
