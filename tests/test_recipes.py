"""The two reference versions as presets: what each sets, that explicit fields win, the paper-era lr schedule
against the reference's formula, G's output init, which D is evaluated, and old checkpoints still loading."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from ssgan_lib.models import SalimansG
from ssgan_lib.recipes import RECIPES, get_recipe
from ssgan_lib.config import ConfigError
from ssgan_lib.train import Trainer
from ssgan_lib.config import config_from_dict, TrainConfig


def resolved_of(recipe: str) -> tuple:
    """The values a run of ``recipe`` (300 epochs) must use: the recipe's, read here from RECIPES."""
    r = RECIPES[recipe]
    return (recipe, r.lr, r.decay_fraction * 300, r.eval_params, r.g_data_init, r.g_norm_eps)


def values(cfg: TrainConfig) -> tuple:
    v = cfg.resolved
    return (v.recipe, v.lr, v.lr_decay_epochs, v.eval_params, v.g_data_init, v.g_norm_eps)


def test_presets_fill_only_the_fields_left_open():
    final, paper = TrainConfig(), TrainConfig(recipe="paper-2016-06")
    assert values(final) == (("final", 3e-3, 0.0, "averaged", False, 1e-6))
    assert values(paper) == pytest.approx(("paper-2016-06", 1e-3, 100.0, "raw", True, 0.0))  # the last 100 of 300
    assert final.lr is final.eval_params is final.g_data_init is final.lr_decay_epochs is None  # asked: the recipe's
    assert TrainConfig(recipe="paper-2016-06", epochs=90).resolved.lr_decay_epochs == pytest.approx(30.0)
    mixed = TrainConfig(recipe="paper-2016-06", lr=2e-3, eval_params="averaged", lr_decay_epochs=0)
    assert values(mixed) == ("paper-2016-06", 2e-3, 0.0, "averaged", True, 0.0)
    for bad in (dict(recipe="paper"), dict(eval_params="best"), dict(lr_decay_epochs=-1),
                dict(model="dcgan", recipe="paper-2016-06")):
        with pytest.raises(ConfigError):
            TrainConfig(**bad)  # checked as it is made
    with pytest.raises(ValueError, match="final, paper-2016-06"):
        get_recipe("nope")
    for r in RECIPES.values():  # each names the reference commit it follows
        assert len(r.commit) == 40 and r.url.endswith(f"/blob/{r.commit}/{r.path}")


@pytest.mark.parametrize("start,recipe", [("final", "paper-2016-06"), ("paper-2016-06", "final")])
def test_replacing_the_recipe_by_any_route_gives_exactly_that_recipes_values(start, recipe, capsys):
    """Issue 34: the recipe is resolved once, in one place; a run asked for ``recipe`` gets all of its values
    (lr, schedule, evaluated D, G's init and its norm's eps), never half of the one it was made from."""
    from ssgan_lib.cli import build_parser, config_overrides

    base = TrainConfig(recipe=start)
    args = build_parser().parse_args(["train", "--recipe", recipe, "--device", "cpu"])
    routes = {
        "constructor": TrainConfig(recipe=recipe),
        "dataclasses.replace": dataclasses.replace(base, recipe=recipe),
        "config_from_dict": config_from_dict({**dataclasses.asdict(base), "recipe": recipe}),
        "config_from_dict(asdict)": config_from_dict(dataclasses.asdict(TrainConfig(recipe=recipe))),
        "cli --recipe": TrainConfig(**config_overrides(args)),
    }
    for route, cfg in routes.items():
        assert values(cfg) == pytest.approx(resolved_of(recipe)), route
        assert dataclasses.asdict(cfg)["resolved"] == dataclasses.asdict(cfg.resolved), route  # stored whole
    with pytest.raises(dataclasses.FrozenInstanceError):  # resolved once: nothing changes it afterwards
        base.recipe = recipe
    # a field set explicitly stays set across the replacement
    kept = dataclasses.replace(TrainConfig(recipe=start, lr=5e-4), recipe=recipe)
    assert kept.resolved.lr == 5e-4 and kept.resolved.eval_params == RECIPES[recipe].eval_params


def test_the_run_reads_the_resolved_values(mnist):
    """build_models (G's norm eps), the lr schedule and the evaluated D of a replaced recipe are the new one's."""
    cfg = dataclasses.replace(TrainConfig(val_size=100), recipe="paper-2016-06")
    tr = Trainer(cfg, data=mnist, progress=False)
    assert tr.G.norm_eps == 0.0 and tr.lr_at(0) == 1e-3 and tr.lr_at(299) == pytest.approx(1e-5)
    assert tr.predict("val", params=None)[0].shape == (1, 100)
    assert cfg.resolved.eval_params == "raw"


def test_a_stored_config_round_trips():
    cfg = TrainConfig(recipe="paper-2016-06", epochs=90, seeds=2)
    again = config_from_dict(dataclasses.asdict(cfg))
    assert again == cfg and again.resolved == cfg.resolved
    # a record stored before "resolved" existed has its recipe's values filled in: they count as explicit (and
    # equal the recipe's); one from before the recipes had names (no 'recipe') is the final recipe
    old = config_from_dict({"labels": 100, "lr": 3e-3, "lr_decay_epochs": 0, "eval_params": "averaged",
                            "g_data_init": False, "epochs": 100})
    assert old.recipe == "final" and old.resolved == TrainConfig(epochs=100).resolved


