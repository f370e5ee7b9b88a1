"""The library's random draws against the reference's (issue 35, item 3): G's latent codes and D's Gaussian-layer
noise as ``Trainer.draw_inputs`` draws them and ``SalimansD.forward`` applies them, against what the unchanged
Theano script draws (``theano_rng.uniform`` for z, ``nn.GaussianNoiseLayer`` with sigma 0.3 on the input and
0.5 after each hidden layer). The RNGs differ, so the comparison is of distributions: shapes, range, moments,
Kolmogorov-Smirnov distances, and the sigma each layer applies, measured by hooks in D's forward.
``tests/data/oracle_beyond_draws.json`` comes from ``book/_tools/reference_oracle/export_beyond.py draws``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ORACLE = Path(__file__).resolve().parents[1] / "book" / "_tools" / "reference_oracle"
if str(ORACLE) not in sys.path:
    sys.path.insert(0, str(ORACLE))
import beyond as BY  # noqa: E402

REF = json.loads((Path(__file__).parent / "data" / "oracle_beyond_draws.json").read_text())
DRAWS = 8


@pytest.fixture(scope="module")
def drawn(mnist):
    from ssgan_lib.train import Trainer
    from ssgan_lib.config import TrainConfig

    tr = Trainer(TrainConfig(labels=100, seed=3, steps=50, val_size=0, eval_every=0, log_every=10**9), data=mnist,
                 progress=False)
    tr._new_epoch()
    out = []
    for _ in range(DRAWS):
        out.append(tr.draw_inputs())
        tr.batches.advance()
    return tr, out


def test_latent_codes_are_drawn_as_the_reference_draws_them(drawn):
    tr, inps = drawn
    ref = REF["z"]
    for inp in inps:
        assert tuple(inp["z"].shape) == (1, *ref["batch_shape"]) and inp["z"].shape == inp["z2"].shape
        assert not torch.equal(inp["z"], inp["z2"])  # the G step draws its own batch, as the reference's 2nd call
    z = torch.cat([torch.cat([i["z"], i["z2"]]) for i in inps]).numpy().ravel()
    assert ref["in_unit_interval"] and np.all((z >= 0) & (z < 1)), "z outside [0, 1)"
    m, r = BY.moments(z), ref["moments"]
    se = np.sqrt(1 / 12) * np.sqrt(1 / m["n"] + 1 / r["n"])
    assert abs(m["mean"] - r["mean"]) < 6 * se, (m["mean"], r["mean"])
    assert abs(m["std"] / r["std"] - 1) < 0.01, (m["std"], r["std"])  # U(0,1): 0.2887
    assert abs(m["kurt"] - r["kurt"]) < 0.03, (m["kurt"], r["kurt"])  # U(0,1): 1.8, a Gaussian 3
    assert BY.ks_uniform(z) < BY.ks_crit(len(z)) and ref["ks_uniform"] < BY.ks_crit(r["n"])
    d = BY.ks_two_sample(z, ref["sample"])
    assert d < BY.ks_crit(len(z), len(ref["sample"])), f"KS distance to the reference's z: {d:.4f}"


def _added_noise(D, noise):
    """Run D's training forward on a zero input with the given standard-normal noise; what each of its six
    noise layers added (input of dense layer i minus the ReLU output of layer i-1, or minus 0)."""
    ins, outs = [], []
    layers = list(D.hidden) + [D.out]
    hooks = [l.register_forward_pre_hook(lambda m, a: ins.append(a[0].detach().clone())) for l in layers]
    hooks += [l.register_forward_hook(lambda m, a, o: outs.append(o.detach().clone())) for l in D.hidden]
    try:
        with torch.no_grad():
            D(torch.zeros(noise[0].shape), noise, train=True)
    finally:
        for h in hooks:
            h.remove()
    return [ins[0]] + [ins[i] - torch.relu(outs[i - 1]) for i in range(1, len(layers))]


@pytest.mark.parametrize("which", ["noise_d", "noise_g"])
def test_gaussian_noise_per_layer_has_the_reference_sigma(drawn, which):
    tr, inps = drawn
    D, B = tr.D, tr.cfg.batch_size
    rows = 3 * B if which == "noise_d" else 2 * B  # D step: lab, unl, fake; G step: real, fake
    for inp in inps:
        assert [tuple(n.shape) for n in inp[which]] == [(1, rows, r["dim"]) for r in REF["noise"]]
    std_normal = [torch.cat([i[which][k] for i in inps], 1) for k in range(6)]
    for k, r in enumerate(REF["noise"]):
        a = std_normal[k].numpy().ravel()
        d = BY.ks_two_sample(a, r["standardised_sample"])
        assert d < BY.ks_crit(len(a), len(r["standardised_sample"])), (k, d)
        assert abs(a.mean()) < 6 / np.sqrt(a.size) and abs(a.std() - 1) < 6 / np.sqrt(2 * a.size), k
    added = _added_noise(D, inps[0][which])
    for k, (add, n, r) in enumerate(zip(added, inps[0][which], REF["noise"])):
        # sigma as applied: the regression of what the layer added on the standard-normal draw (exact up to
        # rounding), and the spread of what it added against the spread of the reference layer's output
        sig = float((add * n).sum() / (n * n).sum())
        assert sig == pytest.approx(r["sigma"], rel=1e-5), f"layer {k}: sigma {sig:.4f}, reference {r['sigma']}"
        spread = float(add.std())
        assert spread == pytest.approx(r["moments"]["std"], rel=0.03), (k, spread, r["moments"]["std"])
