"""The networks of the book.

* :class:`SalimansD` / :class:`SalimansG` — the MNIST pair of Salimans et al. (2016), written
  with a leading **seed axis** ``S``: every parameter has shape ``(S, ...)`` and every activation
  ``(S, B, ...)``, so ``S`` independent models train in one process with batched matrix products
  (``torch.baddbmm``). ``S = 1`` is an ordinary single run.
* :class:`MLPGenerator` / :class:`MLPDiscriminator` — the classic MLP GAN (Goodfellow et al. 2014
  style, as in most tutorials): G 100-256-512-1024-784 with LeakyReLU and batch norm, tanh output;
  D 784-512-256-1 with LeakyReLU, returning the logit (its sigmoid is the probability D(x)).
* :class:`DCGANGenerator` / :class:`DCGANDiscriminator` — a small DCGAN for 28x28 (Radford et al.
  2016): strided (transposed) convolutions, batch norm, LeakyReLU, global average pooling and a
  ``K+1``-class head (Odena 2016).

Reference for the Salimans pair: ``train_mnist_feature_matching.py`` and ``nn.py`` of
github.com/openai/improved-gan. Details that matter and are easy to miss, all kept here:

* D's dense layers are weight-normed, :math:`W = \\theta\\, g / \\lVert\\theta\\rVert` (column
  norm), :math:`\\theta \\sim \\mathcal N(0, 0.1^2)`; the scale :math:`g` of the **hidden** layers
  is set by data-dependent initialisation and then **frozen** (``train_scale=False``); only the
  output layer trains its scale. Biases train everywhere.
* Data-dependent init runs one forward pass over 500 training images *with the Gaussian noise on*,
  layer by layer: each pre-activation is standardised to zero mean and unit variance
  (:math:`g \\leftarrow g/\\sigma`, :math:`b \\leftarrow -\\mu/\\sigma`) before the next layer sees it.
* G: ``U(0,1)^100`` -> dense 500 (no bias) -> batch norm (shift, no gain, eps 1e-6 in the sqrt) ->
  softplus, twice, -> weight-normed dense 784 (trainable scale, eps 1e-6; the paper-2016-06 recipe: no
  eps, and a data-dependent init of scale and bias) -> sigmoid. Glorot-uniform
  init. Batch statistics are always used (G is never run in eval mode).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .data import IMAGE_SIZE, NUM_CLASSES


# ----------------------------------------------------------------------------------------------
# Salimans et al. MNIST pair, with a seed axis
# ----------------------------------------------------------------------------------------------
class _WNLinearFn(torch.autograd.Function):
    r"""``y = (x @ theta) * s + b`` with :math:`s = g / \sqrt{\lVert\theta\rVert^2 + \epsilon}` per column,
    which equals ``x @ (theta * s) + b``, with a hand-written backward (checked against autograd in
    ``tests/test_models.py``). With :math:`n` the column norm and :math:`\delta = \partial L/\partial y`:

    .. math:: \partial_x = (\delta s)\,\theta^\top,\quad
              \partial_\theta = x^\top(\delta s) - \theta\,\frac{s\,c}{n^2},\quad
              \partial_g = \frac{c}{n},\quad \partial_b = \textstyle\sum_B \delta,
              \qquad c = \textstyle\sum_B \delta \odot (x\theta)

    The scale multiplies the (S, B, n_out) product, never the (S, n_in, n_out) weight, and the norm's
    gradient is folded into the weight gradient in place: one pass over ``theta`` forward, one backward
    (autograd's version of the same formula makes several weight-sized temporaries).
    """

    @staticmethod
    def forward(ctx, x, theta, g, b, eps):
        # column norms (S, 1, n_out): square, then sum down the columns (a row-wise pass the vectoriser likes);
        # torch.linalg.vecdot(theta, theta, dim=1) is the same sum but moves the axis and was 12x slower here
        n = torch.sqrt(theta.square().sum(dim=1, keepdim=True) + eps)
        s = g / n
        h = torch.bmm(x, theta)
        ctx.save_for_backward(x, theta, h, n, s)
        return torch.addcmul(b, h, s)

    @staticmethod
    def backward(ctx, dy):
        x, theta, h, n, s = ctx.saved_tensors
        need_x, need_theta, need_g, need_b, _ = ctx.needs_input_grad
        dh = dy * s
        dx = torch.bmm(dh, theta.transpose(1, 2)) if need_x else None
        dtheta = dg = db = None
        if need_theta or need_g:
            c = (dy * h).sum(dim=1, keepdim=True)  # dL/ds
            if need_theta:
                dtheta = torch.bmm(x.transpose(1, 2), dh)
                dtheta.addcmul_(theta, c * s / (n * n), value=-1)
            if need_g:
                dg = c / n
        if need_b:
            db = dy.sum(dim=1, keepdim=True)
        return dx, dtheta, dg, db, None


def wn_linear(x: torch.Tensor, theta: torch.Tensor, g: torch.Tensor, b: torch.Tensor,
              eps: float = 0.0) -> torch.Tensor:
    """Weight-normed dense layer, seed axis first: ``x @ (theta * g / sqrt(||theta||^2 + eps)) + b``
    (column norms; ``x`` (S, B, n_in), ``theta`` (S, n_in, n_out), ``g`` and ``b`` (S, 1, n_out))."""
    return _WNLinearFn.apply(x, theta, g, b, eps)


class WNLinear(nn.Module):
    """Weight-normed dense layer with a leading seed axis: ``y = x @ (theta * g / ||theta||) + b``.

    Shapes: ``x`` (S, B, n_in) -> (S, B, n_out). ``g`` is a parameter when ``train_scale`` else a
    buffer (set once by :meth:`SalimansD.data_init`, then frozen, as in the reference code).
    """

    def __init__(self, seeds: int, n_in: int, n_out: int, train_scale: bool, init_std: float = 0.1):
        super().__init__()
        self.theta = nn.Parameter(torch.randn(seeds, n_in, n_out) * init_std)
        self.b = nn.Parameter(torch.zeros(seeds, 1, n_out))
        g = torch.ones(seeds, 1, n_out)
        if train_scale:
            self.g = nn.Parameter(g)
        else:
            self.register_buffer("g", g)

    def weight(self) -> torch.Tensor:
        return self.theta * (self.g / self.theta.square().sum(dim=1, keepdim=True).sqrt())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return wn_linear(x, self.theta, self.g, self.b)


class SalimansD(nn.Module):
    """Discriminator/classifier: noise(0.3) -> [dense, ReLU, noise(0.5)] x 5 -> dense 10 logits.

    ``forward`` returns ``(logits, features)``: logits (S, B, 10) — the ``K`` logits whose fake
    logit is fixed at 0 — and the last hidden layer (S, B, 250), the layer that feature matching
    uses (``layers[-3]`` in the reference code: after the ReLU, before the noise).
    """

    widths = (1000, 500, 250, 250, 250)

    def __init__(self, seeds: int = 1, sigma_in: float = 0.3, sigma_hidden: float = 0.5,
                 num_classes: int = NUM_CLASSES, train_hidden_scale: bool = False):
        super().__init__()
        self.seeds = seeds
        self.sigma_in = sigma_in
        self.sigma_hidden = sigma_hidden
        dims = (IMAGE_SIZE,) + self.widths
        # train_hidden_scale=True is an ablation (what most ports do), not the reference recipe
        self.hidden = nn.ModuleList(WNLinear(seeds, a, b, train_scale=train_hidden_scale)
                                    for a, b in zip(dims[:-1], dims[1:]))
        self.out = WNLinear(seeds, dims[-1], num_classes, train_scale=True)

    def noise_shapes(self, batch: int) -> list[tuple[int, ...]]:
        """Shapes of the standard-normal noise tensors one forward of ``batch`` images uses."""
        dims = (IMAGE_SIZE,) + self.widths
        return [(self.seeds, batch, d) for d in dims]

    def forward(self, x: torch.Tensor, noise: list[torch.Tensor] | None = None, train: bool = True,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``noise`` (optional): standard-normal tensors of :meth:`noise_shapes`; drawn when ``None``."""
        sig = [self.sigma_in] + [self.sigma_hidden] * len(self.hidden)
        if train and noise is None:
            noise = [torch.randn(s, device=x.device, generator=generator) for s in self.noise_shapes(x.shape[1])]
        h = x
        feat = h
        for i, layer in enumerate(self.hidden):
            if train:
                h = torch.add(h, noise[i], alpha=sig[i])  # h + sigma * noise in one pass
            h = F.relu(layer(h))
            feat = h
        if train:
            h = torch.add(h, noise[-1], alpha=sig[-1])
        return self.out(h), feat

    @torch.no_grad()
    def data_init(self, x: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """Data-dependent init (Salimans & Kingma 2016): standardise each layer's pre-activation.

        ``x``: (S, n, 784), e.g. 500 training images per seed. Noise is on, as in the reference.
        """
        sig = [self.sigma_in] + [self.sigma_hidden] * len(self.hidden)
        h = x
        for i, layer in enumerate(list(self.hidden) + [self.out]):
            h = h + sig[i] * torch.randn(h.shape, device=h.device, generator=generator)
            a = torch.bmm(h, layer.weight())
            mu = a.mean(dim=1, keepdim=True)
            std = (a - mu).square().mean(dim=1, keepdim=True).sqrt()
            layer.g.div_(std)
            layer.b.copy_(-mu / std)
            a = (a - mu) / std
            h = F.relu(a) if i < len(self.hidden) else a


class SalimansG(nn.Module):
    """Generator: z ~ U(0,1)^100 -> 500 -> 500 (batch norm, softplus) -> 784 (weight norm, sigmoid)."""

    def __init__(self, seeds: int = 1, z_dim: int = 100, hidden: int = 500, norm_eps: float = 1e-6):
        super().__init__()
        self.seeds = seeds
        self.z_dim = z_dim
        self.norm_eps = norm_eps  # inside the output weight norm's sqrt: 1e-6 (final script), 0 (paper-2016-06)

        def glorot(n_in: int, n_out: int) -> nn.Parameter:
            a = math.sqrt(6.0 / (n_in + n_out))
            return nn.Parameter(torch.empty(seeds, n_in, n_out).uniform_(-a, a))

        self.w1 = glorot(z_dim, hidden)
        self.beta1 = nn.Parameter(torch.zeros(seeds, 1, hidden))
        self.w2 = glorot(hidden, hidden)
        self.beta2 = nn.Parameter(torch.zeros(seeds, 1, hidden))
        self.w3 = glorot(hidden, IMAGE_SIZE)
        self.g3 = nn.Parameter(torch.ones(seeds, 1, IMAGE_SIZE))
        self.b3 = nn.Parameter(torch.zeros(seeds, 1, IMAGE_SIZE))

    @staticmethod
    def _bn(h: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        # Batch statistics over the batch axis of each seed; no gain, a learned shift.
        mu = h.mean(dim=1, keepdim=True)
        var = (h - mu).square().mean(dim=1, keepdim=True)
        return (h - mu) / torch.sqrt(var + 1e-6) + beta

    def sample_z(self, batch: int, device: torch.device | str = "cpu",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.rand(self.seeds, batch, self.z_dim, device=device, generator=generator)

    def _hidden(self, z: torch.Tensor) -> torch.Tensor:
        h = F.softplus(self._bn(torch.bmm(z, self.w1), self.beta1))
        return F.softplus(self._bn(torch.bmm(h, self.w2), self.beta2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(wn_linear(self._hidden(z), self.w3, self.g3, self.b3, self.norm_eps))

    @torch.no_grad()
    def data_init(self, z: torch.Tensor) -> None:
        """Data-dependent init of the output layer, as the ``paper-2016-06`` recipe does it (``nn.weight_norm``
        of 8 June 2016): centre each unit's pre-activation over the batch ``z`` (S, B, 100), then divide by
        **one** standard deviation over all units and the batch (its ``T.mean`` has no axis):
        :math:`b \\leftarrow -\\mu/\\sigma`, :math:`g \\leftarrow g/\\sigma`."""
        w = self.w3 * (self.g3 / torch.sqrt(self.norm_eps + self.w3.square().sum(dim=1, keepdim=True)))
        a = torch.bmm(self._hidden(z), w)
        mu = a.mean(dim=1, keepdim=True)
        std = (a - mu).square().mean(dim=(1, 2), keepdim=True).sqrt()
        self.g3.div_(std)
        self.b3.copy_(-mu / std)


# ----------------------------------------------------------------------------------------------
# Classic MLP GAN
# ----------------------------------------------------------------------------------------------
class MLPGenerator(nn.Module):
    """z ~ N(0, I)^100 -> 256 -> 512 -> 1024 (LeakyReLU 0.2, batch norm) -> 784, tanh (pixels in [-1, 1])."""

    def __init__(self, z_dim: int = 100, out_dim: int = IMAGE_SIZE):
        super().__init__()
        self.z_dim = z_dim
        layers: list[nn.Module] = []
        prev = z_dim
        for i, w in enumerate((256, 512, 1024)):
            layers.append(nn.Linear(prev, w))
            if i > 0:  # the usual recipe: no batch norm right after the noise
                layers.append(nn.BatchNorm1d(w, momentum=0.2))
            layers.append(nn.LeakyReLU(0.2))
            prev = w
        layers += [nn.Linear(prev, out_dim), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def sample_z(self, batch: int, device: torch.device | str = "cpu",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(batch, self.z_dim, device=device, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """784 -> 512 -> 256 (LeakyReLU 0.2) -> 1. ``forward`` gives the *logit*; ``prob`` the sigmoid.

    The loss functions take logits (numerically stable); the probability D(x) is ``sigmoid(logit)``.
    """

    def __init__(self, in_dim: int = IMAGE_SIZE):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(-1)

    def prob(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self(x))


# ----------------------------------------------------------------------------------------------
# DCGAN for 28x28
# ----------------------------------------------------------------------------------------------
class DCGANGenerator(nn.Module):
    """z ~ N(0, I)^100 -> 128x7x7 -> 64x14x14 -> 1x28x28 (transposed convs, batch norm, ReLU).

    ``out`` is ``"tanh"`` (pixels in [-1, 1], the DCGAN paper) or ``"sigmoid"`` ([0, 1], as the
    SSGAN trainer uses). Output is flat (B, 784) so that it plugs into the MLP code paths.
    """

    def __init__(self, z_dim: int = 100, width: int = 64, out: str = "tanh"):
        super().__init__()
        self.z_dim = z_dim
        self.fc = nn.Sequential(nn.Linear(z_dim, 2 * width * 7 * 7, bias=False), nn.BatchNorm1d(2 * width * 7 * 7), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1),
        )
        self.width = width
        self.act = torch.tanh if out == "tanh" else torch.sigmoid

    def sample_z(self, batch: int, device: torch.device | str = "cpu",
                 generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(batch, self.z_dim, device=device, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, 2 * self.width, 7, 7)
        return self.act(self.net(h)).flatten(1)


class DCGANDiscriminator(nn.Module):
    """28x28 -> 64x14x14 -> 128x7x7 -> 256x4x4 (strided convs, LeakyReLU 0.2, batch norm) -> global
    average pool -> ``n_out`` logits (1 for a plain GAN, ``K+1`` for the SGAN).

    ``forward`` returns ``(logits, features)``; the features are the pooled 256-vector, the layer
    that feature matching can use.
    """

    def __init__(self, n_out: int = NUM_CLASSES + 1, width: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 3, 2, 1, bias=False), nn.BatchNorm2d(4 * width), nn.LeakyReLU(0.2),
        )
        self.head = nn.Linear(4 * width, n_out)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.net(x.reshape(-1, 1, 28, 28)).mean(dim=(2, 3))
        return self.head(feat), feat


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _short(m: nn.Module) -> str:
    """A layer in a few characters: ``Linear(100→256)``, ``BatchNorm1d(512)``, ``LeakyReLU(0.2)``."""
    name = type(m).__name__
    if isinstance(m, nn.Linear):
        return f"{name}({m.in_features}→{m.out_features})"
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        return f"{name}({m.in_channels}→{m.out_channels}, {m.kernel_size[0]}×{m.kernel_size[1]}, stride {m.stride[0]})"
    if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
        return f"{name}({m.num_features})"
    if isinstance(m, nn.LeakyReLU):
        return f"{name}({m.negative_slope:g})"
    return name


def layer_table(module: nn.Module) -> str:
    """A Markdown table of ``module``'s layers, in order: one row per linear or convolutional layer, together
    with the normalisation and parameter-free layers after it (batch norm, activations), with their trainable
    parameters, and the total in the last row. Shorter than ``print(module)`` and readable on a page."""
    norms = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
    groups: list[list[nn.Module]] = []
    for m in (m for m in module.modules() if not list(m.children())):
        if (count_parameters(m) and not isinstance(m, norms)) or not groups:
            groups.append([m])
        else:
            groups[-1].append(m)
    rows = ["| # | layers | parameters |", "|---|---|---|"]
    for i, g in enumerate(groups, 1):
        rows.append(f"| {i} | {', '.join(_short(m) for m in g)} | {sum(count_parameters(m) for m in g):,} |")
    rows.append(f"| | **total** | **{count_parameters(module):,}** |")
    return "\n".join(rows)
