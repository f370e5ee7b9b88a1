r"""GAN and semi-supervised GAN losses, each with its formula.

All functions take **logits** (never probabilities: applying a softmax or sigmoid first and then a
cross-entropy is the classic bug, see chapter 5), and average over the batch axis, which is the
second-to-last axis for class logits ``(..., B, K)`` and the last for binary logits ``(..., B)``.
Leading axes (e.g. the seed axis ``S`` of the batched trainer) are kept: a ``(S, B, K)`` input
gives ``S`` losses. Notation: :math:`\sigma` is the logistic sigmoid,
:math:`\operatorname{softplus}(a) = \log(1 + e^{a})`, and for a vector of logits
:math:`\ell = (\ell_1, \dots, \ell_K)`, :math:`Z(x) = \sum_k e^{\ell_k(x)}` and
:math:`\operatorname{LSE}(\ell) = \log Z`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------
# The GAN game (binary D)
# ----------------------------------------------------------------------------------------------
def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Discriminator loss of the GAN game (Goodfellow et al. 2014), :math:`D = \sigma(\ell)`:

    .. math:: L_D = -\mathbb E_x \log D(x) - \mathbb E_z \log(1 - D(G(z)))
              = \mathbb E_x \operatorname{softplus}(-\ell(x)) + \mathbb E_z \operatorname{softplus}(\ell(G(z)))
    """
    return F.softplus(-real_logits).mean(-1) + F.softplus(fake_logits).mean(-1)


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Generator loss of the original minimax game (saturates when D wins):

    .. math:: L_G^{\text{mm}} = \mathbb E_z \log(1 - D(G(z))) = -\mathbb E_z \operatorname{softplus}(\ell(G(z)))
    """
    return -F.softplus(fake_logits).mean(-1)


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Non-saturating generator loss (the one used in practice):

    .. math:: L_G^{\text{ns}} = -\mathbb E_z \log D(G(z)) = \mathbb E_z \operatorname{softplus}(-\ell(G(z)))
    """
    return F.softplus(-fake_logits).mean(-1)


# ----------------------------------------------------------------------------------------------
# SGAN: K+1 classes (Odena 2016)
# ----------------------------------------------------------------------------------------------
def sgan_d_loss(lab_logits: torch.Tensor, labels: torch.Tensor, unl_logits: torch.Tensor,
                fake_logits: torch.Tensor, unlabeled_weight: float = 1.0) -> torch.Tensor:
    r"""SGAN discriminator loss with ``K+1`` logits, class ``K+1`` (index ``K``) meaning "fake" (Odena: :math:`w = 1`):

    .. math:: L_D = -\mathbb E_{(x,y)} \log p(y \mid x)
                    + w \Bigl[- \mathbb E_x \log\bigl(1 - p(K{+}1 \mid x)\bigr)
                    - \mathbb E_z \log p(K{+}1 \mid G(z))\Bigr],
              \qquad p(k \mid x) = \operatorname{softmax}(\ell(x))_k
    """
    return supervised_loss(lab_logits, labels) + unlabeled_weight * sgan_unsupervised_loss(unl_logits, fake_logits)


