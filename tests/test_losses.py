"""ssgan_lib.losses and ssgan_lib.optim against their formulas, written out here with plain exp and log.

Each reference below is the formula of the function's docstring, computed element by element with
plain ``exp``/``log`` (no softplus, no logsumexp, no library call):

* in **float64** (numpy) for moderate logits and for logits of +-50;
* in **arbitrary precision** (mpmath, the very same formula code) for logits of +-1000, where float64
  ``exp`` overflows (``exp(710) = inf``) and only the library's stable form can stay finite.

Both shapes are checked: one run ``(B, K)`` / ``(B,)`` and the seed-batched ``(S, B, K)`` / ``(S, B)``.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch

from ssgan_lib import losses
from ssgan_lib.optim import PaperAdam, ParamAverage

K = 10
B, S = 16, 3


# ----------------------------------------------------------------------------------------------
# two numeric back-ends for one set of formulas
# ----------------------------------------------------------------------------------------------
class F64:
    name = "float64"
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)

    @staticmethod
    def array(t: torch.Tensor):
        return t.detach().double().numpy()


class MP:
    name = "mpmath"
    exp = staticmethod(np.frompyfunc(mpmath.exp, 1, 1))
    log = staticmethod(np.frompyfunc(mpmath.log, 1, 1))

    @staticmethod
    def array(t: torch.Tensor):
        return np.frompyfunc(mpmath.mpf, 1, 1)(t.detach().double().numpy())


def mean(a, axis=-1):
    return a.sum(axis) / a.shape[axis]


def sigmoid(M, a):  # D = sigma(l) = 1 / (1 + e^{-l})
    return 1 / (1 + M.exp(-a))


def one_minus_sigmoid(M, a):  # 1 - D = 1 - 1/(1 + e^{-l}) = 1 / (1 + e^{l})
    return 1 / (1 + M.exp(a))


def softmax(M, a):
    e = M.exp(a)
    return e / e.sum(-1, keepdims=True)


def pick(a, y):
    return np.take_along_axis(a, y[..., None], -1)[..., 0]


def to_tensor(a) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float64).reshape(np.shape(a)))


# --- the references, one per loss --------------------------------------------------------------
def ref_d_loss(M, lr, lf):  # -E log D(x) - E log(1 - D(G(z)))
    return -mean(M.log(sigmoid(M, lr))) - mean(M.log(one_minus_sigmoid(M, lf)))


def ref_g_minimax(M, lf):  # E log(1 - D(G(z)))
    return mean(M.log(one_minus_sigmoid(M, lf)))


def ref_g_nonsat(M, lf):  # -E log D(G(z))
    return -mean(M.log(sigmoid(M, lf)))


def ref_supervised(M, l, y):  # -E [l_y - log sum_k e^{l_k}]
    return -mean(pick(l, y) - M.log(M.exp(l).sum(-1)))


def ref_sgan_unsup(M, lu, lf):  # -E log(1 - p(K+1|x)) - E log p(K+1|G(z)); 1 - p(K+1|x) = sum_{k<=K} p(k|x)
    pu, pf = softmax(M, lu), softmax(M, lf)
    return -mean(M.log(pu[..., :-1].sum(-1))) - mean(M.log(pf[..., -1]))


def ref_sgan_d(M, ll, y, lu, lf):  # -E log p(y|x) + the unsupervised part, K+1 softmax throughout
    return -mean(M.log(pick(softmax(M, ll), y))) + ref_sgan_unsup(M, lu, lf)


def ref_sgan_g(M, lf):  # -E log(1 - p(K+1|G(z)))
    return -mean(M.log(softmax(M, lf)[..., :-1].sum(-1)))


def ref_unsup(M, lu, lf):  # D = Z/(Z+1): -1/2 E log D(x) - 1/2 E log(1 - D(G(z))), 1 - D = 1/(Z+1)
    zu, zf = M.exp(lu).sum(-1), M.exp(lf).sum(-1)
    return -0.5 * mean(M.log(zu / (zu + 1))) - 0.5 * mean(M.log(1 / (zf + 1)))


# ----------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------
KINDS = {"moderate": (F64, None), "pm50": (F64, 50.0), "pm1e3": (MP, 1e3)}


def make_logits(shape, kind: str, seed: int) -> torch.Tensor:
    """Gaussian logits (std 3); for ``pm50``/``pm1e3`` about a third are +big and a third -big."""
    g = torch.Generator().manual_seed(seed)
    x = 3.0 * torch.randn(shape, generator=g)
    big = KINDS[kind][1]
    if big is not None:
        r = torch.randint(0, 3, shape, generator=g)
        x = torch.where(r == 0, big + x, torch.where(r == 1, -big + x, x))
    return x


def make_labels(shape, seed: int, n: int = K) -> torch.Tensor:
    return torch.randint(0, n, shape, generator=torch.Generator().manual_seed(seed))


def check(lib: torch.Tensor, ref, kind: str) -> None:
    ref = to_tensor(ref)
    assert lib.shape == ref.shape, (lib.shape, ref.shape)
    assert torch.isfinite(lib).all(), f"library value not finite for {kind} logits: {lib}"
    assert torch.isfinite(ref).all(), "reference not finite: widen its precision"
    atol = 1e-5 if kind == "moderate" else 2e-4  # float32 resolution at |l| = 1000 is 6e-5
    assert torch.allclose(lib.double(), ref, rtol=2e-5, atol=atol), (lib, ref)


def finite_grads(loss: torch.Tensor, *xs: torch.Tensor) -> None:
    grads = torch.autograd.grad(loss.sum(), xs, allow_unused=True)
    for gr in grads:
        assert gr is None or torch.isfinite(gr).all(), "gradient not finite"


BATCH_SHAPES = [(B,), (S, B)]  # one run; the seed axis of the batched trainer
CASES = [(shape, kind) for shape in BATCH_SHAPES for kind in KINDS]
IDS = [f"{'SB' if len(s) == 2 else 'B'}-{k}" for s, k in CASES]


# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,kind", CASES, ids=IDS)
def test_binary_gan_losses(shape, kind):
    M = KINDS[kind][0]
    lr = make_logits(shape, kind, 1).requires_grad_()
    lf = make_logits(shape, kind, 2).requires_grad_()
    R, F = M.array(lr), M.array(lf)
    out = losses.d_loss(lr, lf)
    check(out, ref_d_loss(M, R, F), kind)
    finite_grads(out, lr, lf)
    out = losses.g_loss_minimax(lf)
    check(out, ref_g_minimax(M, F), kind)
    finite_grads(out, lf)
    out = losses.g_loss_nonsaturating(lf)
    check(out, ref_g_nonsat(M, F), kind)
    finite_grads(out, lf)
    assert out.shape == shape[:-1]


@pytest.mark.parametrize("shape,kind", CASES, ids=IDS)
def test_sgan_losses_k_plus_one(shape, kind):
    M = KINDS[kind][0]
    ll, lu, lf = (make_logits(shape + (K + 1,), kind, s).requires_grad_() for s in (3, 4, 5))
    y = make_labels(shape, 6)
    L, U, F, Y = M.array(ll), M.array(lu), M.array(lf), y.numpy()
    out = losses.sgan_d_loss(ll, y, lu, lf)
    check(out, ref_sgan_d(M, L, Y, U, F), kind)
    finite_grads(out, ll, lu, lf)
    out = losses.sgan_unsupervised_loss(lu, lf)
    check(out, ref_sgan_unsup(M, U, F), kind)
    finite_grads(out, lu, lf)
    out = losses.sgan_g_loss(lf)
    check(out, ref_sgan_g(M, F), kind)
    finite_grads(out, lf)
    assert out.shape == shape[:-1]


@pytest.mark.parametrize("shape,kind", CASES, ids=IDS)
def test_improved_gan_losses_k_logits(shape, kind):
    M = KINDS[kind][0]
    ll, lu, lf = (make_logits(shape + (K,), kind, s).requires_grad_() for s in (7, 8, 9))
    y = make_labels(shape, 10)
    L, U, F, Y = M.array(ll), M.array(lu), M.array(lf), y.numpy()
    sup, unl = ref_supervised(M, L, Y), ref_unsup(M, U, F)
    out = losses.supervised_loss(ll, y)
    check(out, sup, kind)
    finite_grads(out, ll)
    out = losses.unsupervised_loss(lu, lf)
    check(out, unl, kind)
    finite_grads(out, lu, lf)
    for w in (1.0, 0.3):
        out = losses.salimans_d_loss(ll, y, lu, lf, unlabeled_weight=w)
        check(out, sup + w * unl, kind)
    finite_grads(out, ll, lu, lf)
    assert out.shape == shape[:-1]


def test_extreme_logits_need_the_stable_form():
    """Where the library must be stable: the plain formula in float64 is not finite at +-1000."""
    lu = torch.full((4, K), -1e3)
    lf = torch.full((4, K), 1e3)
    with np.errstate(all="ignore"):
        naive = ref_unsup(F64, F64.array(lu), F64.array(lf))
    assert not np.isfinite(naive)
    exact = ref_unsup(MP, MP.array(lu), MP.array(lf))
    lib = losses.unsupervised_loss(lu, lf)
    assert torch.isfinite(lib) and abs(float(lib) - float(exact)) < 1e-3 * float(exact)
    # and float32 softmax-then-log (the classic bug) underflows where log_softmax does not
    l = torch.tensor([[1e3, -1e3] + [0.0] * (K - 1)])
    assert not torch.isfinite(torch.log(torch.softmax(l, -1))).all()
    assert torch.isfinite(losses.supervised_loss(l, torch.tensor([1]))).all()


def test_supervised_loss_is_cross_entropy_and_not_softmax_first():
    l, y = make_logits((32, K), "moderate", 11), make_labels((32,), 12)
    assert torch.allclose(losses.supervised_loss(l, y), torch.nn.functional.cross_entropy(l, y), atol=1e-6)
    wrong = torch.nn.functional.cross_entropy(torch.softmax(l, -1), y)
    assert abs(float(wrong) - float(losses.supervised_loss(l, y))) > 0.1


def test_minimax_saturates_where_nonsaturating_does_not():
    lf = torch.tensor([-8.0], requires_grad=True)  # D is sure the fake is fake
    (g_mm,) = torch.autograd.grad(losses.g_loss_minimax(lf), lf)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(lf), lf)
    assert abs(float(g_mm)) < 1e-3 and abs(float(g_ns)) > 0.9


# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 7, K + 1), (S, 2, 7, K + 1)])
def test_k_plus_one_to_k_keeps_every_probability(shape):
    l = make_logits(shape, "moderate", 13)
    k = losses.k_plus_one_to_k(l)
    assert k.shape == shape[:-1] + (K,)
    # softmax of the K+1 logits == softmax of (the K logits, a fake logit fixed at 0)
    with_zero = torch.cat([k, torch.zeros(shape[:-1] + (1,))], -1)
    p_full = to_tensor(softmax(F64, F64.array(l)))
    p_zero = to_tensor(softmax(F64, F64.array(with_zero)))
    assert torch.allclose(p_full, p_zero, atol=1e-6)
    # and the Salimans losses on the K logits equal the SGAN losses on the K+1 logits
    lu, lf = make_logits(shape, "moderate", 14), make_logits(shape, "moderate", 15)
    ku, kf = losses.k_plus_one_to_k(lu), losses.k_plus_one_to_k(lf)
    # -1/2 E log D - 1/2 E log(1-D), D = 1 - p(K+1|x): half the SGAN unlabelled loss
    assert torch.allclose(losses.unsupervised_loss(ku, kf), 0.5 * losses.sgan_unsupervised_loss(lu, lf), atol=1e-5)
    y = make_labels(shape[:-1], 16)
    assert torch.allclose(losses.supervised_loss(kf, y), losses.supervised_loss(lf[..., :K] - lf[..., K:], y), atol=1e-6)


# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["squared", "absolute"])
@pytest.mark.parametrize("shape", [(B, 25), (S, B, 25)], ids=["BF", "SBF"])
def test_feature_matching_on_batch_means(kind, shape):
    g = torch.Generator().manual_seed(17)
    fr = torch.rand(shape, generator=g).requires_grad_()
    ff = (torch.rand(shape, generator=g) * 2).requires_grad_()
    r, f = F64.array(fr), F64.array(ff)
    d = mean(r, -2) - mean(f, -2)  # batch means first
    ref = mean(d ** 2) if kind == "squared" else mean(np.abs(d))
    out = losses.feature_matching_loss(fr, ff, kind)
    assert out.shape == shape[:-2]
    assert torch.allclose(out.double(), to_tensor(ref), rtol=1e-5, atol=1e-7)
    finite_grads(out, fr, ff)


@pytest.mark.parametrize("kind", ["squared", "absolute"])
def test_feature_matching_differs_from_a_per_sample_loss(kind):
    g = torch.Generator().manual_seed(18)
    real = torch.rand(S, B, 25, generator=g)
    fake = real[:, torch.randperm(B, generator=g)]  # the same batch in another order: same means
    per_sample = (real - fake).square().mean((-2, -1)) if kind == "squared" else (real - fake).abs().mean((-2, -1))
    fm = losses.feature_matching_loss(real, fake, kind)
    assert torch.allclose(fm, torch.zeros(S), atol=1e-6), fm  # batch means match: nothing to learn
    assert (per_sample > 0.05).all(), per_sample  # a per-sample loss would still push every fake


def test_feature_matching_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="squared"):
        losses.feature_matching_loss(torch.zeros(2, 3), torch.zeros(2, 3), "cubic")


def test_accuracy_keeps_the_seed_axis():
    logits = torch.tensor([[[0.0, 1.0], [2.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]]])
    y = torch.tensor([1, 0])
    assert losses.accuracy(logits, y).tolist() == [1.0, 0.5]


# ----------------------------------------------------------------------------------------------
# optimiser and averaging
# ----------------------------------------------------------------------------------------------
def paper_adam_by_hand(p0, grads, lr, b1, b2, eps):
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (m/(1-b1^t)) / sqrt(v/(1-b2^t) + eps)."""
    out = []
    for j, p in enumerate(p0):
        m = v = 0.0
        traj = []
        for t, g in enumerate((gs[j] for gs in grads), start=1):
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            p = p - lr * (m / (1 - b1 ** t)) / math.sqrt(v / (1 - b2 ** t) + eps)
            traj.append(p)
        out.append(traj)
    return [list(x) for x in zip(*out)]  # per step: every element