def test_paper_schedule_is_the_reference_formula(mnist):
    tr = Trainer(TrainConfig(recipe="paper-2016-06", val_size=100), data=mnist, progress=False)
    for epoch in (0, 150, 199, 200, 201, 250, 299):
        want = 1e-3 * min(3.0 - epoch / 100.0, 1.0)  # start_lr * np.minimum(3. - epoch/100., 1.)
        assert tr.lr_at(epoch) == pytest.approx(want, abs=1e-12), epoch
        tr.step = epoch * tr.steps_per_epoch
        tr._new_epoch()
        assert float(tr.opt_d.lr) == pytest.approx(want) and float(tr.opt_g.lr) == pytest.approx(want)
    final = Trainer(TrainConfig(val_size=100), data=mnist, progress=False)
    assert {final.lr_at(e) for e in (0, 150, 299)} == {3e-3}


def test_g_output_init_standardises_with_one_scalar_per_seed():
    torch.manual_seed(0)
    G = SalimansG(seeds=2, norm_eps=0.0)
    z = G.sample_z(100)
    G.data_init(z)
    w = G.w3 * (G.g3 / G.w3.square().sum(dim=1, keepdim=True).sqrt())
    a = torch.baddbmm(G.b3, G._hidden(z), w)  # the output pre-activation on the init batch
    assert a.mean(dim=1).abs().max() < 1e-5  # every unit centred
    assert torch.allclose(a.square().mean(dim=(1, 2)), torch.ones(2), atol=1e-5)  # one overall scale per seed
    per_unit = a.square().mean(dim=1)
    assert per_unit.std() > 0.05  # not standardised unit by unit (that would be the final script's D init)
    g = G.g3.flatten(1)
    assert torch.allclose(g, g[:, :1].expand_as(g))  # the scale is one number per seed


def test_paper_recipe_inits_g_and_evaluates_the_raw_d(mnist):
    cfg = TrainConfig(recipe="paper-2016-06", steps=12, val_size=200, log_every=6, eval_every=6)
    tr = Trainer(cfg, data=mnist, progress=False)
    tr.fit()
    assert not torch.allclose(tr.G.g3, torch.ones_like(tr.G.g3))
    h = tr.history
    assert h["eval_step"] == [6, 12] and len(h["val_acc"]) == len(h["val_acc_raw"]) == 2
    assert tr.evaluate("val") == tr.evaluate("val", params="raw") == h["val_acc_raw"][-1]
    assert tr.evaluate("val", params="averaged") == h["val_acc"][-1]
    final = Trainer(TrainConfig(steps=1, val_size=200), data=mnist, progress=False)
    final._init_data_dependent()
    assert torch.equal(final.G.g3, torch.ones_like(final.G.g3))  # the final script: scale 1, bias 0 at the start
    assert final.cfg.resolved.eval_params == "averaged"


def test_a_checkpoint_from_before_the_recipes_resumes(mnist, tmp_path):
    tr = Trainer(TrainConfig(steps=4, val_size=100, log_every=2), data=mnist, out_dir=tmp_path, progress=False)
    tr.fit(2)
    state = tr.state_dict()
    for k in ("recipe", "eval_params", "g_data_init"):  # what an older checkpoint did not have
        state["config"].pop(k)
    state["config"]["lr_decay_epochs"] = 0
    again = Trainer(TrainConfig(steps=4, val_size=100, log_every=2), data=mnist, out_dir=tmp_path, progress=False)
    again.load_state_dict(state)
    assert again.step == 2
    paper = Trainer(TrainConfig(steps=4, val_size=100, recipe="paper-2016-06"), data=mnist, progress=False)
    with pytest.raises(Exception, match="recipe"):
        paper.load_state_dict(state)


def test_markdown_table_has_one_row_per_recipe_with_its_commit_linked():
    from ssgan_lib.recipes import REFERENCE_REPO, markdown_table

    lines = markdown_table().splitlines()
    assert len(lines) == 2 + len(RECIPES) and all(line.count("|") == 7 for line in lines)
    for r, line in zip(RECIPES.values(), lines[2:]):
        assert f"`{r.name}`" in line and f"{REFERENCE_REPO}/blob/{r.commit}/{r.path}" in line
        assert f"| {r.schedule} |" in line and f"| {r.g_init} |" in line


def test_a_config_is_checked_once_when_made(mnist, monkeypatch):
    """Checked (and resolved) at construction; the trainer does not check it again for MNIST's 60,000 images."""
    calls, real = [], TrainConfig.validate
    monkeypatch.setattr(TrainConfig, "validate", lambda self, n_train=60_000: (calls.append(n_train), real(self, n_train)))
    cfg = TrainConfig(steps=1, val_size=100)
    Trainer(cfg, data=mnist, progress=False)
    assert calls == [60_000]
