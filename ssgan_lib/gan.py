"""Plain (unsupervised) GAN training for the early chapters: the 2-D toy, the MLP GAN, DCGAN.

:func:`train_gan` is the textbook loop, short enough to read in one screen (chapter 2 prints it): a D step on a
real and a fake batch, then a G step, with the library's habits: data on the device, batches by permutation and
slicing, losses summed on the device and read every ``log_every`` steps (a NaN or infinite loss raises
:class:`~ssgan_lib.engine.DivergenceError`, a ``FloatingPointError``), samples from a *fixed* noise batch saved
every ``snapshot_every`` steps (for grids and animations).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from . import losses
from .engine import DivergenceError


@dataclass
class GANConfig:
    steps: int = 5000  # generator updates (one D update before each)
    batch_size: int = 64  # real and fake images per step
    lr_d: float = 2e-4  # discriminator learning rate
    lr_g: float = 2e-4  # generator learning rate
    optimizer: str = "adam"  # "adam" (betas below) or "sgd" (plain, no momentum)
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas (DCGAN paper: 0.5, 0.999)
    g_loss: str = "ns"  # "ns" (non-saturating) or "minimax"
    log_every: int = 50  # steps between loss read-outs
    snapshot_every: int = 0  # steps between snapshots of G(fixed z) (0: only at the end)
    n_fixed: int = 64  # size of the fixed noise batch for snapshots
    seed: int = 0  # seeds weights' noise draws and batch order
    progress: bool = True  # tqdm progress bar


LOGGED = ("d_loss", "g_loss", "d_real", "d_fake")  # what train_gan logs: the two losses, mean D(x), mean D(G(z))


@dataclass
class GANHistory:
    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)  # mean D(x) on real batches (probability)
    d_fake: list[float] = field(default_factory=list)  # mean D(G(z)) on fake batches
    snapshot_steps: list[int] = field(default_factory=list)
    snapshots: list[torch.Tensor] = field(default_factory=list)  # G(fixed z) on the CPU


def _logits(out) -> torch.Tensor:
    """D may return logits or (logits, features); a 1-logit head may be (B, 1)."""
    if isinstance(out, tuple):
        out = out[0]
    return out.reshape(out.shape[0]) if out.dim() == 2 and out.shape[1] == 1 else out


def _make_opt(params, lr: float, cfg: GANConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=cfg.betas)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {cfg.optimizer!r}")


def train_gan(G: nn.Module, D: nn.Module, x: torch.Tensor,
              cfg: GANConfig) -> GANHistory:
    """Train ``G`` against ``D`` on the rows of ``x`` (on the device, scaled as G
    outputs).

    ``G`` has ``sample_z(batch, device, generator)``, ``D`` returns logits.
    A plain loop: a D step, then a G step."""
    if cfg.g_loss not in ("ns", "minimax"):
        raise ValueError(f"g_loss must be 'ns' or 'minimax', got {cfg.g_loss!r}")
    dev, gen = x.device, torch.Generator(x.device).manual_seed(cfg.seed)
    opt_d = _make_opt(D.parameters(), cfg.lr_d, cfg)
    opt_g = _make_opt(G.parameters(), cfg.lr_g, cfg)
    ns = cfg.g_loss == "ns"
    g_loss_fn = losses.g_loss_nonsaturating if ns else losses.g_loss_minimax
    fixed_z = G.sample_z(cfg.n_fixed, dev, gen)  # the same noise for every snapshot
    B = min(cfg.batch_size, len(x))
    per_epoch, hist = len(x) // B, GANHistory()
    sums, n = torch.zeros(len(LOGGED), device=dev), 0  # summed on the device
    steps = tqdm(range(1, cfg.steps + 1), desc="GAN", disable=not cfg.progress,
                 leave=False)
    for step in steps:
        if (step - 1) % per_epoch == 0:  # a new order of the data every epoch
            perm = torch.randperm(len(x), device=dev, generator=gen)
        k = (step - 1) % per_epoch
        real, fake = x[perm[k * B:(k + 1) * B]], G(G.sample_z(B, dev, gen))
        # D step: push D(real) up and D(fake) down (fake detached: no G update here)
        real_logits, fake_logits = _logits(D(real)), _logits(D(fake.detach()))
        loss_d = losses.d_loss(real_logits, fake_logits)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # G step: fool the D just updated
        loss_g = g_loss_fn(_logits(D(fake)))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        with torch.no_grad():
            d_real, d_fake = real_logits.sigmoid().mean(), fake_logits.sigmoid().mean()
            sums += torch.stack([loss_d, loss_g, d_real, d_fake])
        n += 1
        # the only read of the device: every log_every steps
        if step % cfg.log_every == 0 or step == cfg.steps:
            means = dict(zip(LOGGED, (sums / n).tolist()))
            sums, n = torch.zeros_like(sums), 0
            if bad := [name for name, v in means.items() if not math.isfinite(v)]:
                raise DivergenceError(f"training diverged: {', '.join(bad)} "
                                      f"became NaN or infinite by step {step}")
            hist.step.append(step)
            for name, v in means.items():
                getattr(hist, name).append(v)
        if (cfg.snapshot_every and step % cfg.snapshot_every == 0) or step == cfg.steps:
            G.eval()  # batch norm uses its running statistics, as when sampling later
            with torch.no_grad():
                hist.snapshots.append(G(fixed_z).cpu())
            G.train()
            hist.snapshot_steps.append(step)
    return hist


# ----------------------------------------------------------------------------------------------
# The 2-D toy of chapter 1: a ring of Gaussians
# ----------------------------------------------------------------------------------------------
def ring_centers(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The ``modes`` centres on a circle, shape (modes, 2)."""
    angles = torch.arange(modes) * (2 * math.pi / modes)
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def ring_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0) -> torch.Tensor:
    """``n`` points from a mixture of ``modes`` Gaussians on a circle (the classic mode-collapse toy)."""
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(modes, (n,), generator=g)
    return ring_centers(modes, radius)[which] + std * torch.randn(n, 2, generator=g)


