"""The engine (ssgan_lib.engine): the CUDA-graph path is safe by construction.

On CPU: a capture failure and an untested torch version both fall back to eager mode with one INFO line of the
``ssgan_lib`` logger and no warning, and the run is bit-identical to an eager one (the failure is simulated: the
engine is told graphs are available and its capture raises). On a GPU (skipped elsewhere; ``STAGE=test`` of
``book/_tools/gpu_runs.sh`` runs them): graph against eager bit for bit on the same draws for several seeds, graph +
resume against an uninterrupted graph run, and the fallback on a real device.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import pytest
import torch

from ssgan_lib.engine import GRAPH_TORCH, Engine, Meters, graph_support
from ssgan_lib.train import Trainer
from ssgan_lib.config import TrainConfig

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (the CUDA-graph path)")


def tiny(**kw) -> TrainConfig:
    base = dict(labels=100, steps=16, val_size=100, log_every=4, eval_every=8)
    base.update(kw)
    return TrainConfig(**base)


def same_run(a: Trainer, b: Trainer) -> None:
    assert a.step == b.step and a.history == b.history
    for (k, va), vb in zip(a.D.state_dict().items(), b.D.state_dict().values()):
        assert torch.equal(va, vb), k
    for (k, va), vb in zip(a.G.state_dict().items(), b.G.state_dict().values()):
        assert torch.equal(va, vb), k
    assert torch.equal(a.gen.get_state(), b.gen.get_state())


def pretend_graphs_work(tr: Trainer) -> None:
    """Make the engine take the CUDA-graph path on this device (its warm-up step runs as usual)."""
    tr.engine.unsupported = None
    tr.engine._tried = False


# ----------------------------------------------------------------------------------------------
def test_graph_support_by_device_and_torch_version():
    assert graph_support(torch.device("cpu")) == "not a CUDA device"
    lo, hi = GRAPH_TORCH
    cuda_dev = torch.device("cuda")
    assert graph_support(cuda_dev, f"{lo[0]}.{lo[1]}.0") is None and graph_support(cuda_dev, f"{hi[0]}.{hi[1]}.1") is None
    for untested in (f"{lo[0]}.{lo[1] - 1}.0", f"{hi[0]}.{hi[1] + 1}.0", "3.0.0"):
        assert "outside the versions" in graph_support(cuda_dev, untested), untested


def run_quietly(tr: Trainer, caplog) -> list[logging.LogRecord]:
    """fit() with every warning recorded (there must be none) and the ssgan_lib log captured."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ssgan_lib"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tr.fit()
    assert not caught, [str(w.message) for w in caught]
    return [r for r in caplog.records if r.name == "ssgan_lib"]


def test_a_capture_failure_falls_back_to_eager_with_one_info_line(mnist, caplog):
    eager = Trainer(tiny(), data=mnist, progress=False)
    eager.fit()
    tr = Trainer(tiny(), data=mnist, progress=False)
    pretend_graphs_work(tr)
    calls = []

    def broken_capture():
        calls.append(tr.step)
        raise RuntimeError("operation not permitted when stream is capturing\nsecond line")

    tr.engine._capture = broken_capture
    records = run_quietly(tr, caplog)
    assert calls == [0]  # tried once, after the first (warm-up) step
    assert [r.levelno for r in records] == [logging.INFO] and "capture failed" in records[0].getMessage()
    assert "second line" not in records[0].getMessage()
    assert tr.engine.mode == "eager"
    same_run(eager, tr)  # the warm-up step was a real step; the failed capture changed nothing


def test_insisting_on_a_graph_raises_the_capture_error(mnist):
    tr = Trainer(tiny(), data=mnist, progress=False)
    pretend_graphs_work(tr)
    tr.engine.graph = "cuda-graph"
    tr.engine._capture = lambda: (_ for _ in ()).throw(RuntimeError("capture failed"))
    with pytest.raises(RuntimeError, match="capture failed"):
        tr.fit()


def test_an_untested_torch_runs_eagerly_with_one_info_line(mnist, caplog):
    tr = Trainer(tiny(), data=mnist, progress=False)
    tr.engine.unsupported = "torch 9.9 is outside the versions this CUDA-graph code is written for"
    tr.engine._tried = False
    tr.engine._capture = lambda: pytest.fail("no capture may be tried on an untested torch")
    records = run_quietly(tr, caplog)
    assert len(records) == 1 and "running eagerly" in records[0].getMessage() and "9.9" in records[0].getMessage()
    eager = Trainer(tiny(), data=mnist, progress=False)
    eager.fit()
    same_run(eager, tr)


def test_the_engine_runs_any_step_function():
    """Not only the SSGAN step: a toy step, its meters averaged per log interval, callbacks at their steps."""
    w = torch.zeros(())
    meters = Meters(("w",), 1, torch.device("cpu"))

    def step():
        w.add_(1.0)
        return w.reshape(1, 1).clone()

    eng = Engine(step, meters, torch.device("cpu"))
    logged, seen = [], []
    from ssgan_lib.engine import Every

    eng.run(10, 10, log_every=4, on_log=lambda s, m: logged.append((s, m.item())),
            callbacks=[Every(5, lambda: seen.append(eng.step), at_end=False)])
    assert logged == [(4, 2.5), (8, 6.5), (10, 9.5)] and seen == [5, 10]


