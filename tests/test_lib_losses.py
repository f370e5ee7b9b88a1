"""Every loss against a direct float64 evaluation of its docstring formula (plain exp and log), on random
inputs with logits up to +-300 (float64 exp does not overflow there; float32 naive code would)."""
from __future__ import annotations

import pytest
import torch

from ssgan_lib import losses
from ssgan_lib.optim import ParamAverage, PaperAdam

D64 = torch.float64


def logits(*shape, scale=3.0, seed=0, extreme=False):
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(*shape, generator=g)
    if extreme:  # a few huge positive and negative logits
        x.view(-1)[::7] = 300.0
        x.view(-1)[3::11] = -300.0
    return x


def sig(x):  # sigma(x) = 1 / (1 + e^-x), float64
    return 1.0 / (1.0 + torch.exp(-x.to(D64)))


def softmax64(x):
    x = x.to(D64)
    e = torch.exp(x)
    return e / e.sum(-1, keepdim=True)


SHAPES = [(64,), (3, 64)]  # (B,) and (S, B)
CASES = [(s, e) for s in SHAPES for e in (False, True)]


def close(a, b, rtol=1e-4, atol=1e-4):
    assert torch.isfinite(a).all(), f"library value not finite: {a}"
    assert a.shape == b.shape, (a.shape, b.shape)
    assert torch.allclose(a.to(D64), b, rtol=rtol, atol=atol), (a, b)


@pytest.mark.parametrize("shape,extreme", CASES)
def test_binary_gan_losses(shape, extreme):
    lr, lf = logits(*shape, extreme=extreme, seed=1), logits(*shape, extreme=extreme, seed=2)
    # L_D = -E log D(x) - E log(1 - D(G(z))); 1 - sigma(l) written as sigma(-l)
    ref_d = -torch.log(sig(lr)).mean(-1) - torch.log(sig(-lf)).mean(-1)
    close(losses.d_loss(lr, lf), ref_d)
    close(losses.g_loss_minimax(lf), torch.log(sig(-lf)).mean(-1))
    close(losses.g_loss_nonsaturating(lf), -torch.log(sig(lf)).mean(-1))


def test_minimax_saturates_and_nonsaturating_does_not():
    lf = torch.tensor([-8.0], requires_grad=True)  # D is sure the fake is fake
    (g_mm,) = torch.autograd.grad(losses.g_loss_minimax(lf), lf)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(lf), lf)
    assert abs(g_mm) < 1e-3 < 0.9 < abs(g_ns)


