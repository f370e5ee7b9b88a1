"""Ship trained networks with the book: ``book/results/models/<name>.pt`` and their ``manifest.json``.

    python book/_tools/ship_models.py RUN_DIR [RUN_DIR ...] [--commit SHA]

Each ``RUN_DIR`` holds a training run's ``checkpoint.pt`` (``python -m ssgan_lib train --out RUN_DIR``; finished or
not). Its evaluated D (the recipe's: the bias-corrected parameter average) and G are written as float16
(:func:`ssgan_lib.runs.export_trained`), loaded back (:func:`ssgan_lib.runs.load_trained`) and evaluated, and the
manifest records, under the folder's name: the file's checksum and size, the run's length (epochs done of those
planned), the test error of the float16 networks and of the float32 ones they came from (after the checkpoint's last
step: the test set chose nothing), the validation accuracy, the command and commit that trained it, and this
machine (and, given ``--trained-on``, where it trained). Chapters load them with
:func:`ssgan_lib.evidence.trained_model`. Nothing is written when a run cannot be read; each file and the manifest
are replaced atomically.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from ssgan_lib.atomic import write_json  # noqa: E402
from ssgan_lib.config import config_from_dict  # noqa: E402
from ssgan_lib.data import load_mnist  # noqa: E402
from ssgan_lib.losses import accuracy  # noqa: E402
from ssgan_lib.runs import export_trained, load_trained, machine  # noqa: E402
from ssgan_lib.train import CheckpointError, Trainer, read_checkpoint  # noqa: E402

MODELS = ROOT / "book" / "results" / "models"


@torch.no_grad()
def error_of(D, x: torch.Tensor, y: torch.Tensor) -> float:
    """Test error in % of a loaded (single-run) D, noise off."""
    pred = torch.cat([D(x[i:i + 1000].unsqueeze(0), train=False)[0].argmax(-1) for i in range(0, len(x), 1000)], 1)
    return 100.0 * (1 - float(accuracy(pred, y.unsqueeze(0))))


def ship(run_dir: Path, data, commit: str | None, command: str | None, trained_on: str | None = None) -> dict:
    state = read_checkpoint(run_dir / "checkpoint.pt")
    cfg = config_from_dict(state["config"])
    if cfg.seeds != 1:
        raise SystemExit(f"error: {run_dir} trains {cfg.seeds} runs at once; ship single runs")
    tr = Trainer(cfg, data=data, progress=False)
    tr.load_state_dict(state)
    test32 = 100.0 * (1 - tr.evaluate("test")[0])
    val32 = tr.evaluate("val")[0] if cfg.val_size else None
    name = run_dir.name
    entry = export_trained(tr, MODELS / f"{name}.pt")
    D, G, info = load_trained(MODELS / entry["file"], sha256=entry["sha256"])
    record = run_dir / "metrics.json"
    finished = record.is_file()
    rec = json.loads(record.read_text()) if finished else {}  # a finished run's record: command, commit, machine
    return {**entry, "dtype": "float16", "labels": cfg.labels, "seed": cfg.seed, "recipe": cfg.recipe,
            "steps": info["step"], "epochs": round(info["epochs"], 3), "epochs_planned": cfg.epochs,
            "finished": finished,
            "test_error": round(error_of(D, data.test_x, data.test_y), 3), "test_error_float32": round(test32, 3),
            "val_accuracy_float32": val32, "val_size": cfg.val_size,
            "evaluated": f"{cfg.resolved.eval_params} D, noise off, after step {info['step']} (the test set chose nothing)",
            "command": rec["command"] if finished else command,
            "commit": rec["commit"] if finished else commit,
            "trained_on": trained_on or rec.get("machine"),
            "exported_on": machine("cpu")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run folders holding checkpoint.pt")
    ap.add_argument("--commit", help="the commit that trained an unfinished run (a finished one's record says it)")
    ap.add_argument("--command", help="the command that trains an unfinished run (a finished one's record says it)")
    ap.add_argument("--trained-on", help="where the run trained, in words (a run resumed across machines: each"
                    " segment's CPU and threads; a finished record names only its last machine)")
    args = ap.parse_args(argv)
    data = load_mnist("cpu")
    manifest_path = MODELS / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    for run_dir in args.runs:
        try:
            manifest[run_dir.name] = ship(run_dir, data, args.commit, args.command, args.trained_on)
        except CheckpointError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        e = manifest[run_dir.name]
        print(f"{run_dir.name}: epoch {e['epochs']:g} of {e['epochs_planned']:g}, test error {e['test_error']:.2f} % "
              f"(float32 {e['test_error_float32']:.2f} %), {e['bytes'] / 1e6:.1f} MB")
    write_json(dict(sorted(manifest.items())), manifest_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
