"""ssgan_lib.models: shapes, weight norm, data-dependent init, and the seed axis that never mixes runs."""
from __future__ import annotations

import pytest
import torch

from ssgan_lib.models import (DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, SalimansD,
                              SalimansG, WNLinear, count_parameters)
from ssgan_lib.config import TrainConfig
from ssgan_lib.train import build_models


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(*shape, seed=0) -> torch.Tensor:
    return torch.rand(*shape, 784, generator=gen(seed))


def slice_state(big: torch.nn.Module, s: int) -> dict:
    return {k: v[s:s + 1].clone() for k, v in big.state_dict().items()}


# ----------------------------------------------------------------------------------------------
def test_shapes():
    D, G = SalimansD(seeds=3), SalimansG(seeds=3)
    z = G.sample_z(5, generator=gen(0))
    assert z.shape == (3, 5, 100) and 0 <= z.min() and z.max() <= 1  # U(0, 1) codes
    x = G(z)
    assert x.shape == (3, 5, 784) and 0 <= x.min() and x.max() <= 1  # sigmoid pixels
    logits, feat = D(x)
    assert logits.shape == (3, 5, 10) and feat.shape == (3, 5, 250)
    assert [tuple(s) for s in D.noise_shapes(5)] == [(3, 5, d) for d in (784, 1000, 500, 250, 250, 250)]
    assert SalimansD(2, num_classes=11)(images(2, 4))[0].shape == (2, 4, 11)

    mg, md = MLPGenerator(), MLPDiscriminator()
    xm = mg(mg.sample_z(6, generator=gen(1)))
    assert xm.shape == (6, 784) and xm.abs().max() <= 1  # tanh pixels
    assert md(xm).shape == (6,) and torch.allclose(md.prob(xm), torch.sigmoid(md(xm)))

    dg, dd = DCGANGenerator(out="sigmoid"), DCGANDiscriminator()
    xd = dg(dg.sample_z(4, generator=gen(2)))
    assert xd.shape == (4, 784) and 0 <= xd.min() and xd.max() <= 1
    lg, fd = dd(xd)
    assert lg.shape == (4, 11) and fd.shape == (4, 256)
    assert DCGANGenerator()(torch.randn(2, 100)).abs().max() <= 1
    assert count_parameters(WNLinear(1, 3, 2, train_scale=False)) == 3 * 2 + 2  # theta and b; g frozen
    assert count_parameters(WNLinear(1, 3, 2, train_scale=True)) == 3 * 2 + 2 + 2


def test_wnlinear_column_norms_equal_g_and_forward_is_xw_plus_b():
    layer = WNLinear(3, 20, 7, train_scale=True)
    with torch.no_grad():
        layer.g.uniform_(0.2, 3.0, generator=gen(3))
        layer.b.normal_(generator=gen(4))
        layer.theta.mul_(torch.rand(3, 1, 7, generator=gen(5)) * 10)  # the norm must not depend on theta's scale
    W = layer.weight()
    assert W.shape == (3, 20, 7)
    assert torch.allclose(W.norm(dim=1, keepdim=True), layer.g, rtol=1e-5)  # ||W[:, j]|| = g_j
    x = torch.randn(3, 4, 20, generator=gen(6))
    ref = torch.stack([x[s] @ W[s] + layer.b[s] for s in range(3)])
    assert torch.allclose(layer(x), ref, atol=1e-5)


