"""The ablation switches (chapter 6's "which details matter"): each default is the reference recipe, and each
switch changes exactly the piece it names."""
from __future__ import annotations

import pytest
import torch

from ssgan_lib.optim import PaperAdam
from ssgan_lib.config import ConfigError
from ssgan_lib.train import Trainer
from ssgan_lib.config import TrainConfig


def test_eps_outside_is_torch_adam():
    """adam_eps_place="outside" is torch.optim.Adam step for step; "inside" is not (it floors the
    denominator at sqrt(eps) = 1e-4, which matters exactly for the small gradients used here)."""
    g = torch.Generator().manual_seed(0)
    p0 = torch.randn(50, generator=g)
    grads = [torch.randn(50, generator=g) * 10.0 ** -torch.randint(2, 7, (50,), generator=g) for _ in range(20)]
    ref = p0.clone().requires_grad_(True)
    torch_adam = torch.optim.Adam([ref], lr=3e-3, betas=(0.5, 0.999), eps=1e-8)
    outside, inside = p0.clone(), p0.clone()
    opt_out = PaperAdam([outside], lr=3e-3, betas=(0.5, 0.999), eps=1e-8, eps_inside=False)
    opt_in = PaperAdam([inside], lr=3e-3, betas=(0.5, 0.999), eps=1e-8)
    for gr in grads:
        ref.grad = gr.clone()
        torch_adam.step()
        opt_out.step([gr])
        opt_in.step([gr])
    assert torch.allclose(outside, ref.detach(), rtol=1e-5, atol=1e-7)
    assert not torch.allclose(inside, ref.detach(), rtol=1e-3, atol=1e-5)


def _trainer(mnist, **kw) -> Trainer:
    cfg = TrainConfig(labels=20, steps=2, val_size=100, log_every=1, eval_every=0, **kw)
    return Trainer(cfg, data=mnist, progress=False)


def test_reference_defaults_freeze_hidden_scales(mnist):
    tr = _trainer(mnist)
    assert TrainConfig().hidden_scale == "frozen" and TrainConfig().adam_eps_place == "inside" and TrainConfig().data_init
    names = {n for n, _ in tr.D.named_parameters()}
    assert not any(n.startswith("hidden.") and n.endswith(".g") for n in names) and "out.g" in names
    tr.fit()  # data-dependent init, then 2 steps
    g_after_init = [layer.g.clone() for layer in tr.D.hidden]
    assert all(not torch.equal(g, torch.ones_like(g)) for g in g_after_init)  # the init set them
    tr.total_steps = 4
    tr.fit()
    assert all(torch.equal(a, layer.g) for a, layer in zip(g_after_init, tr.D.hidden))  # frozen while training


def test_trainable_hidden_scales_train(mnist):
    tr = _trainer(mnist, hidden_scale="trainable")
    names = {n for n, _ in tr.D.named_parameters()}
    assert {f"hidden.{i}.g" for i in range(5)} <= names
    tr.fit()
    g_after_init = [layer.g.detach().clone() for layer in tr.D.hidden]
    tr.total_steps = 4
    tr.fit()
    assert all(not torch.equal(a, layer.g) for a, layer in zip(g_after_init, tr.D.hidden))


def test_no_data_init_keeps_unit_scales_and_zero_biases(mnist):
    tr = _trainer(mnist, data_init=False)
    tr._init_data_dependent()
    assert tr.initialised
    for layer in list(tr.D.hidden) + [tr.D.out]:
        assert torch.equal(layer.g, torch.ones_like(layer.g)) and torch.equal(layer.b, torch.zeros_like(layer.b))
    ref = _trainer(mnist)
    ref._init_data_dependent()
    assert not torch.equal(ref.D.hidden[0].g, torch.ones_like(ref.D.hidden[0].g))


@pytest.mark.parametrize("field,value,words", [("hidden_scale", "learned", "hidden_scale"),
                                               ("adam_eps_place", "both", "adam_eps_place")])
