"""Each self-check of chapters 5 and 6 accepts a correct answer and rejects a wrong one."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ssgan_lib.exercises import ch05, ch06


# ---------------------------------------------------------------------------------------------- ch05
def _sgan_unl(unl, fake):
    lp_u, lp_f = F.log_softmax(unl, -1), F.log_softmax(fake, -1)
    return -torch.logsumexp(lp_u[..., :-1], -1).mean(-1) - lp_f[..., -1].mean(-1)


def test_sgan_unsupervised_loss():
    assert ch05.check_sgan_unsupervised_loss(_sgan_unl)
    # naive log(1 - p): -inf at extreme logits
    naive = lambda u, f: (-torch.log(1 - u.softmax(-1)[..., -1]).mean(-1)
                          - torch.log(f.softmax(-1)[..., -1]).mean(-1))
    assert not ch05.check_sgan_unsupervised_loss(naive)
    assert not ch05.check_sgan_unsupervised_loss(lambda u, f: _sgan_unl(u, f).mean())  # lost the seed axis
    assert not ch05.check_sgan_unsupervised_loss(lambda u, f: 1 / 0)


def test_sgan_g_loss():
    ok = lambda f: -torch.logsumexp(F.log_softmax(f, -1)[..., :-1], -1).mean(-1)
    assert ch05.check_sgan_g_loss(ok)
    assert not ch05.check_sgan_g_loss(lambda f: F.log_softmax(f, -1)[..., -1].mean(-1))  # minimax form


def test_softmax_floor():
    assert ch05.check_softmax_floor(math.log(9 + math.e) - 1)
    assert not ch05.check_softmax_floor(0.0)
    assert not ch05.check_softmax_floor(math.log(10))


def test_feature_matching():
    assert ch05.check_feature_matching(lambda r, f: (r.mean(-2) - f.mean(-2)).square().mean(-1))
    assert not ch05.check_feature_matching(lambda r, f: (r - f).square().mean(-1).mean(-1))  # per sample


def test_distinct_labels():
    assert ch05.check_distinct_labels(lambda bs: torch.unique(torch.cat(bs)).numel())
    assert not ch05.check_distinct_labels(lambda bs: sum(len(b) for b in bs))  # counts repeats


# ---------------------------------------------------------------------------------------------- ch06
def _unl(u, f):
    lu, lf = torch.logsumexp(u, -1), torch.logsumexp(f, -1)
    return 0.5 * (-lu + F.softplus(lu)).mean(-1) + 0.5 * F.softplus(lf).mean(-1)


def test_salimans_unl_loss():
    assert ch06.check_salimans_unl_loss(_unl)
    assert not ch06.check_salimans_unl_loss(lambda u, f: 2 * _unl(u, f))  # dropped the 1/2

    def naive(u, f):
        zu, zf = u.exp().sum(-1), f.exp().sum(-1)
        return -0.5 * torch.log(zu / (zu + 1)).mean(-1) - 0.5 * torch.log(1 / (zf + 1)).mean(-1)

    assert not ch06.check_salimans_unl_loss(naive)  # overflows at extreme logits


def test_d_of_x():
    assert ch06.check_d_of_x(lambda l: torch.sigmoid(torch.logsumexp(l, -1)))
    assert not ch06.check_d_of_x(lambda l: l.exp().sum(-1) / (l.exp().sum(-1) + 1))  # nan at large logits
    assert not ch06.check_d_of_x(lambda l: torch.sigmoid(l.max(-1).values))


def test_k_plus_one():
    assert ch06.check_k_plus_one(lambda l: l[..., :-1] - l[..., -1:])
    assert not ch06.check_k_plus_one(lambda l: l[..., :-1])


def test_adam_first_step():
    assert ch06.check_adam_first_step(3e-3 * 1e-5 / math.sqrt(1e-10 + 1e-8))
    assert not ch06.check_adam_first_step(3e-3 * 1e-5 / (1e-5 + 1e-8))  # torch.optim.Adam's


def test_bias_corrected_average():
    def ema(values, decay, correct=True):
        a = 0.0
        for v in values:
            a += (1 - decay) * (v - a)
        return a / (1 - decay ** len(values)) if correct else a

    assert ch06.check_bias_corrected_average(ema)
    assert not ch06.check_bias_corrected_average(lambda v, d: ema(v, d, correct=False))
    assert not ch06.check_bias_corrected_average(lambda v, d: sum(v) / len(v))  # plain mean


def test_best_gap_accepts_points_and_rejects_fraction_and_sign(capsys):
    h = {"val_acc": [[0.50, 0.4], [0.81, 0.5], [0.78, 0.6]]}
    assert ch05.check_best_gap(3.0, h)
    assert not ch05.check_best_gap(0.03, h)  # a fraction, not points
    assert "percentage points" in capsys.readouterr().out
    assert not ch05.check_best_gap(-3.0, h)
    assert not ch05.check_best_gap(31.0, h)  # best minus first
    assert not ch05.check_best_gap(None, h)
    assert ch05.check_best_gap(0.0, {"val_acc": [[0.5], [0.6]]})  # the last is the best: nothing added