@pytest.mark.parametrize("shape,extreme", CASES)
def test_sgan_losses(shape, extreme):
    K1 = 11
    ll, lu, lf = (logits(*shape, K1, extreme=extreme, seed=s) for s in (3, 4, 5))
    y = torch.randint(10, shape, generator=torch.Generator().manual_seed(6))
    pl, pu, pf = softmax64(ll), softmax64(lu), softmax64(lf)
    sup = -torch.log(pl.gather(-1, y.unsqueeze(-1)).squeeze(-1)).mean(-1)
    real = -torch.log(pu[..., :10].sum(-1)).mean(-1)  # 1 - p(K+1|x) = sum of the real classes
    fake = -torch.log(pf[..., 10]).mean(-1)
    close(losses.sgan_d_loss(ll, y, lu, lf), sup + real + fake, rtol=1e-4, atol=1e-3)
    close(losses.sgan_unsupervised_loss(lu, lf), real + fake, rtol=1e-4, atol=1e-3)
    close(losses.sgan_g_loss(lf), -torch.log(pf[..., :10].sum(-1)).mean(-1), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("shape,extreme", CASES)
def test_salimans_losses(shape, extreme):
    ll, lu, lf = (logits(*shape, 10, extreme=extreme, seed=s) for s in (7, 8, 9))
    y = torch.randint(10, shape, generator=torch.Generator().manual_seed(10))
    sup = -torch.log(softmax64(ll).gather(-1, y.unsqueeze(-1)).squeeze(-1)).mean(-1)
    Zu, Zf = torch.exp(lu.to(D64)).sum(-1), torch.exp(lf.to(D64)).sum(-1)
    # D(x) = Z / (Z + 1); L_unl = -1/2 E log D(x) - 1/2 E log(1 - D(G(z)))
    unl = -0.5 * torch.log(Zu / (Zu + 1)).mean(-1) - 0.5 * torch.log(1 / (Zf + 1)).mean(-1)
    close(losses.supervised_loss(ll, y), sup, atol=1e-3)
    close(losses.unsupervised_loss(lu, lf), unl, atol=1e-3)
    close(losses.salimans_d_loss(ll, y, lu, lf, unlabeled_weight=0.7), sup + 0.7 * unl, atol=1e-3)


def test_supervised_loss_equals_cross_entropy_on_logits_and_softmax_first_is_wrong():
    l, y = logits(32, 10, seed=11), torch.randint(10, (32,), generator=torch.Generator().manual_seed(12))
    assert torch.allclose(losses.supervised_loss(l, y), torch.nn.functional.cross_entropy(l, y), atol=1e-6)
    wrong = torch.nn.functional.cross_entropy(torch.softmax(l, -1), y)  # the classic bug
    assert not torch.allclose(wrong, losses.supervised_loss(l, y), atol=1e-2)


def test_k_plus_one_to_k_keeps_every_probability():
    l = logits(4, 16, 11, seed=13)
    k = losses.k_plus_one_to_k(l)
    p = softmax64(l)
    Z = torch.exp(k.to(D64)).sum(-1)
    assert torch.allclose(p[..., :10], torch.exp(k.to(D64)) / (Z + 1).unsqueeze(-1), atol=1e-6)
    assert torch.allclose(p[..., 10], 1 / (Z + 1), atol=1e-6)


@pytest.mark.parametrize("kind", ["squared", "absolute"])
@pytest.mark.parametrize("shape", [(100, 250), (3, 100, 250)])
def test_feature_matching_on_batch_means(kind, shape):
    g = torch.Generator().manual_seed(14)
    fr, ff = torch.rand(*shape, generator=g), torch.rand(*shape, generator=g) + 0.1
    diff = fr.to(D64).mean(-2) - ff.to(D64).mean(-2)
    ref = (diff ** 2 if kind == "squared" else diff.abs()).mean(-1)
    close(losses.feature_matching_loss(fr, ff, kind), ref, rtol=1e-5, atol=1e-7)
    per_sample = ((fr.to(D64) - ff.to(D64)) ** 2).mean((-2, -1))  # the wrong, per-sample version
    assert (per_sample - ref).abs().min() > 1e-2
    with pytest.raises(ValueError):
        losses.feature_matching_loss(fr, ff, "cubic")


def test_paper_adam_first_steps_by_hand():
    p = torch.tensor([1.0, -2.0, 0.5])
    opt = PaperAdam([p], lr=0.1, betas=(0.5, 0.999), eps=1e-8)
    grads = [torch.tensor([0.3, -1e-5, 2.0]), torch.tensor([0.1, 0.0, -1.0])]
    m = torch.zeros(3, dtype=D64)
    v = torch.zeros(3, dtype=D64)
    ref = p.to(D64).clone()
    for t, g in enumerate(grads, start=1):
        opt.step([g])
        g = g.to(D64)
        m = 0.5 * m + 0.5 * g
        v = 0.999 * v + 0.001 * g * g
        ref = ref - 0.1 * (m / (1 - 0.5 ** t)) / torch.sqrt(v / (1 - 0.999 ** t) + 1e-8)  # eps inside the sqrt
        assert torch.allclose(p.to(D64), ref, atol=1e-6), (t, p, ref)


def test_param_average_is_bias_corrected():
    p = torch.tensor([5.0, -1.0])
    avg = ParamAverage([p], decay=0.9)
    out = [torch.zeros(2)]
    avg.copy_to(out)
    assert torch.equal(out[0], p)  # before any update: the parameter itself
    values = [torch.tensor([5.0, -1.0]), torch.tensor([7.0, 1.0]), torch.tensor([3.0, 0.0])]
    for t, v in enumerate(values, start=1):
        p.copy_(v)
        avg.update()
        avg.copy_to(out)
        w = torch.tensor([0.9 ** (t - i) for i in range(1, t + 1)], dtype=D64)
        ref = (w[:, None] * torch.stack(values[:t]).to(D64)).sum(0) / w.sum()
        assert torch.allclose(out[0].to(D64), ref, atol=1e-5)
