"""``python -m ssgan_lib train`` as a user runs it: a good run writes metrics; every bad input gets one
stderr line starting with ``error:``, exit code 2, no traceback, and nothing written.

Most tests call ``ssgan_lib.cli.main`` in this process (``main_cli``: the exit code it returns, what it
prints); one good run and one bad value go through a real ``python -m ssgan_lib`` process, for the
process's own exit status and its whole stderr (import-time warnings included)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from conftest import FAST_ARGS
from ssgan_lib.train import read_checkpoint, Trainer
from ssgan_lib.config import TrainConfig


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file under ``folder`` with its bytes (None: the folder does not exist)."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(folder.rglob("*"))}


def assert_one_error_line(res, code: int = 2) -> str:
    assert res.code == code, (res.code, res.err)
    assert "Traceback" not in res.err and "Traceback" not in res.out, res.err
    lines = res.err_lines
    assert len(lines) == 1, res.err
    assert lines[0].startswith("error:"), lines[0]
    assert res.out.strip() == "", res.out
    return lines[0]


# ----------------------------------------------------------------------------------------------
@pytest.mark.slow  # end to end, in a real process too
def test_a_good_run_writes_metrics_and_refuses_to_overwrite(run_cli, main_cli, tmp_path, mnist):
    out = tmp_path / "run"
    res = run_cli([*FAST_ARGS, "--out", str(out)])  # a real process: exit status 0, nothing else on stderr
    assert res.code == 0, res.err
    assert res.err.strip() == ""  # --quiet: nothing on stderr
    assert len(res.out.strip().splitlines()) == 1 and res.out.startswith("test accuracy")
    m = json.loads((out / "metrics.json").read_text())
    assert m["steps"] == 20 and m["labels"] == 100 and m["device"] == "cpu" and m["method"] == "ssgan-fm"
    assert m["seed"] == 1 and m["epochs"] == pytest.approx(20 / 600) and m["wall_seconds"] > 0
    assert m["test_accuracy_per_seed"] == [m["test_accuracy"]]
    assert abs(m["test_error"] - 100 * (1 - m["test_accuracy"])) < 1e-9
    assert f"{100 * m['test_accuracy']:.2f}%" in res.out
    h = m["history"]  # the run's curves travel with its metrics (FAST_ARGS: --val-size 100, 20 steps)
    assert h["step"] == [20] and len(h["loss_lab"]) == 1 and len(h["loss_lab"][0]) == 1  # one value per seed
    assert h["eval_step"] == [20] and h["val_acc"] == [m["val_accuracy_per_seed"]]  # the last step's D
    assert read_checkpoint(out / "checkpoint.pt")["step"] == 20
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "metrics.json"]
    # the same folder again: refused, nothing touched
    before = snapshot(out)
    line = assert_one_error_line(main_cli([*FAST_ARGS, "--out", str(out)]))
    assert "--resume" in line and "--overwrite" in line
    assert snapshot(out) == before
    # --overwrite starts afresh (same seed: the same result; no "resuming" line)
    res = main_cli([*FAST_ARGS, "--out", str(out), "--overwrite"])
    assert res.code == 0 and res.err == "", res.err
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] == m["test_accuracy"]


# ----------------------------------------------------------------------------------------------
# bad values: each its own test
# ----------------------------------------------------------------------------------------------
BAD = {
    "labels-0": (["--labels", "0"], "--labels"),
    "labels-negative": (["--labels", "-10"], "--labels"),
    "labels-not-multiple-of-10": (["--labels", "15"], "multiple of 10"),
    "labels-more-than-training-set": (["--labels", "70000"], "exceed"),
    "labels-text": (["--labels", "abc"], "whole number"),
    "labels-more-of-a-class-than-mnist-has": (["--labels", "55000", "--val-size", "0"], "class"),
    "labels-and-label-rate": (["--labels", "100", "--label-rate", "0.2"], "not both"),
    "label-rate-above-1": (["--label-rate", "1.5"], "label rate"),
    "epochs-negative": (["--epochs", "-1"], "--epochs"),
    "epochs-text": (["--epochs", "abc"], "number"),
    "epochs-too-small-for-one-step": (["--epochs", "0.0001"], "no training step"),
    "steps-0": (["--steps", "0"], "--steps"),
    "steps-and-epochs": (["--steps", "5", "--epochs", "1"], "not allowed"),
    "lr-negative": (["--lr", "-1"], "--lr"),
    "lr-nan": (["--lr", "nan"], "finite"),
    "lr-inf": (["--lr", "inf"], "finite"),
    "lr-text": (["--lr", "abc"], "number"),
    "batch-size-larger-than-training-set": (["--batch-size", "70000"], "batch_size"),
    "model-unknown": (["--model", "foo"], "unknown model"),
    "method-unknown": (["--method", "foo"], "unknown method"),
    "device-tpu": (["--device", "tpu"], "tpu"),
    "device-cuda-7": (["--device", "cuda:7"], "cuda:7"),
    "graph-unknown": (["--graph", "fast"], "graph"),
    "unknown-option": (["--frobnicate"], "unrecognized"),
}


def bad_args(name: str, out: Path) -> list[str]:
    args = BAD[name][0]
    base = ["--quiet"] + ([] if "--device" in args else ["--device", "cpu"])
    base += [] if {"--steps", "--epochs"} & set(args) else ["--steps", "5"]  # bounded, should it ever run
    return [*base, *args, "--out", str(out)]


@pytest.mark.parametrize("name", list(BAD))
def test_bad_value(name, main_cli, tmp_path):
    if name == "device-cuda-7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    if name == "labels-more-of-a-class-than-mnist-has":
        from conftest import needs_data
        needs_data()  # found only once the labels meet the data
    out = tmp_path / "run"
    line = assert_one_error_line(main_cli(bad_args(name, out)))
    assert BAD[name][1] in line, line
    assert not out.exists(), "a bad value must not create the output folder"


def test_bad_value_in_a_real_process(run_cli, tmp_path):
    """The process itself exits 2 with one stderr line and no traceback (nothing else printed on the way)."""
    out = tmp_path / "run"
    line = assert_one_error_line(run_cli(bad_args("labels-not-multiple-of-10", out)))
    assert "multiple of 10" in line
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda(main_cli, tmp_path):
    out = tmp_path / "run"
    line = assert_one_error_line(main_cli(["--device", "cuda", "--steps", "5", "--out", str(out)]))
    assert "CUDA is not available" in line and "--device cpu" in line
    assert not out.exists()


# ----------------------------------------------------------------------------------------------
# output folders that cannot be written
# ----------------------------------------------------------------------------------------------
def test_out_under_a_regular_file(main_cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    line = assert_one_error_line(main_cli([*FAST_ARGS, "--out", str(blocker / "run")]))
    assert "cannot be written" in line and str(blocker) in line
    assert blocker.read_text() == "keep me"


def test_out_is_a_regular_file(main_cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    line = assert_one_error_line(main_cli([*FAST_ARGS, "--out", str(blocker)]))
    assert "not a folder" in line
    assert blocker.read_text() == "keep me"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root ignores directory permissions (the path-under-a-file test covers this case)")
def test_out_in_a_read_only_folder(main_cli, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        line = assert_one_error_line(main_cli([*FAST_ARGS, "--out", str(ro / "run")]))
        assert "cannot be written" in line
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


# ----------------------------------------------------------------------------------------------
# checkpoints that cannot be resumed
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def run_with_checkpoint(mnist, tmp_path):
    """A folder holding a real checkpoint of the configuration FAST_ARGS gives (step 3)."""
    out = tmp_path / "run"
    cfg = TrainConfig(labels=100, steps=20, val_size=100)
    Trainer(cfg, data=mnist, out_dir=out, progress=False).fit(steps=3)
    assert read_checkpoint(out / "checkpoint.pt")["step"] == 3
    return out


def test_resume_without_a_checkpoint(main_cli, tmp_path):
    out = tmp_path / "run"
    line = assert_one_error_line(main_cli([*FAST_ARGS, "--out", str(out), "--resume"]))
    assert "no checkpoint" in line
    assert not out.exists()
    out.mkdir()
    (out / "checkpoint.pt.tmp").write_bytes(b"debris of a killed write")  # not a checkpoint either
    before = snapshot(out)
    line = assert_one_error_line(main_cli([*FAST_ARGS, "--out", str(out), "--resume"]))
    assert "no checkpoint" in line and snapshot(out) == before


@pytest.mark.parametrize("damage", ["random-bytes", "first-half", "empty"])
def test_resume_from_a_broken_checkpoint(main_cli, run_with_checkpoint, damage):
    ckpt = run_with_checkpoint / "checkpoint.pt"
    good = ckpt.read_bytes()
    ckpt.write_bytes({"random-bytes": os.urandom(len(good)), "first-half": good[: len(good) // 2],
                      "empty": b""}[damage])
    before = snapshot(run_with_checkpoint)
    line = assert_one_error_line(main_cli([*FAST_ARGS, "--out", str(run_with_checkpoint), "--resume"]))
    assert "corrupted or truncated" in line and str(ckpt) in line
    assert snapshot(run_with_checkpoint) == before


@pytest.mark.parametrize("change", [["--labels", "200"], ["--method", "sgan"]])
def test_resume_from_an_incompatible_checkpoint(main_cli, run_with_checkpoint, change):
    before = snapshot(run_with_checkpoint)
    line = assert_one_error_line(main_cli([*FAST_ARGS, *change, "--out", str(run_with_checkpoint), "--resume"]))
    assert "incompatible configuration" in line and change[0].lstrip("-") in line
    assert snapshot(run_with_checkpoint) == before


def test_resume_from_something_else(main_cli, run_with_checkpoint):
    torch.save({"model": torch.zeros(2)}, run_with_checkpoint / "checkpoint.pt")
    before = snapshot(run_with_checkpoint)
    line = assert_one_error_line(main_cli([*FAST_ARGS, "--out", str(run_with_checkpoint), "--resume"]))
    assert "not an ssgan_lib checkpoint" in line
    assert snapshot(run_with_checkpoint) == before


# ----------------------------------------------------------------------------------------------
# no data
# ----------------------------------------------------------------------------------------------
def test_data_missing_and_no_network(main_cli, tmp_path, monkeypatch):
    from ssgan_lib import data as D

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(D, "REPO_DATA_DIR", tmp_path / "repo" / "data")  # whatever the checkout holds
    dead = "http://127.0.0.1:9"  # nothing listens there: every download fails at once, online or not
    for key, value in dict(SSGAN_DATA_DIR=str(empty), http_proxy=dead, https_proxy=dead, HTTP_PROXY=dead,
                           HTTPS_PROXY=dead, no_proxy="", NO_PROXY="").items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "run"
    line = assert_one_error_line(main_cli([*FAST_ARGS, "--out", str(out)]))
    assert "MNIST not found" in line and "could not be downloaded" in line
    assert "Fix:" in line and "SSGAN_DATA_DIR=" in line and "MNIST/raw" in line.replace("\\", "/")  # how to fix it
    assert not out.exists()
    assert list(empty.iterdir()) == []  # and no half-made MNIST/raw left in the user's folder


def test_help_and_no_command(capsys):
    from ssgan_lib import cli

    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--labels" in text and "--resume" in text and "--ckpt-every" in text
    assert cli.main([]) == 2 and "train" in capsys.readouterr().out