class ToyGenerator(nn.Module):
    """z ~ N(0, I)^2 -> 128 -> 128 (ReLU) -> 2."""

    def __init__(self, z_dim: int = 2, hidden: int = 128):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2))

    def sample_z(self, batch: int, device="cpu", generator=None) -> torch.Tensor:
        return torch.randn(batch, self.z_dim, device=device, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """2 -> 128 -> 128 (LeakyReLU) -> 1 logit."""

    def __init__(self, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def modes_covered(samples: torch.Tensor, centers: torch.Tensor, radius: float = 0.25, min_frac: float = 0.01) -> int:
    """How many ring modes hold at least ``min_frac`` of the samples within ``radius`` of their centre."""
    d = torch.cdist(samples.float(), centers.float())
    near, which = d.min(dim=1)
    counts = torch.bincount(which[near < radius], minlength=len(centers))
    return int((counts >= min_frac * len(samples)).sum())


# ----------------------------------------------------------------------------------------------
# Chapter 1: a discriminator trained alone, against a frozen generator (it approaches D*)
# ----------------------------------------------------------------------------------------------
def train_discriminator(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, steps: int = 1000,
                        batch_size: int = 256, lr: float = 1e-3, seed: int = 0) -> list[float]:
    """Train ``D`` alone (Adam, :func:`~ssgan_lib.losses.d_loss`) to tell the rows of ``real`` from those of ``fake``.

    The generator is frozen (``fake`` is a fixed sample of it), so ``D`` approaches the optimal
    discriminator :math:`D^*(x) = p_{\\text{data}}(x) / (p_{\\text{data}}(x) + p_g(x))`. Returns the
    D loss of each step (a NaN or infinite one raises :class:`~ssgan_lib.engine.DivergenceError`).
    """
    gen = torch.Generator(real.device).manual_seed(seed)
    opt = torch.optim.Adam(D.parameters(), lr=lr)
    out: list[float] = []
    for step in range(1, steps + 1):
        r = real[torch.randint(len(real), (batch_size,), device=real.device, generator=gen)]
        f = fake[torch.randint(len(fake), (batch_size,), device=fake.device, generator=gen)]
        loss = losses.d_loss(_logits(D(r)), _logits(D(f)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        out.append(loss.item())
        if not math.isfinite(out[-1]):
            raise DivergenceError(f"training diverged: the D loss became NaN or infinite at step {step}")
    return out
