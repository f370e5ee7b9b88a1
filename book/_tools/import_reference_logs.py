"""Turn the logs of the real reference runs into book/results/reference_runs.json, which chapter 6 plots.

    python book/_tools/import_reference_logs.py ../shared/reference-runs book/_tools/reference_logs \
        book/results/reference_runs.json

Each log is read from the first folder that has it: `../shared/reference-runs/` holds three (with the
README that says how they were run), `book/_tools/reference_logs/` those this project ran since (its README).

The logs are those of Salimans et al.'s Theano code (openai/improved-gan), run unchanged on a 2-core CPU machine
of the kind that runs this project (how: ``README.md`` beside the logs). Each ``Iteration E`` line gives the
epoch means of ``loss_lab`` and ``loss_unl``, the train error on the labelled batches, and the error on the 10,000
test images: ``test err`` of the evaluated D (the parameter average in the final script, the raw D in the
June-2016 one) and, in the final script's logs, ``raw test err`` of the raw D. Nothing is recomputed here.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

RUNS = {
    # file: (recipe it runs, seed, what the log's "test err" column evaluates)
    "final.log": ("final", 1, "averaged"),
    "final_seed2.log": ("final", 2, "averaged"),
    "final_seed3.log": ("final", 3, "averaged"),
    "paper_era.log": ("paper-2016-06", 1, "raw"),
    "paper_era_seed2.log": ("paper-2016-06", 2, "raw"),
}
LINE = re.compile(r"Iteration (\d+), time = (\d+)s, loss_lab = ([\d.]+), loss_unl = ([\d.]+), "
                  r"train err = ([\d.]+), test err = ([\d.]+)(?:, raw test err = ([\d.]+))?")


def parse(path: Path) -> dict:
    rows = [m.groups() for m in map(LINE.match, path.read_text().splitlines()) if m]
    if not rows:
        raise SystemExit(f"no 'Iteration' lines in {path}")
    out = {"epoch": [int(r[0]) + 1 for r in rows], "seconds": [int(r[1]) for r in rows],
           "loss_lab": [float(r[2]) for r in rows], "loss_unl": [float(r[3]) for r in rows],
           "test_err": [float(r[5]) for r in rows]}
    if all(r[6] is not None for r in rows):
        out["raw_test_err"] = [float(r[6]) for r in rows]
    return out


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit("usage: import_reference_logs.py LOG_FOLDER [LOG_FOLDER ...] OUT.json")
    folders, dst = [Path(a) for a in sys.argv[1:-1]], Path(sys.argv[-1])
    runs = []
    for name, (recipe, seed, evaluated) in RUNS.items():
        src = next((f / name for f in folders if (f / name).is_file()), None)
        if src is None:
            raise SystemExit(f"{name} is in none of: {', '.join(map(str, folders))}")
        runs.append({"log": name, "recipe": recipe, "seed": seed, "test_err_of": evaluated, **parse(src)})
    doc = {
        "about": "The real reference (openai/improved-gan, Theano 1.0.5 + Lasagne, scripts unchanged), MNIST, "
                 "feature matching, 100 labels, on a 2-core CPU machine, one thread per run; epochs 1-based; errors "
                 "on the 10,000 test images as the scripts print them. Stopped before epoch 300 when the machine's "
                 "time ran out (the paper-era seed-2 run after 30 epochs, when its early phase was over; the final "
                 "script's seed 3 after 27 epochs).",
        "commits": {"final": "4f5d1ec (MNIST files of 0fa06b5, 14 June 2016)",
                    "paper-2016-06": "2b81a18^ (27f970c, 8 June 2016)"},
        "runs": runs,
    }
    dst.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {dst}: " + ", ".join(f"{r['log']} ({len(r['epoch'])} epochs)" for r in runs))


if __name__ == "__main__":
    main()