def sgan_unsupervised_loss(unl_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The unlabelled part of :func:`sgan_d_loss` ("real of some class" vs "fake"):

    .. math:: -\mathbb E_x \log\bigl(1 - p(K{+}1 \mid x)\bigr) - \mathbb E_z \log p(K{+}1 \mid G(z))
    """
    fake_idx = unl_logits.shape[-1] - 1
    logp_unl = F.log_softmax(unl_logits, dim=-1)
    # log(1 - p_fake) = log sum_{k<=K} p_k, computed stably as a logsumexp of the real log-probs.
    real = -torch.logsumexp(logp_unl[..., :fake_idx], dim=-1).mean(-1)
    fake = -F.log_softmax(fake_logits, dim=-1)[..., fake_idx].mean(-1)
    return real + fake


def sgan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Non-saturating SGAN generator loss: make fakes look like *some* real class,

    .. math:: L_G = -\mathbb E_z \log\bigl(1 - p(K{+}1 \mid G(z))\bigr)
    """
    fake_idx = fake_logits.shape[-1] - 1
    logp = F.log_softmax(fake_logits, dim=-1)
    return -torch.logsumexp(logp[..., :fake_idx], dim=-1).mean(-1)


def k_plus_one_to_k(logits: torch.Tensor) -> torch.Tensor:
    r"""Turn ``K+1`` logits into the ``K`` logits of Salimans et al. by fixing the fake logit at 0:
    :math:`\ell'_k = \ell_k - \ell_{K+1}`. Softmax is shift-invariant, so nothing is lost: the
    ``K+1`` parametrisation has one redundant degree of freedom.
    """
    return logits[..., :-1] - logits[..., -1:]


# ----------------------------------------------------------------------------------------------
# Improved GAN: K logits, fake logit fixed at 0 (Salimans et al. 2016)
# ----------------------------------------------------------------------------------------------
def supervised_loss(lab_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r"""Cross-entropy on labelled data from logits (``log_softmax`` inside, never a softmax before):

    .. math:: L_{\text{lab}} = -\mathbb E_{(x,y)} \bigl[\ell_y(x) - \operatorname{LSE}(\ell(x))\bigr]
    """
    picked = lab_logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return (torch.logsumexp(lab_logits, dim=-1) - picked).mean(-1)


def unsupervised_loss(unl_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Unsupervised part of the improved-GAN discriminator loss, with
    :math:`D(x) = \frac{Z(x)}{Z(x) + 1}` (the fake class has logit 0, so :math:`e^0 = 1`):

    .. math:: L_{\text{unl}} = -\tfrac12 \mathbb E_x \log D(x) - \tfrac12 \mathbb E_z \log(1 - D(G(z)))
              = \tfrac12 \mathbb E_x \bigl[-\operatorname{LSE}(\ell(x)) + \operatorname{softplus}(\operatorname{LSE}(\ell(x)))\bigr]
              + \tfrac12 \mathbb E_z \operatorname{softplus}(\operatorname{LSE}(\ell(G(z))))

    The factor 1/2 is the reference code's.
    """
    lse_unl = torch.logsumexp(unl_logits, dim=-1)
    lse_fake = torch.logsumexp(fake_logits, dim=-1)
    return 0.5 * (-lse_unl + F.softplus(lse_unl)).mean(-1) + 0.5 * F.softplus(lse_fake).mean(-1)


def salimans_d_loss(lab_logits: torch.Tensor, labels: torch.Tensor, unl_logits: torch.Tensor,
                    fake_logits: torch.Tensor, unlabeled_weight: float = 1.0) -> torch.Tensor:
    r"""Full improved-GAN discriminator loss: :math:`L_D = L_{\text{lab}} + w\, L_{\text{unl}}`
    (:func:`supervised_loss`, :func:`unsupervised_loss`; the paper uses :math:`w = 1`).
    """
    return supervised_loss(lab_logits, labels) + unlabeled_weight * unsupervised_loss(unl_logits, fake_logits)


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor,
                          kind: str = "squared") -> torch.Tensor:
    r"""Feature matching on **batch means** of an inner D layer :math:`f` (Salimans et al. 2016):

    .. math:: L_G = \frac{1}{F}\sum_{j=1}^{F} \Bigl( \frac1B\sum_{i} f_j(x_i) - \frac1B\sum_{i} f_j(G(z_i)) \Bigr)^2

    (``kind="absolute"``: the absolute value instead of the square). The means are taken over the
    batch *first*: matching each fake to each real sample ("per sample") is a different, wrong loss.
    Shapes: ``(..., B, F)`` -> ``(...)``.
    """
    diff = real_features.mean(-2) - fake_features.mean(-2)
    if kind == "squared":
        return diff.square().mean(-1)
    if kind == "absolute":
        return diff.abs().mean(-1)
    raise ValueError(f"kind must be 'squared' or 'absolute', got {kind!r}")


def accuracy(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Share of predictions equal to ``labels`` (``(..., B)``), over the batch axis: the library's one accuracy.

    ``scores``: class logits ``(..., B, K)`` (the prediction is their argmax) or predicted classes ``(..., B)``
    (integers). Leading axes are kept: predictions ``(S, N)`` give one accuracy per seed.
    """
    pred = scores if not scores.is_floating_point() else scores.argmax(-1)
    return (pred == labels).float().mean(-1)
