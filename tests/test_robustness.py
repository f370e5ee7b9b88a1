"""Robustness (issue 6): atomic checkpoints, exact resume, SIGKILL, Ctrl-C, divergence, bad checkpoints.

In-process tests use :class:`Trainer` or ``ssgan_lib.cli.main`` directly; only the tests that send real
signals (SIGKILL, SIGINT) or check the exit status of the process run ``python -m ssgan_lib train`` in a
subprocess. Kill times are random but seeded, so that a failure reproduces.
"""
from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest
import torch

from conftest import FAST_ARGS, assert_same_run, run_state, spawn_cli
from ssgan_lib import train as T
from ssgan_lib.engine import DeferredInterrupt, DivergenceError
from ssgan_lib.train import CheckpointError, read_checkpoint, Trainer
from ssgan_lib.config import config_from_dict, TrainConfig


def tiny(**kw) -> TrainConfig:
    base = dict(labels=100, steps=20, val_size=100, log_every=5, eval_every=10)
    base.update(kw)
    return TrainConfig(**base)


def no_tmp(folder: Path) -> None:
    assert not list(folder.glob("*.tmp")), list(folder.iterdir())


# ----------------------------------------------------------------------------------------------
# exact resume, in process
# ----------------------------------------------------------------------------------------------
def test_ctrl_c_in_fit_saves_the_step_and_resumes_there(mnist, tmp_path):
    """SIGINT during fit(): the current step finishes, a checkpoint of that step is written,
    KeyboardInterrupt is raised; a new trainer continues from that step (that the continued run is the
    uninterrupted one, bit for bit, is test_trainer_contract's test_a_resumed_run_is_bit_identical)."""
    tr = Trainer(tiny(steps=12), data=mnist, out_dir=tmp_path, progress=False)
    real_step = tr.engine.run_step

    def step_and_interrupt():
        real_step()
        if tr.step == 7:
            os.kill(os.getpid(), signal.SIGINT)  # arrives mid-loop, like a Ctrl-C

    tr.engine.run_step = step_and_interrupt
    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a background job
    with pytest.raises(KeyboardInterrupt, match="step 7"):
        tr.fit()
    assert signal.getsignal(signal.SIGINT) is before  # handler restored
    state = read_checkpoint(tmp_path / "checkpoint.pt")
    assert state["step"] == 7
    resumed = Trainer(tiny(steps=12), data=mnist, out_dir=tmp_path, progress=False)
    resumed.load_state_dict(state)
    assert resumed.step == 7
    assert_same_run(tr, resumed)  # the state at the interrupted step, all of it
    resumed.fit()
    assert resumed.step == 12


def test_deferred_interrupt():
    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a background job
    with DeferredInterrupt() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        assert stop.requested  # noted, not raised
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C stops at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
    assert signal.getsignal(signal.SIGINT) is before