def test_paper_adam_first_steps_by_hand():
    p0 = [1.0, -2.0, 0.5, 3.0]
    grads = [[0.3, -1e-5, 2.0, 0.0], [0.1, 0.0, -1.0, 1e-3], [-0.2, 1e-5, 0.5, -4.0]]
    p = torch.tensor(p0)
    opt = PaperAdam([p], lr=0.1, betas=(0.5, 0.999), eps=1e-8)
    expected = paper_adam_by_hand(p0, grads, 0.1, 0.5, 0.999, 1e-8)
    for t, (g, ref) in enumerate(zip(grads, expected), start=1):
        opt.step([torch.tensor(g)])
        assert torch.allclose(p.double(), torch.tensor(ref, dtype=torch.float64), rtol=1e-6, atol=1e-6), (t, p, ref)
    # the epsilon sits inside the sqrt: a tiny gradient moves far less than with torch.optim.Adam
    q = torch.tensor([-2.0], requires_grad=True)
    ta = torch.optim.Adam([q], lr=0.1, betas=(0.5, 0.999), eps=1e-8)
    q.grad = torch.tensor([-1e-5])
    ta.step()
    assert abs(float(q.detach()) - (-2.0)) > 0.09  # torch: a full lr step
    assert abs(expected[0][1] - (-2.0)) < 0.02 and abs(float(p[1]) - expected[2][1]) < 1e-6


