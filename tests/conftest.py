"""Shared fixtures: real MNIST from $SSGAN_DATA_DIR (or data/ in the repo); tests that need it skip without it.

``main_cli`` runs ``ssgan_lib.cli.main(["train", ...])`` in this process (what most CLI tests need: the exit
code it returns, its stdout and stderr, the files it writes); ``run_cli`` and ``spawn_cli`` run
``python -m ssgan_lib train ...`` in a subprocess, as a user would: only for what needs a real process
(the process's own exit status and stderr, signals). Each subprocess imports torch and loads MNIST again.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

# two threads at most, here and in every CLI subprocess: the same thread count gives the same rounding, so a
# run in a subprocess and one in this process can be compared bit for bit
THREADS = max(1, min(2, os.cpu_count() or 1))
torch.set_num_threads(THREADS)

# small, fast CLI runs: 20 steps, a 100-image validation split, no progress bar, CPU
FAST_ARGS = ["--steps", "20", "--val-size", "100", "--quiet", "--device", "cpu"]


@pytest.fixture(scope="session")
def mnist():
    from ssgan_lib.data import DataNotFoundError, load_mnist

    try:
        return load_mnist("cpu", download=False)
    except DataNotFoundError as exc:
        pytest.skip(f"MNIST not available: {exc}")


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.strip()]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: this one, unbuffered, as many threads as this process."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS))
    env.pop("SSGAN_DEBUG", None)
    env.update(extra)
    return env


def spawn_cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ssgan_lib", "train", *args], cwd=cwd,
                            env=env or cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def run_cli(tmp_path):
    """``run_cli(args, env=None, timeout=300) -> CliResult``; the working directory is ``tmp_path``."""

    def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> CliResult:
        proc = subprocess.run([sys.executable, "-m", "ssgan_lib", "train", *args], cwd=tmp_path,
                              env=env or cli_env(), capture_output=True, text=True, timeout=timeout)
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def main_cli(tmp_path, capsys, monkeypatch):
    """``main_cli(args) -> CliResult``: ``ssgan_lib.cli.main(["train", *args])`` in this process, with the
    working directory ``tmp_path`` and no SSGAN_DEBUG; stdout and stderr are what that one call printed."""
    from ssgan_lib import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SSGAN_DEBUG", raising=False)

    def run(args: list[str]) -> CliResult:
        capsys.readouterr()  # drop anything printed before this call
        code = cli.main(["train", *args])
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


def needs_data() -> None:
    """Skip (with the reason) when MNIST is not where ssgan_lib looks for it."""
    from ssgan_lib.data import _has_raw, candidate_dirs

    if not any(_has_raw(d) for d in candidate_dirs()):
        pytest.skip(f"MNIST not found in {', '.join(map(str, candidate_dirs()))}: set SSGAN_DATA_DIR")


# --- the state of a run, for "the same run" checks (contract suite, robustness, trainer tests) ---------------
def run_state(tr) -> dict[str, torch.Tensor]:
    """All the state that decides the future of a :class:`~ssgan_lib.train.Trainer` run."""
    out = {f"D.{k}": v for k, v in tr.D.state_dict().items()}
    opts = [("opt_d", tr.opt_d)]
    if tr.G is not None:
        out.update({f"G.{k}": v for k, v in tr.G.state_dict().items()})
        opts.append(("opt_g", tr.opt_g))
    for name, opt in opts:
        out.update({f"{name}.m{i}": v for i, v in enumerate(opt.m)})
        out.update({f"{name}.v{i}": v for i, v in enumerate(opt.v)})
        out[f"{name}.t"], out[f"{name}.lr"] = opt.t, opt.lr
    out.update({f"avg{i}": v for i, v in enumerate(tr.avg.avg)})
    out["avg.t"] = tr.avg.t
    out["rng"] = tr.gen.get_state()
    for name in ("lab_seq", "unl_seq", "unl2_seq", "pos", "lab_idx"):
        out[name] = getattr(tr.batches, name)
    return out


def assert_same_run(a, b) -> None:
    """Two trainers at the same step with bit-identical state and history."""
    assert a.step == b.step
    ea, eb = run_state(a), run_state(b)
    assert ea.keys() == eb.keys()
    for k in ea:
        assert torch.equal(ea[k], eb[k]), k
    assert a.history == b.history


@pytest.fixture(scope="module")
def one_thread():
    """Small layers: one thread is as fast, and far faster on a busy machine (restored afterwards). A module
    opts in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