# ----------------------------------------------------------------------------------------------
# atomic checkpoints
# ----------------------------------------------------------------------------------------------
def test_a_failed_write_keeps_the_previous_checkpoint(mnist, tmp_path, monkeypatch):
    tr = Trainer(tiny(steps=6), data=mnist, out_dir=tmp_path, progress=False)
    tr.fit(steps=3)  # fit() saves when it stops
    ckpt = tmp_path / "checkpoint.pt"
    before = ckpt.read_bytes()
    tr.train_step(tr.draw_inputs())  # two more steps, not saved
    tr.train_step(tr.draw_inputs())
    tr.step += 2
    real_save = torch.save

    def disk_full(obj, f, *a, **k):  # half a file, then the disk is full
        Path(f).write_bytes(before[: len(before) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(T.torch, "save", disk_full)
    with pytest.raises(OSError):
        tr.save()
    assert ckpt.read_bytes() == before  # never half a checkpoint under the real name
    assert read_checkpoint(ckpt)["step"] == 3
    monkeypatch.setattr(T.torch, "save", real_save)
    no_tmp(tmp_path)  # the failed write removed its temp file
    tr.save()  # and the next one goes through
    no_tmp(tmp_path)
    assert read_checkpoint(ckpt)["step"] == 5


def test_a_stray_tmp_file_does_not_break_resume(mnist, tmp_path):
    tr = Trainer(tiny(steps=4), data=mnist, out_dir=tmp_path, progress=False)
    tr.fit()
    (tmp_path / "checkpoint.pt.tmp").write_bytes(os.urandom(4096))  # a write killed half-way
    resumed = Trainer(tiny(steps=8), data=mnist, out_dir=tmp_path, progress=False)
    resumed.load(tmp_path / "checkpoint.pt")
    resumed.fit()
    assert read_checkpoint(tmp_path / "checkpoint.pt")["step"] == 8
    no_tmp(tmp_path)


# ----------------------------------------------------------------------------------------------
# bad checkpoints, in process
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_checkpoint(mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("good")
    Trainer(tiny(steps=3, eval_every=0), data=mnist, out_dir=out, progress=False).fit()
    return out / "checkpoint.pt"


def test_unreadable_checkpoints_raise_checkpoint_error(mnist, good_checkpoint, tmp_path):
    good = good_checkpoint.read_bytes()
    cases = {"random.pt": os.urandom(len(good) // 4), "truncated.pt": good[: len(good) // 2],
             "empty.pt": b"", "text.pt": b"not a checkpoint\n"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match="corrupted or truncated"):
            read_checkpoint(tmp_path / name)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        read_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        read_checkpoint(tmp_path)  # a folder is not a checkpoint
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an ssgan_lib checkpoint"):
        Trainer(tiny(), data=mnist, progress=False).load(tmp_path / "other.pt")


@pytest.mark.parametrize("change", [dict(labels=200), dict(seed=2), dict(method="sgan"), dict(seeds=2),
                                    dict(val_size=200), dict(batch_size=50)])
def test_incompatible_checkpoint_is_refused_and_changes_nothing(mnist, good_checkpoint, change):
    tr = Trainer(tiny(**change), data=mnist, progress=False)
    before = {k: v.clone() for k, v in run_state(tr).items()}
    key = next(iter(change))
    with pytest.raises(CheckpointError, match=f"incompatible configuration.*{key}"):
        tr.load(good_checkpoint)
    assert all(torch.equal(v, run_state(tr)[k]) for k, v in before.items())
    assert tr.step == 0


@pytest.mark.parametrize("damage", ["drop-rng", "drop-history", "bad-shape", "drop-D", "config-none"])
def test_a_damaged_checkpoint_is_a_checkpoint_error_and_rolls_back(mnist, good_checkpoint, damage):
    state = read_checkpoint(good_checkpoint)
    if damage == "drop-rng":
        del state["rng"]  # read after the weights: the weights must be rolled back
    elif damage == "drop-history":
        del state["history"]
    elif damage == "bad-shape":
        state["unl_seq"] = state["unl_seq"][:, :100]
    elif damage == "drop-D":
        del state["D"]
    else:
        state["config"] = None
    tr = Trainer(tiny(), data=mnist, progress=False)
    before = {k: v.clone() for k, v in run_state(tr).items()}
    with pytest.raises(CheckpointError):
        tr.load_state_dict(state)
    assert tr.step == 0 and not tr.initialised and tr.history["step"] == []
    for k, v in before.items():
        assert torch.equal(v, run_state(tr)[k]), k


def test_loading_a_state_twice_shares_nothing(mnist, good_checkpoint):
    state = read_checkpoint(good_checkpoint)
    a, b = (Trainer(tiny(steps=5, log_every=1), data=mnist, progress=False) for _ in range(2))
    a.load_state_dict(state)
    b.load_state_dict(state)
    a.fit()
    assert len(b.history["step"]) == len(state["history"]["step"]) < len(a.history["step"])


# ----------------------------------------------------------------------------------------------
# divergence, in process
# ----------------------------------------------------------------------------------------------
def test_nan_stops_the_run_naming_the_step_and_keeps_the_good_checkpoint(mnist, tmp_path):
    tr = Trainer(tiny(steps=40, ckpt_every=10, eval_every=0, log_every=5), data=mnist, out_dir=tmp_path,
                 progress=False)
    tr.fit(steps=10)
    ckpt = tmp_path / "checkpoint.pt"
    before = ckpt.read_bytes()
    with torch.no_grad():
        tr.D.hidden[2].b[0, 0, 3] = float("nan")  # one poisoned weight: every loss is NaN from step 11
    with pytest.raises(DivergenceError, match="at step 11"):
        tr.fit()
    assert tr.step == 15  # found at the next read-out, not later
    assert ckpt.read_bytes() == before
    no_tmp(tmp_path)
    with pytest.raises(DivergenceError, match="step 11"):
        tr.save()
    assert ckpt.read_bytes() == before


def test_divergence_between_read_outs_is_caught_by_the_checkpoint(mnist, tmp_path):
    """log_every larger than ckpt_every: the checkpoint write itself refuses the NaN state."""
    tr = Trainer(tiny(steps=40, ckpt_every=4, log_every=100, eval_every=0), data=mnist, out_dir=tmp_path,
                 progress=False)
    tr.fit(steps=4)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with torch.no_grad():
        tr.G.beta1.fill_(float("inf"))  # poisons G: loss_g and D's fake logits
    with pytest.raises(DivergenceError, match="at step 5"):
        tr.fit()
    assert tr.step == 8
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


def test_huge_lr_diverges_and_a_lower_lr_resumes_from_the_good_checkpoint(mnist, tmp_path):
    good = Trainer(tiny(steps=6, eval_every=0, log_every=3), data=mnist, out_dir=tmp_path, progress=False)
    good.fit()
    ckpt = tmp_path / "checkpoint.pt"
    before = ckpt.read_bytes()
    wild = Trainer(tiny(steps=30, eval_every=0, log_every=3, lr=1e30, ckpt_every=3), data=mnist, out_dir=tmp_path,
                   progress=False)
    wild.load(ckpt)
    assert float(wild.opt_d.lr) == pytest.approx(1e30, rel=1e-6)  # the new --lr takes effect on resume
    with pytest.raises(DivergenceError, match=r"step \d+"):
        wild.fit()
    assert ckpt.read_bytes() == before
    calm = Trainer(tiny(steps=12, eval_every=0, log_every=3, lr=1e-3), data=mnist, out_dir=tmp_path, progress=False)
    calm.load(ckpt)
    assert float(calm.opt_d.lr) == pytest.approx(1e-3) and float(calm.opt_g.lr) == pytest.approx(1e-3)
    calm.fit()
    assert calm.step == 12


# ----------------------------------------------------------------------------------------------
# the command line: kills, Ctrl-C, divergence, exact resume
# ----------------------------------------------------------------------------------------------
def wait_for(cond, proc, what: str, timeout: float = 240) -> None:
    t0 = time.time()
    while not cond():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) before {what}: {err[-2000:]}")
        if time.time() - t0 > timeout:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def ckpt_step(path: Path) -> int:
    try:
        return read_checkpoint(path)["step"]
    except CheckpointError:
        return -1


@pytest.mark.slow  # two real processes killed; in process: test_a_failed_write_keeps_the_previous_checkpoint
def test_sigkill_at_a_random_moment_leaves_a_loadable_checkpoint(mnist, tmp_path, main_cli):
    rng = random.Random(0)  # seeded: the same kill delays on every run
    out = tmp_path / "run"
    ckpt = out / "checkpoint.pt"
    args = ["--steps", "2000", "--val-size", "100", "--quiet", "--device", "cpu", "--ckpt-every", "2",
            "--out", str(out)]
    last = 0
    for attempt in range(2):
        proc = spawn_cli(args + (["--resume"] if attempt else []), tmp_path)
        wait_for(lambda: ckpt.exists() and ckpt.stat().st_mtime_ns != last, proc, "a new checkpoint")
        delay = rng.uniform(0.0, 1.0)
        time.sleep(delay)  # somewhere between checkpoints, or while one is written
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        last = ckpt.stat().st_mtime_ns
        state = read_checkpoint(ckpt)  # loadable, whatever the moment (a CheckpointError fails the test)
        assert state["step"] >= 2 and state["step"] % 2 == 0, (attempt, delay, state["step"])
        tr = Trainer(config_from_dict(state["config"]), data=mnist, progress=False)
        tr.load_state_dict(state)
        tr.fit(steps=2)
    # a stray .tmp (killed mid-write) does not break the CLI's resume either
    (out / "checkpoint.pt.tmp").write_bytes(os.urandom(1000))
    step = read_checkpoint(ckpt)["step"]
    res = main_cli(["--steps", str(step + 3), "--val-size", "100", "--quiet", "--device", "cpu",
                    "--out", str(out), "--resume"])
    assert res.code == 0, res.err
    assert read_checkpoint(ckpt)["step"] == step + 3 and (out / "metrics.json").exists()
    no_tmp(out)


def test_ctrl_c_exits_130_with_one_line_and_a_resumable_checkpoint(mnist, tmp_path, main_cli):
    out = tmp_path / "run"
    ckpt = out / "checkpoint.pt"
    proc = spawn_cli(["--steps", "2000", "--val-size", "100", "--quiet", "--device", "cpu", "--ckpt-every", "3",
                      "--out", str(out)], tmp_path)
    wait_for(ckpt.exists, proc, "the first checkpoint")  # training is under way
    time.sleep(random.Random(1).uniform(0.0, 0.5))  # seeded: the same moment on every run
    proc.send_signal(signal.SIGINT)
    stdout, err = proc.communicate(timeout=120)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == 130, err
    assert len(lines) == 1, err
    assert lines[0].startswith("interrupted at step") and "checkpoint saved" in lines[0] and "--resume" in lines[0]
    assert "Traceback" not in err and stdout == ""
    state = read_checkpoint(ckpt)
    assert f"step {state['step']};" in lines[0]  # saved at the step it stopped, not the last multiple of 3
    no_tmp(out)
    assert not (out / "metrics.json").exists()
    res = main_cli(["--steps", str(state["step"] + 2), "--val-size", "100", "--quiet", "--device", "cpu",
                    "--out", str(out), "--resume"])
    assert res.code == 0, res.err
    assert read_checkpoint(ckpt)["step"] == state["step"] + 2


def test_cli_divergence_exits_3_and_keeps_the_last_good_checkpoint(mnist, tmp_path, main_cli):
    out = tmp_path / "run"
    res = main_cli([*FAST_ARGS[:1], "10", *FAST_ARGS[2:], "--ckpt-every", "5", "--out", str(out)])
    assert res.code == 0, res.err
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    res = main_cli(["--steps", "60", "--val-size", "100", "--quiet", "--device", "cpu", "--ckpt-every", "5",
                    "--lr", "1e30", "--out", str(out), "--resume"])
    lines = res.err_lines
    assert res.code == 3, res.err
    assert len(lines) == 2 and lines[0].startswith("resuming"), lines  # the resume notice, then the error
    assert lines[1].startswith("error:") and "diverged" in lines[1]
    step = int(lines[1].split("at step ")[1].split()[0].rstrip(";"))
    assert 10 < step <= 60
    assert "Traceback" not in res.err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files  # checkpoint and metrics untouched


def test_cli_divergence_from_the_start(tmp_path, run_cli, mnist):
    """A real process: its exit status is 3."""
    out = tmp_path / "run"
    res = run_cli(["--steps", "20", "--val-size", "100", "--quiet", "--device", "cpu", "--lr", "1e30",
                   "--ckpt-every", "0", "--out", str(out)])
    assert res.code == 3, res.err
    assert len(res.err_lines) == 1 and res.err_lines[0].startswith("error: training diverged")
    assert "at step" in res.err_lines[0] and "Traceback" not in res.err
    assert not (out / "checkpoint.pt").exists() and not (out / "metrics.json").exists()


@pytest.mark.slow  # two CLI runs; that a resumed run is the uninterrupted one: test_trainer_contract
def test_cli_resume_continues_from_the_checkpoint(mnist, tmp_path, main_cli):
    b = tmp_path / "b"
    res = main_cli(["--steps", "9", *FAST_ARGS[2:], "--out", str(b)])
    assert res.code == 0, res.err
    assert read_checkpoint(b / "checkpoint.pt")["step"] == 9
    res = main_cli([*FAST_ARGS, "--out", str(b), "--resume"])
    assert res.code == 0, res.err
    assert res.err_lines == [f"resuming {b / 'checkpoint.pt'} at step 9 of 20"]
    state = read_checkpoint(b / "checkpoint.pt")
    assert state["step"] == 20 and state["history"]["step"][0] == 9  # continued: the first log is the 9-step run's