def test_paper_adam_lr_state_and_multiple_params():
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([[0.5]])
    opt = PaperAdam([a, b], lr=0.01)
    opt.step([torch.tensor([1.0, -1.0]), torch.tensor([[2.0]])])
    # first step of Adam: m_hat = g, v_hat = g^2, so p moves by lr * g / sqrt(g^2 + eps) ~ lr * sign(g)
    assert torch.allclose(a, torch.tensor([0.99, 2.01]), atol=1e-6)
    assert torch.allclose(b, torch.tensor([[0.49]]), atol=1e-6)
    state = opt.state_dict()
    opt.set_lr(0.0)
    before = a.clone()
    opt.step([torch.tensor([5.0, 5.0]), torch.tensor([[5.0]])])
    assert torch.equal(a, before)  # lr 0: nothing moves
    # reload: same continuation from the same state
    a2, b2 = torch.tensor([0.99, 2.01]), torch.tensor([[0.49]])
    opt2 = PaperAdam([a2, b2], lr=123.0)
    opt2.load_state_dict(state)
    assert float(opt2.lr) == pytest.approx(0.01) and float(opt2.t) == 1
    with pytest.raises(ValueError):
        PaperAdam([torch.zeros(3), torch.zeros(1, 1)], lr=0.1).load_state_dict(state)