@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_wn_linear_backward_equals_autograd_of_its_formula(eps):
    """The hand-written backward of ``wn_linear`` against autograd through ``x @ (theta g / n) + b`` (float64), every
    input's gradient, and with only some inputs needing one (as D's frozen hidden scales and the G step have it)."""
    from ssgan_lib.models import wn_linear

    def formula(x, theta, g, b):
        n = torch.sqrt(theta.square().sum(dim=1, keepdim=True) + eps)
        return torch.baddbmm(b, x, theta * (g / n))

    g64 = gen(12)
    args = [torch.randn(2, 5, 6, generator=g64, dtype=torch.float64), torch.randn(2, 6, 4, generator=g64, dtype=torch.float64),
            torch.rand(2, 1, 4, generator=g64, dtype=torch.float64) + 0.5, torch.randn(2, 1, 4, generator=g64, dtype=torch.float64)]
    w = torch.randn(2, 5, 4, generator=g64, dtype=torch.float64)
    for needs in ([True] * 4, [False, True, False, True], [True, False, False, False]):
        a = [t.clone().requires_grad_(n) for t, n in zip(args, needs)]
        r = [t.clone().requires_grad_(n) for t, n in zip(args, needs)]
        out, ref = wn_linear(*a, eps=eps), formula(*r)
        torch.testing.assert_close(out, ref, rtol=1e-13, atol=1e-13)
        want = [t for t in a if t.requires_grad]
        got = torch.autograd.grad((out * w).sum(), want)
        exp = torch.autograd.grad((ref * w).sum(), [t for t in r if t.requires_grad])
        for x, y in zip(got, exp):
            torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda *t: wn_linear(*t, eps=eps), [t.clone().requires_grad_() for t in args])


def test_only_the_output_layer_trains_its_scale():
    D = SalimansD(2)
    params = {id(p) for p in D.parameters()}
    assert all(id(layer.g) not in params for layer in D.hidden)
    assert all("g" in dict(layer.named_buffers()) for layer in D.hidden)  # saved with the state
    assert id(D.out.g) in params


def test_data_init_standardises_each_pre_activation_on_its_batch():
    """Data-dependent init with the Gaussian noise on (as in the reference): replaying the same noise
    through ``forward``, every layer's pre-activation has mean 0 and variance 1 over the 500 images."""
    torch.manual_seed(0)
    D = SalimansD(2)
    x = images(2, 500, seed=7)
    D.data_init(x, generator=gen(11))
    g = gen(11)  # the same stream data_init drew from, in the same order
    noise = [torch.randn(s, generator=g) for s in D.noise_shapes(500)]
    sig = [D.sigma_in] + [D.sigma_hidden] * len(D.hidden)
    h = x
    for i, layer in enumerate(list(D.hidden) + [D.out]):
        a = layer(h + sig[i] * noise[i])
        mu, sd = a.mean(1), a.std(1, unbiased=False)
        assert torch.allclose(mu, torch.zeros_like(mu), atol=1e-4), (i, mu.abs().max())
        assert torch.allclose(sd, torch.ones_like(sd), atol=1e-3), (i, (sd - 1).abs().max())
        h = torch.relu(a)
    logits, _ = D(x, noise=noise)  # forward uses the noise in the same places
    assert torch.allclose(logits, a, atol=1e-5)
    # a different batch is not standardised exactly: the init really is data-dependent
    other = D(images(2, 500, seed=8), train=False)[0]
    assert (other.std(1) - 1).abs().max() > 1e-3


def test_eval_mode_has_no_noise_and_training_noise_is_seeded():
    D = SalimansD(1)
    x = images(1, 8, seed=9)
    assert torch.equal(D(x, train=False)[0], D(x, train=False)[0])
    a, b = D(x, generator=gen(1))[0], D(x, generator=gen(1))[0]
    assert torch.equal(a, b)
    assert not torch.allclose(a, D(x, generator=gen(2))[0])


