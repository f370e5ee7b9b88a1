"""The command line: bad input gets one `error:` line, an exit code and nothing on disk; kills and Ctrl-C
leave a checkpoint that resumes; a finished run writes metrics.json."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ssgan_lib import cli
from ssgan_lib.train import Trainer, config_from_dict, read_checkpoint

FAST = ["--steps", "20", "--val-size", "100", "--quiet", "--device", "cpu"]


def run_main(args, capsys):
    code = cli.main(args)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


BAD = {
    "labels-zero": ["--labels", "0"],
    "labels-negative": ["--labels", "-10"],
    "labels-not-multiple": ["--labels", "15"],
    "labels-too-many": ["--labels", "70000"],
    "labels-text": ["--labels", "abc"],
    "epochs-negative": ["--epochs", "-1"],
    "epochs-text": ["--epochs", "abc"],
    "steps-zero": ["--steps", "0"],
    "lr-negative": ["--lr", "-1"],
    "lr-nan": ["--lr", "nan"],
    "lr-text": ["--lr", "abc"],
    "model-unknown": ["--model", "foo"],
    "method-unknown": ["--method", "foo"],
    "device-tpu": ["--device", "tpu"],
    "device-cuda7": ["--device", "cuda:7"],
    "rate-and-labels": ["--labels", "100", "--label-rate", "0.2"],
    "rate-too-big": ["--label-rate", "1.5"],
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_one_line_exit_2_nothing_written(name, tmp_path, capsys):
    out = tmp_path / "run"
    code, err = run_main(["train", *BAD[name], "--out", str(out), "--quiet"], capsys)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert "Traceback" not in err[0]
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_unavailable(tmp_path, capsys):
    code, err = run_main(["train", "--device", "cuda", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and len(err) == 1 and "CUDA is not available" in err[0]


def test_unwritable_output_folder(tmp_path, capsys, mnist):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file")
    code, err = run_main(["train", *FAST, "--out", str(blocker / "sub")], capsys)
    assert code == 2 and len(err) == 1 and "cannot be written" in err[0]
    code, err = run_main(["train", *FAST, "--out", str(blocker)], capsys)
    assert code == 2 and "not a folder" in err[0]
    assert blocker.read_text() == "I am a file"


def test_resume_without_checkpoint(tmp_path, capsys):
    code, err = run_main(["train", *FAST, "--out", str(tmp_path / "none"), "--resume"], capsys)
    assert code == 2 and len(err) == 1 and "no checkpoint" in err[0]
    assert not (tmp_path / "none").exists()


def test_data_missing(tmp_path, capsys, monkeypatch):
    from ssgan_lib import data as D

    monkeypatch.setenv("SSGAN_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(D, "REPO_DATA_DIR", tmp_path / "nodata")
    monkeypatch.setattr(D, "_has_raw", lambda root: False)
    import torchvision.datasets

    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    code, err = run_main(["train", *FAST, "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and len(err) == 1 and "SSGAN_DATA_DIR" in err[0]
    assert not (tmp_path / "r").exists()


def test_train_writes_metrics_and_checkpoint_then_resume_and_guards(tmp_path, capsys, mnist):
    out = tmp_path / "run"
    code, err = run_main(["train", *FAST, "--out", str(out), "--ckpt-every", "10"], capsys)
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    for key in ("test_accuracy", "test_error", "labels", "seed", "steps", "epochs", "wall_seconds", "device"):
        assert key in m
    assert m["steps"] == 20 and m["labels"] == 100 and abs(m["test_error"] - 100 * (1 - m["test_accuracy"])) < 1e-9
    assert not list(out.glob("*.tmp"))
    # a second run into the same folder must not silently overwrite it
    code, err = run_main(["train", *FAST, "--out", str(out)], capsys)
    assert code == 2 and "--resume" in err[0]
    # a checkpoint from another configuration
    code, err = run_main(["train", *FAST, "--labels", "200", "--out", str(out), "--resume"], capsys)
    assert code == 2 and len(err) == 1 and "incompatible" in err[0]
    # corrupted and truncated checkpoints
    ckpt = out / "checkpoint.pt"
    good = ckpt.read_bytes()
    for broken in (os.urandom(5000), good[: len(good) // 2]):
        ckpt.write_bytes(broken)
        code, err = run_main(["train", *FAST, "--out", str(out), "--resume"], capsys)
        assert code == 2 and len(err) == 1 and "corrupted or truncated" in err[0], err
        assert ckpt.read_bytes() == broken  # nothing rewritten


def test_cli_resume_matches_uninterrupted_run(tmp_path, capsys, mnist):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_main(["train", *FAST, "--out", str(a)], capsys)[0] == 0
    half = [x if x != "20" else "9" for x in FAST]
    assert run_main(["train", *half, "--out", str(b)], capsys)[0] == 0
    code, _ = run_main(["train", *FAST, "--out", str(b), "--resume"], capsys)
    assert code == 0
    sa, sb = read_checkpoint(a / "checkpoint.pt"), read_checkpoint(b / "checkpoint.pt")
    assert sa["step"] == sb["step"] == 20
    for k in sa["D"]:
        assert torch.equal(sa["D"][k], sb["D"][k]), k
    for k in sa["G"]:
        assert torch.equal(sa["G"][k], sb["G"][k]), k


def _spawn(args, tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "ssgan_lib", "train", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc, timeout=240):
    t0 = time.time()
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < timeout, "no checkpoint appeared"
        time.sleep(0.2)


def test_sigkill_leaves_a_loadable_checkpoint(tmp_path, mnist):
    out = tmp_path / "run"
    proc = _spawn(["--steps", "5000", "--val-size", "100", "--quiet", "--device", "cpu", "--ckpt-every", "5",
                   "--out", str(out)], tmp_path)
    _wait_for(out / "checkpoint.pt", proc)
    time.sleep(1.5)  # kill somewhere between checkpoints (or in the middle of writing one)
    proc.kill()
    proc.wait()
    state = read_checkpoint(out / "checkpoint.pt")
    tr = Trainer(config_from_dict(state["config"]), data=mnist, progress=False)
    tr.load_state_dict(state)
    assert tr.step >= 5 and tr.step % 5 == 0
    tr.fit(steps=3)  # and it trains on


def test_ctrl_c_saves_and_exits_130(tmp_path, mnist):
    out = tmp_path / "run"
    proc = _spawn(["--steps", "5000", "--val-size", "100", "--quiet", "--device", "cpu", "--ckpt-every", "5",
                   "--out", str(out)], tmp_path)
    _wait_for(out / "checkpoint.pt", proc)  # training is under way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert proc.returncode == 130, err
    assert len(lines) == 1 and "interrupted at step" in lines[0] and "checkpoint saved" in lines[0], err
    state = read_checkpoint(out / "checkpoint.pt")
    assert str(state["step"]) in lines[0]  # saved at the step it stopped, not only at the last multiple of 5
    tr = Trainer(config_from_dict(state["config"]), data=mnist, progress=False)
    tr.load_state_dict(state)
    tr.fit(steps=2)


def test_divergence_exit_3(tmp_path, mnist):
    out = tmp_path / "run"
    proc = _spawn(["--steps", "100", "--val-size", "100", "--quiet", "--device", "cpu", "--lr", "1e30",
                   "--out", str(out)], tmp_path)
    _, err = proc.communicate(timeout=300)
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert proc.returncode == 3, err
    assert len(lines) == 1 and "diverged" in lines[0] and "step" in lines[0]
    assert not (out / "metrics.json").exists()