def test_paper_adam_multi_tensor_step_equals_the_per_parameter_loop():
    """The foreach (one launch for all parameters) step against the plain per-parameter loop of the
    docstring formula, over many steps, parameters of several shapes, tiny and large gradients."""
    gen = torch.Generator().manual_seed(0)
    shapes = [(3, 7, 5), (1, 5), (4,), (2, 1, 9)]
    params = [torch.randn(s, generator=gen) for s in shapes]
    ref = [p.clone() for p in params]
    m_ref = [torch.zeros_like(p) for p in ref]
    v_ref = [torch.zeros_like(p) for p in ref]
    lr, b1, b2, eps = 3e-3, 0.5, 0.999, 1e-8
    opt = PaperAdam(params, lr=lr, betas=(b1, b2), eps=eps)
    for t in range(1, 31):
        grads = [torch.randn(s, generator=gen) * 10.0 ** float(torch.randint(-7, 2, (), generator=gen))
                 for s in shapes]
        opt.step(grads)
        tt = torch.tensor(float(t), dtype=torch.float64)
        bc1, bc2 = 1 - b1 ** tt, 1 - b2 ** tt
        for p, g, m, v in zip(ref, grads, m_ref, v_ref):
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.sub_(torch.tensor(lr) / bc1 * m / torch.sqrt(v / bc2 + eps))
        for i, (p, r) in enumerate(zip(params, ref)):
            assert torch.allclose(p, r, rtol=1e-6, atol=1e-7), (t, i, (p - r).abs().max())