def test_batched_discriminator_equals_separate_seeds():
    """S = 3 side by side == 3 models with S = 1, same parameters and same noise; seeds never mix."""
    torch.manual_seed(1)
    big = SalimansD(3)
    with torch.no_grad():
        for layer in list(big.hidden) + [big.out]:  # distinct scales and biases per seed
            layer.g.uniform_(0.5, 2.0, generator=gen(12))
            layer.b.normal_(generator=gen(13))
    x = images(3, 6, seed=10)
    noise = [torch.randn(s, generator=gen(14)) for s in big.noise_shapes(6)]
    logits, feat = big(x, noise=noise)
    for s in range(3):
        small = SalimansD(1)
        small.load_state_dict(slice_state(big, s))
        l1, f1 = small(x[s:s + 1], noise=[n[s:s + 1] for n in noise])
        assert torch.allclose(logits[s:s + 1], l1, atol=1e-5) and torch.allclose(feat[s:s + 1], f1, atol=1e-5)
        assert torch.allclose(big(x, train=False)[0][s:s + 1], small(x[s:s + 1], train=False)[0], atol=1e-5)
    # changing seed 1's input leaves seeds 0 and 2 bit-identical, and its loss has no gradient in them
    x2 = x.clone()
    x2[1] = images(6, seed=11)
    logits2, _ = big(x2, noise=noise)
    assert torch.equal(logits2[0], logits[0]) and torch.equal(logits2[2], logits[2])
    assert not torch.allclose(logits2[1], logits[1])
    big(x, noise=noise)[0][1].sum().backward()
    for name, p in big.named_parameters():
        assert p.grad[0].abs().max() == 0 and p.grad[2].abs().max() == 0, name
        assert p.grad[1].abs().max() > 0, name


def test_batched_generator_equals_separate_seeds():
    """Batch norm statistics are per seed: S = 2 side by side == 2 generators with S = 1."""
    torch.manual_seed(2)
    big = SalimansG(2)
    with torch.no_grad():
        big.beta1.normal_(generator=gen(15))
        big.g3.uniform_(0.5, 2.0, generator=gen(16))
    z = big.sample_z(7, generator=gen(17))
    z[1] *= 0.3  # very different batch statistics in seed 1
    out = big(z)
    for s in range(2):
        small = SalimansG(1)
        small.load_state_dict(slice_state(big, s))
        assert torch.allclose(out[s:s + 1], small(z[s:s + 1]), atol=1e-6)


@pytest.mark.parametrize("method", ["ssgan-fm", "sgan", "supervised"])
def test_build_models_run_s_is_the_single_run_with_seed_plus_s(method):
    D3, G3 = build_models(TrainConfig(seed=5, seeds=3, method=method))
    n_out = 11 if method == "sgan" else 10
    assert D3.out.theta.shape == (3, 250, n_out)
    assert (G3 is None) == (method == "supervised")
    for s in range(3):
        D1, G1 = build_models(TrainConfig(seed=5 + s, seeds=1, method=method))
        for k, v in D1.state_dict().items():
            assert torch.equal(D3.state_dict()[k][s:s + 1], v), (s, k)
        if G1 is not None:
            for k, v in G1.state_dict().items():
                assert torch.equal(G3.state_dict()[k][s:s + 1], v), (s, k)
    # the runs differ from each other, and building does not touch the global RNG
    assert not torch.equal(D3.out.theta[0], D3.out.theta[1])
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    build_models(TrainConfig(seed=5))
    assert torch.equal(torch.rand(1), before)


def test_build_models_dcgan_has_a_seed_axis_of_one():
    D, G = build_models(TrainConfig(model="dcgan", method="sgan"))
    z = G.sample_z(3, generator=gen(18))
    x = G(z)
    assert z.shape == (1, 3, 100) and x.shape == (1, 3, 784)
    logits, feat = D(x)
    assert logits.shape == (1, 3, 11) and feat.shape == (1, 3, 256)


def test_layer_table_lists_every_leaf_layer_and_the_total():
    from ssgan_lib.models import MLPGenerator, count_parameters, layer_table

    g = MLPGenerator()
    lines = layer_table(g).splitlines()
    linear = [m for m in g.modules() if isinstance(m, torch.nn.Linear)]
    # one row per linear layer (100-256-512-1024-784: four), batch norm and activation in the row before them
    assert len(lines) == 2 + len(linear) + 1 and all(len(line) <= 88 for line in lines)
    assert "Linear(100→256), LeakyReLU(0.2)" in lines[2]  # an activation joins the layer before it
    assert "Linear(256→512), BatchNorm" in lines[3]
    assert lines[-1].endswith(f"**{count_parameters(g):,}** |")
    assert sum(int(line.rsplit("|", 2)[1].replace(",", "")) for line in lines[2:-1]) == count_parameters(g)