def test_bad_switch_is_one_clear_error(field, value, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig(**{field: value}).validate()


def test_cli_records_the_switch_and_collect_gathers_the_variants(main_cli, tmp_path):
    """End to end: a tiny `train` run of one variant (its overrides as flags), then `collect` into one file chapter 6
    reads with ``ssgan_lib.runs``."""
    import json

    from conftest import FAST_ARGS, needs_data
    from ssgan_lib.ablation import VARIANTS, collect
    from ssgan_lib.cli import flag_of
    from ssgan_lib.evidence.records import last_val, val_curve

    needs_data()
    with pytest.raises(FileNotFoundError, match="no finished variant"):
        collect(tmp_path / "abl", tmp_path / "out.json")
    flags = [a for k, v in VARIANTS["trainable-scales"][1].items() for a in (flag_of(k), str(v))]
    assert flags == ["--hidden-scale", "trainable"]
    r = main_cli(["--labels", "20", *FAST_ARGS, "--out", "abl/trainable-scales", *flags])
    assert r.code == 0, r.err
    m = json.loads((tmp_path / "abl/trainable-scales/metrics.json").read_text())
    assert m["recipe"]["hidden_scale"] == "trainable" and m["recipe"]["adam_eps_place"] == "inside"
    result = collect(tmp_path / "abl", tmp_path / "out.json")
    assert list(result["variants"]) == ["trainable-scales"]  # only finished variants
    assert result["variants"]["trainable-scales"]["overrides"] == {"hidden_scale": "trainable"}
    assert json.loads((tmp_path / "out.json").read_text()) == result
    epochs, vals = val_curve(result["variants"]["trainable-scales"])
    assert epochs[-1] == pytest.approx(20 / 600) and len(vals[-1]) == 1
    assert last_val(result["variants"]["trainable-scales"])["mean"] == pytest.approx(100 * m["val_accuracy_per_seed"][0])


def test_every_variant_is_a_valid_config_and_the_variants_command_trains_them(mnist, tmp_path, capsys):
    """Each variant's overrides make a valid TrainConfig that differs from the reference in exactly those fields;
    ``variants`` trains each into its folder, skips finished ones, continues one cut short, and collects."""
    from dataclasses import asdict

    from ssgan_lib import cli, runs
    from ssgan_lib.evidence.records import load_run
    from ssgan_lib.ablation import VARIANTS
    from ssgan_lib.recipes import STUDY
    from ssgan_lib.config import TrainConfig

    ref = asdict(TrainConfig())
    for group in (VARIANTS, STUDY):
        for name, (what, overrides) in group.items():
            cfg = TrainConfig(**overrides)  # checked as it is made
            assert {k for k, v in asdict(cfg).items() if v != ref[k]} <= set(overrides) | {"resolved"}, name
    variants = {k: VARIANTS[k] for k in ("reference", "no-data-init")}
    base = dict(labels=20, steps=4, val_size=100, eval_every=4, log_every=2, ckpt_every=2, device="cpu")
    (tmp_path / "no-data-init").mkdir()
    runs.train_run(TrainConfig(**base, data_init=False), tmp_path / "no-data-init", progress=False, data=mnist)
    (tmp_path / "no-data-init" / "metrics.json").unlink()  # as if cut short after its last checkpoint
    assert runs.train_variants(variants, tmp_path, base, progress=False, data=mnist, log=lambda s: None) == \
        ["reference", "no-data-init"]
    assert runs.train_variants(variants, tmp_path, base, progress=False, data=mnist, log=lambda s: None) == []
    m = load_run(tmp_path / "no-data-init" / "metrics.json")
    assert m["config"]["data_init"] is False and m["steps"] == 4
    code = cli.main(["variants", "nonsense", "--root", str(tmp_path / "x")])
    assert code == 2 and capsys.readouterr().err.startswith("error: unknown group")