def test_param_average_multi_tensor_update_equals_the_loop():
    gen = torch.Generator().manual_seed(1)
    params = [torch.randn(3, 4, generator=gen), torch.randn(5, generator=gen)]
    avg = ParamAverage(params, decay=0.99)
    ref = [torch.zeros_like(p) for p in params]
    for _ in range(20):
        for p in params:
            p.add_(torch.randn(p.shape, generator=gen))
        avg.update()
        for a, p in zip(ref, params):
            a.lerp_(p, 1 - 0.99)
    for a, r in zip(avg.avg, ref):
        assert torch.equal(a, r)


@pytest.mark.parametrize("decay", [0.5, 0.9, 0.9999])
def test_param_average_of_a_constant_is_the_constant(decay):
    p = torch.tensor([3.0, -1.5, 1e-3, 250.0])
    avg = ParamAverage([p], decay=decay)
    out = [torch.zeros(4)]
    avg.copy_to(out)
    assert torch.equal(out[0], p)  # t = 0: the parameter itself
    for t in range(1, 41):
        avg.update()
        avg.copy_to(out)
        assert torch.allclose(out[0], p, rtol=1e-5, atol=1e-7), (t, out[0])


def test_param_average_is_the_weighted_average_of_the_past():
    p = torch.tensor([5.0, -1.0])
    avg = ParamAverage([p], decay=0.9)
    out = [torch.zeros(2)]
    values = [torch.tensor([5.0, -1.0]), torch.tensor([7.0, 1.0]), torch.tensor([3.0, 0.0]), torch.tensor([0.0, 4.0])]
    for t, v in enumerate(values, start=1):
        p.copy_(v)
        avg.update()
        avg.copy_to(out)
        w = torch.tensor([0.9 ** (t - i) for i in range(1, t + 1)], dtype=torch.float64)
        ref = (w[:, None] * torch.stack(values[:t]).double()).sum(0) / w.sum()
        assert torch.allclose(out[0].double(), ref, atol=1e-5), (t, out[0], ref)
    # state round trip
    avg2 = ParamAverage([p.clone()], decay=0.9)
    avg2.load_state_dict(avg.state_dict())
    out2 = [torch.zeros(2)]
    avg2.copy_to(out2)
    assert torch.equal(out2[0], out[0])