# ----------------------------------------------------------------------------------------------
# on a GPU
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cuda_mnist():
    from ssgan_lib.data import DataNotFoundError, load_mnist

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    try:
        return load_mnist("cuda", download=False)
    except DataNotFoundError as exc:
        pytest.skip(f"MNIST not available: {exc}")


@cuda
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cuda_graph_is_eager_bit_for_bit(cuda_mnist, seed):  # pragma: no cover - GPU
    runs = {}
    for mode in ("eager", "cuda-graph"):
        tr = Trainer(tiny(steps=40, seed=seed, seeds=2, device="cuda", graph=mode), data=cuda_mnist, progress=False)
        tr.fit()
        runs[mode] = tr
    assert runs["cuda-graph"].engine.mode == "cuda-graph" and runs["eager"].engine.mode == "eager"
    same_run(runs["eager"], runs["cuda-graph"])  # same draws, same kernels: the same numbers


@cuda
def test_cuda_graph_resumes_exactly(cuda_mnist, tmp_path):  # pragma: no cover - GPU
    full = Trainer(tiny(steps=40, device="cuda", graph="cuda-graph"), data=cuda_mnist, progress=False)
    full.fit()
    cut = Trainer(tiny(steps=40, device="cuda", graph="cuda-graph"), data=cuda_mnist, out_dir=tmp_path, progress=False)
    cut.fit(steps=22)  # saved at the end of fit()
    resumed = Trainer(tiny(steps=40, device="cuda", graph="cuda-graph"), data=cuda_mnist, progress=False)
    resumed.load(tmp_path / "checkpoint.pt")
    resumed.fit()
    assert resumed.engine.mode == "cuda-graph"
    same_run(full, resumed)


@cuda
def test_cuda_capture_failure_falls_back(cuda_mnist, caplog):  # pragma: no cover - GPU
    eager = Trainer(tiny(device="cuda", graph="eager"), data=cuda_mnist, progress=False)
    eager.fit()
    tr = Trainer(tiny(device="cuda", graph="auto"), data=cuda_mnist, progress=False)
    if tr.engine.unsupported:
        pytest.skip(tr.engine.unsupported)
    tr.engine._capture = lambda: (_ for _ in ()).throw(RuntimeError("simulated capture failure"))
    records = run_quietly(tr, caplog)
    assert tr.engine.mode == "eager" and len(records) == 1 and "capture failed" in records[0].getMessage()
    same_run(eager, tr)


def test_the_plain_gan_loops():
    """gan.train_gan (a plain loop, not the engine): losses logged per interval (the last one shorter), snapshots at their steps and the end, a
    non-finite loss stops it with DivergenceError (a FloatingPointError, as before); train_discriminator: one loss
    per step."""
    from ssgan_lib import gan
    from ssgan_lib.engine import DivergenceError

    x = gan.ring_of_gaussians(500, seed=0)
    torch.manual_seed(0)
    G, D = gan.ToyGenerator(), gan.ToyDiscriminator()
    h = gan.train_gan(G, D, x, gan.GANConfig(steps=23, log_every=10, snapshot_every=10, batch_size=64, progress=False))
    assert h.step == [10, 20, 23] and h.snapshot_steps == [10, 20, 23] and len(h.snapshots) == 3
    assert len(gan.train_discriminator(D, x, torch.randn(300, 2), steps=7, batch_size=32)) == 7
    with torch.no_grad():
        D.net[0].weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="d_loss"):
        gan.train_gan(G, D, x, gan.GANConfig(steps=5, log_every=5, progress=False))
    assert issubclass(DivergenceError, FloatingPointError)


_FAULTS = """
import resource, sys, torch
from ssgan_lib.engine import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
def step():  # a temporary made, written and freed each step: 40 MB, above the 32 MB up to which glibc raises its
    return torch.ones(10_000_000).sum()  # own mmap threshold, so that the default maps it afresh every time
for _ in range(3):
    step()
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_keep_freed_memory_stops_the_page_faults_of_each_steps_temporaries():
    """With glibc's defaults, a large freed temporary goes back to the OS and faults in anew each step (about 10,000
    pages of 4 KB per 40 MB); after ``keep_freed_memory`` (what the CLI calls) it stays in the heap: almost none.
    (Smaller temporaries fault too by default, but fewer and varying with glibc's own dynamic threshold.)"""
    def faults(mode):
        out = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout.split()
        return out[0], int(out[1])
    kept, with_keep = faults("keep")
    if kept != "True":
        pytest.skip("not glibc: keep_freed_memory changes nothing here")
    _, default = faults("default")
    assert with_keep < 1000 and default > 20 * 5000, (with_keep, default)
