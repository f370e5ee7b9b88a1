"""Store a run_full.py run's record in book/results/reference/ (standard library only).

    python3 collect.py RUN_DIR DEST.json

Copies ``RUN_DIR/record.json`` (written by run_full.py after every epoch) with ``partial`` set while the run has not
reached its planned epochs, ``collected`` (when), and floats rounded to 6 significant digits (the losses are means of
float32 values). One line per epoch in the file, so that a diff of two collections shows which epochs came.
A stored record with more epochs than the run (a job restarted after its checkpoint was lost) is kept.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def rounded(x):
    if isinstance(x, float):
        return float(f"{x:.6g}")
    if isinstance(x, list):
        return [rounded(v) for v in x]
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    return x


def main() -> int:
    run, dest = Path(sys.argv[1]), Path(sys.argv[2])
    rec = json.loads((run / "record.json").read_text())
    if dest.exists():  # a job restarted from scratch (its checkpoint lost with a machine) keeps the longer record
        have = json.loads(dest.read_text()).get("epochs_done", 0)
        if have > rec["epochs_done"]:
            print(f"kept {dest} ({have} epochs stored; this run has {rec['epochs_done']})")
            return 0
    rec["partial"] = not rec["finished"]
    rec["collected"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    hist = [rounded(e) for e in rec.pop("history")]
    head = {k: v for k, v in rec.items() if not k.startswith("final_pred")}
    preds = {k: v for k, v in rec.items() if k.startswith("final_pred")}
    lines = ["{"]
    lines += [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append(' "history": [')
    lines += [f"  {json.dumps(e)}" + ("," if i + 1 < len(hist) else "") for i, e in enumerate(hist)]
    lines.append(" ]" + ("," if preds else ""))
    lines += [f" {json.dumps(k)}: {json.dumps(v)}" + ("," if i + 1 < len(preds) else "")
              for i, (k, v) in enumerate(preds.items())]
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # valid
    same = lambda t: [x for x in t.splitlines() if not x.startswith(' "collected":')]  # noqa: E731
    if dest.exists() and same(dest.read_text()) == same(text):  # nothing new since the last collection
        print(f"unchanged {dest} ({rec['epochs_done']} epochs)")
        return 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(dest)
    state = "partial" if rec["partial"] else "finished"
    print(f"stored {dest} ({rec['epochs_done']} of {rec['epochs_planned']} epochs, {state}, {len(text) // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
