"""book/_tools/reference_oracle/collect.py: a run's record stored in book/results/reference/, and a stored record
that is longer than a restarted run's kept (a wiped machine loses the checkpoints, not the committed records)."""
import json
import subprocess
import sys
from pathlib import Path

COLLECT = Path(__file__).resolve().parents[1] / "book/_tools/reference_oracle/collect.py"


def _run_dir(tmp_path: Path, epochs: int) -> Path:
    run = tmp_path / f"run{epochs}"
    run.mkdir()
    rec = {"labels": 100, "subset": 3, "epochs_planned": 100, "epochs_done": epochs, "finished": epochs == 100,
           "history": [{"epoch": e + 1, "val_acc_avg": 0.9 + e / 1000.0} for e in range(epochs)],
           "final_pred_test_avg": "0123"}
    (run / "record.json").write_text(json.dumps(rec))
    return run


def _collect(run: Path, dest: Path) -> str:
    out = subprocess.run([sys.executable, str(COLLECT), str(run), str(dest)], capture_output=True, text=True,
                         check=True)
    return out.stdout


def test_collect_stores_a_partial_record_one_line_per_epoch(tmp_path):
    dest = tmp_path / "labels100-subset3.json"
    assert "stored" in _collect(_run_dir(tmp_path, 5), dest)
    rec = json.loads(dest.read_text())
    assert rec["partial"] is True and rec["epochs_done"] == 5 and len(rec["history"]) == 5
    assert rec["final_pred_test_avg"] == "0123"
    assert len(dest.read_text().splitlines()) > 5  # one line per epoch


def test_collect_keeps_a_longer_stored_record(tmp_path):
    dest = tmp_path / "labels100-subset2.json"
    _collect(_run_dir(tmp_path, 7), dest)
    before = dest.read_text()
    assert "kept" in _collect(_run_dir(tmp_path, 3), dest)  # a restarted run, fewer epochs
    assert dest.read_text() == before
    _collect(_run_dir(tmp_path, 9), dest)  # once it has more, it replaces the record
    assert json.loads(dest.read_text())["epochs_done"] == 9


def test_collecting_the_same_record_again_leaves_the_file_as_it_was(tmp_path):
    """A finished run collected again is not rewritten (its 'collected' time alone would make a diff to commit)."""
    dest = tmp_path / "labels100-subset1.json"
    run = _run_dir(tmp_path, 100)
    _collect(run, dest)
    before = dest.read_text()
    assert "unchanged" in _collect(run, dest)
    assert dest.read_text() == before
