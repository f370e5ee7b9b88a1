"""RunInfo: modes, sizes and their time estimates, persistent run folders that continue."""
from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from ssgan_lib.evidence import runinfo
from ssgan_lib.evidence.runinfo import MODES, STEP_GFLOP, RunInfo, detect_mode, step_seconds
from ssgan_lib.config import TrainConfig


@pytest.mark.parametrize("env, cuda, mode", [({"CI": "1"}, False, "smoke"), ({"CI": "1"}, True, "smoke"),
                                              ({}, False, "cpu"), ({}, True, "gpu"),
                                              ({"SSGAN_MODE": "full"}, False, "full"),
                                              ({"CI": "true", "SSGAN_MODE": "GPU"}, False, "gpu")])
def test_mode_is_gpu_on_a_gpu_and_full_only_when_asked(monkeypatch, env, cuda, mode):
    for k in ("CI", "SSGAN_MODE"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert detect_mode() == mode


def test_bad_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SSGAN_MODE", "huge")
    with pytest.raises(ValueError, match="SSGAN_MODE must be one of smoke, cpu, gpu, full"):
        detect_mode()
    with pytest.raises(ValueError, match="mode must be one of"):
        RunInfo("x", mode="huge")


def test_size_returns_this_modes_value_and_records_every_modes_work():
    run = RunInfo("t", mode="gpu")
    assert run.size(smoke=1, cpu=10, gpu=100, full=1000, work={"ssgan": 2}) == 100
    assert run.pick(smoke=1, cpu=2, full=3) == 3 and run.pick(smoke=1, cpu=2, full=3, gpu=4) == 4
    est = run.estimates()
    for m, steps in zip(MODES, (1, 10, 100, 1000)):
        for device in runinfo.DEVICES:
            assert est[m][device] == pytest.approx(2 * steps * step_seconds("ssgan", device))
    with pytest.raises(ValueError, match="unknown kind of step"):
        run.size(smoke=1, cpu=1, gpu=1, full=1, work="resnet")


def test_step_seconds_are_the_measured_times_of_every_kind():
    for device, ms in runinfo.DEVICES.items():
        assert set(ms) == set(STEP_GFLOP), f"{device}: a kind of step without a measured time"
        for kind in STEP_GFLOP:
            assert step_seconds(kind, device) == pytest.approx(ms[kind] / 1000) and ms[kind] > 0


def test_explain_shows_every_mode_and_device(capsys, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj.data))
    run = RunInfo("t", mode="cpu")
    run.size(smoke=10, cpu=600, gpu=6000, full=180_000, work="ssgan")
    run.explain()
    text = shown[0]
    assert "size **cpu**" in text and "**cpu** (this run)" in text and "SSGAN_MODE" in text
    for device in runinfo.DEVICES:
        assert device in text
    assert "| full | " in text and " h |" in text  # 180,000 SSGAN steps on a CPU take hours
    assert "smoke" not in text  # the automatic checks' size is listed only when it runs
    assert "start afresh" in text and "runs/" not in text  # this chapter saves nothing: it says so
    run.explain(saves_runs=True)
    assert "saved in `runs/`" in shown[1] and "afresh" not in shown[1]


def _flops(fn) -> float:
    fn()  # first call: data-dependent init, lazy set-up
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops() / 1e9


@pytest.mark.slow  # counts the FLOPs of every kind of step
def test_step_flops_match_the_library(mnist):
    """STEP_GFLOP was measured on the library's steps; a change of a network or a batch must update it."""
    from ssgan_lib.gan import GANConfig, train_gan
    from ssgan_lib.metrics import train_feature_net
    from ssgan_lib.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
    from ssgan_lib.train import Trainer

    measured = {}
    for method, kind in (("ssgan-fm", "ssgan"), ("sgan", "sgan"), ("supervised", "supervised")):
        tr = Trainer(TrainConfig(method=method, labels=100, seeds=1, epochs=1, eval_every=0, log_every=1000,
                                 device="cpu"), data=mnist, progress=False)
        measured[kind] = _flops(lambda: tr.fit(1))
    x = mnist.train_x[:512] * 2 - 1

    def per_step(train):  # one more step, whatever a run does once (snapshots, set-up)
        return _flops(lambda: train(2)) - _flops(lambda: train(1))

    gan = lambda G, D: lambda n: train_gan(G, D, x, GANConfig(steps=n, progress=False, log_every=1))  # noqa: E731
    measured["mlp_gan"] = per_step(gan(MLPGenerator(), MLPDiscriminator()))
    for w in (32, 64):
        measured[f"dcgan{w}"] = per_step(gan(DCGANGenerator(width=w), DCGANDiscriminator(n_out=1, width=w)))
    measured["feature_net"] = per_step(lambda n: train_feature_net(mnist.train_x[:512], mnist.train_y[:512], steps=n))
    for kind, gflop in measured.items():
        assert gflop == pytest.approx(STEP_GFLOP[kind], rel=0.05), f"{kind}: measured {gflop:.2f} GFLOP per step"


def test_run_dir_is_beside_the_notebook_per_mode_and_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SSGAN_RUNS_DIR", raising=False)
    run = RunInfo("06 improved gan", mode="cpu")
    a, b = TrainConfig(labels=100), TrainConfig(labels=50)
    assert run.run_dir("fm", a) == run.run_dir("fm", TrainConfig(labels=100))
    assert run.run_dir("fm", a) != run.run_dir("fm", b)
    assert run.run_dir("fm", a).parent == __import__("pathlib").Path("runs/06_improved_gan")
    assert run.run_dir("fm").name == "fm-cpu"
    monkeypatch.setenv("SSGAN_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert run.run_dir("fm").parent == tmp_path / "elsewhere" / "06_improved_gan"


def test_trainer_continues_a_run_when_the_cell_runs_again(tmp_path, monkeypatch, mnist, capsys):
    monkeypatch.setenv("SSGAN_RUNS_DIR", str(tmp_path))
    cfg = dict(method="ssgan-fm", labels=20, seeds=1, steps=6, eval_every=0, log_every=2,
               device="cpu", val_size=0)
    run = RunInfo("t", mode="smoke")
    given = TrainConfig(**cfg)
    tr = run.trainer(given, data=mnist)
    assert tr.cfg is given and given.ckpt_every is None and tr.ckpt_every == tr.steps_per_epoch  # TrainConfig's
    tr.fit(steps=4)  # the session is lost here
    again = RunInfo("t", mode="smoke").trainer(TrainConfig(**cfg), data=mnist)
    assert again.step == 4 and "continuing" in capsys.readouterr().out
    again.fit()
    fresh = RunInfo("t", mode="smoke").trainer(TrainConfig(**cfg), data=mnist)
    assert fresh.step == 6  # finished: nothing left to run
    # (that the continued run is the uninterrupted one, bit for bit: test_trainer_contract)
