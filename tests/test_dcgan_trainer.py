"""The trainer with the dcgan model: D has batch norm, so every batch (labelled, unlabelled, generated)
goes through D in its own forward and is normalised by its own statistics (chapter 4's rule: never real
and generated images together); the MLP D keeps its one concatenated forward; the settings that only the MLP
pair has are refused. That the dcgan run learns, is deterministic and resumes exactly: test_trainer_contract."""
from __future__ import annotations

import copy

import pytest
import torch

from ssgan_lib import losses
from ssgan_lib.config import ConfigError
from ssgan_lib.train import Trainer
from ssgan_lib.config import TrainConfig

METHODS = ("ssgan-fm", "sgan")


pytestmark = pytest.mark.usefixtures("one_thread")


def dcgan(method: str, **kw) -> TrainConfig:
    base = dict(model="dcgan", method=method, labels=100, steps=2, val_size=100, log_every=1, eval_every=0)
    base.update(kw)
    return TrainConfig(**base)


def ready(cfg: TrainConfig, mnist) -> Trainer:
    """A trainer just before its first step (init done, first epoch drawn)."""
    tr = Trainer(cfg, data=mnist, progress=False)
    tr._init_data_dependent()
    tr._new_epoch()
    return tr


# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_every_d_forward_sees_one_batch(mnist, method):
    tr = ready(dcgan(method, batch_size=20), mnist)
    seen = []  # images per forward of the DCGAN discriminator (its input is (B, 784) under the seed axis)
    hook = tr.D.net.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[0]))
    try:
        tr.train_step(tr.draw_inputs())
    finally:
        hook.remove()
    assert seen == [20] * 5  # D step: labelled, unlabelled, generated; G step: real, generated


@pytest.mark.parametrize("method", METHODS)
def test_d_step_losses_are_those_of_separate_forwards(mnist, method):
    """loss_lab (and loss_unl) of a step equal the losses of D run, in train mode, on each batch alone."""
    tr = ready(dcgan(method, batch_size=20), mnist)
    D, G = copy.deepcopy(tr.D), copy.deepcopy(tr.G)  # same state; the step updates the originals
    inp = tr.draw_inputs()
    with torch.no_grad():
        fake = G(inp["z"])
        l_lab, l_unl, l_fake = (D(x, train=True)[0] for x in (inp["x_lab"], inp["x_unl"], fake))
    if method == "ssgan-fm":  # K logits from the K+1 head
        l_lab, l_unl, l_fake = (losses.k_plus_one_to_k(v) for v in (l_lab, l_unl, l_fake))
        want_unl = losses.unsupervised_loss(l_unl, l_fake)
    else:
        want_unl = losses.sgan_unsupervised_loss(l_unl, l_fake)
    want_lab = losses.supervised_loss(l_lab, inp["y_lab"])
    stats = tr.train_step(inp)
    got_lab, got_unl = stats[:, 0], stats[:, 1]  # the step's losses
    torch.testing.assert_close(got_lab, want_lab, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_unl, want_unl, rtol=1e-5, atol=1e-6)


def test_the_mlp_d_sees_the_d_steps_batches_in_one_forward(mnist):
    tr = ready(TrainConfig(labels=100, steps=1, val_size=100, batch_size=20, eval_every=0), mnist)
    seen = []
    hook = tr.D.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[1]))
    try:
        tr.train_step(tr.draw_inputs())
    finally:
        hook.remove()
    assert seen == [60, 20, 20]  # D step: 3B images at once; G step: the real batch (no graph), then the generated
    # the G step's two forwards, each with its rows of the noise, are the one forward of both, row for row
    inp = tr.draw_inputs()
    x = torch.cat([inp["x_unl2"], tr.G(inp["z2"])], dim=1)
    with torch.no_grad():
        _, both = tr.D(x, inp["noise_g"])
        _, real = tr.D(x[:, :20], [n[:, :20] for n in inp["noise_g"]])
        _, fake = tr.D(x[:, 20:], [n[:, 20:] for n in inp["noise_g"]])
    torch.testing.assert_close(torch.cat([real, fake], dim=1), both, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("setting", [dict(sigma_in=0.0), dict(sigma_hidden=0.2), dict(hidden_scale="trainable"),
                                     dict(data_init=False), dict(g_data_init=True)], ids=lambda d: next(iter(d)))
def test_mlp_only_settings_are_refused(setting):
    name = next(iter(setting))
    with pytest.raises(ConfigError, match=rf"^{name} \(.*\) applies to the mlp model only") as err:
        dcgan("ssgan-fm", **setting).validate()
    assert str(err.value).count(". ") == 0  # one sentence
    TrainConfig(**setting).validate()  # the mlp model takes it


def test_dcgan_defaults_and_explicit_defaults_are_accepted():
    TrainConfig(model="dcgan").validate()
    dcgan("sgan", sigma_in=0.3, sigma_hidden=0.5, hidden_scale="frozen", data_init=True, g_data_init=False).validate()
    with pytest.raises(ConfigError, match="g_data_init"):  # the paper-era recipe's G init is MLP-only
        TrainConfig(model="dcgan", recipe="paper-2016-06").validate()
    with pytest.raises(ConfigError, match="one seed"):
        TrainConfig(model="dcgan", seeds=2).validate()


@pytest.mark.parametrize("method", METHODS)
def test_generated_batches_stay_out_of_the_running_statistics(mnist, method):
    """Evaluation normalises by the running statistics: only real batches may update them."""
    tr = ready(dcgan(method, batch_size=20), mnist)
    bn = next(m for m in tr.D.net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    tracked = []
    hook = bn.register_forward_pre_hook(lambda mod, args: tracked.append(mod.track_running_stats))
    try:
        tr.train_step(tr.draw_inputs())
    finally:
        hook.remove()
    assert tracked == [True, True, False, True, False]  # D step: lab, unl, fake; G step: real, fake
    assert bn.track_running_stats  # restored
    assert int(bn.num_batches_tracked) == 3
