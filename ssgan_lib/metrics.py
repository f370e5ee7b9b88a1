"""Measuring classifiers and generators.

* :func:`classify_accuracy` — test accuracy of any logits-returning model;
* :class:`MNISTFeatureNet` / :func:`train_feature_net` — an MNIST classifier the library trains
  itself (no downloads), whose penultimate layer gives the features for FID;
* :func:`frechet_distance` / :func:`fid` — the Fréchet distance between Gaussians fitted to features;
* :func:`class_histogram`, :func:`diversity`, :func:`roughness`, :func:`nearest_neighbour_distances` — class
  balance, sample diversity, speckle and a memorisation check.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import NUM_CLASSES
from .engine import DivergenceError
from .losses import accuracy


@torch.no_grad()
def classify_accuracy(model, x: torch.Tensor, y: torch.Tensor, batch: int = 1000,
                      num_classes: int = NUM_CLASSES) -> float:
    """:func:`~ssgan_lib.losses.accuracy` of ``model`` over ``x`` in batches. ``model(x)`` may return
    (logits, ...); only the first ``num_classes`` logits are compared (a K+1 head's "fake" logit is left out)."""
    pred = torch.empty(len(x), dtype=torch.long, device=y.device)
    for i in range(0, len(x), batch):
        out = model(x[i:i + batch])
        logits = out[0] if isinstance(out, tuple) else out
        pred[i:i + batch] = logits[..., :num_classes].argmax(-1)
    return float(accuracy(pred, y))


class MNISTFeatureNet(nn.Module):
    """A small CNN: 2 conv blocks -> 128 features -> 10 logits. ``features(x)`` gives the 128-vector."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(64 * 7 * 7, 128)
        self.head = nn.Linear(128, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc(self.conv(x.reshape(-1, 1, 28, 28)).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_feature_net(train_x: torch.Tensor, train_y: torch.Tensor, steps: int = 1000, batch: int = 128,
                      lr: float = 1e-3, seed: int = 0, progress: bool = False) -> MNISTFeatureNet:
    """Train :class:`MNISTFeatureNet` on labelled MNIST (pixels in [0, 1]) with Adam; returns it in eval mode.

    Minimises the cross-entropy :math:`-\\log \\operatorname{softmax}(\\ell(x))_y` of batches drawn with
    replacement. It is a *measuring instrument*: trained on all training labels, it never sees the test set. A loss
    that stops being finite raises :class:`~ssgan_lib.engine.DivergenceError` (checked every ``steps // 20`` steps).
    """
    torch.manual_seed(seed)
    dev = train_x.device
    net = MNISTFeatureNet().to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    g = torch.Generator(dev).manual_seed(seed)
    check = max(1, steps // 20)
    for step in tqdm(range(1, steps + 1), desc="feature net", disable=not progress, leave=False):
        idx = torch.randint(len(train_x), (batch,), device=dev, generator=g)
        loss = F.cross_entropy(net(train_x[idx]), train_y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step % check == 0 or step == steps) and not torch.isfinite(loss):
            raise DivergenceError(f"training diverged: the feature net's loss became NaN or infinite by step {step}")
    return net.eval()


@torch.no_grad()
def features(net: MNISTFeatureNet, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Features of ``x`` (pixels in [0, 1]) in float64, shape (n, 128)."""
    return torch.cat([net.features(x[i:i + batch]) for i in range(0, len(x), batch)]).double()


def _sqrtm_psd(a: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(a)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def frechet_distance(f1: torch.Tensor, f2: torch.Tensor) -> float:
    r"""Fréchet distance between Gaussians fitted to two feature sets (rows = samples):

    .. math:: d^2 = \lVert\mu_1-\mu_2\rVert^2 + \operatorname{tr}\bigl(\Sigma_1 + \Sigma_2
              - 2(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}\bigr)

    (the symmetric form of :math:`\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}`, stable in float64).
    """
    f1, f2 = f1.double().reshape(len(f1), -1), f2.double().reshape(len(f2), -1)
    mu1, mu2 = f1.mean(0), f2.mean(0)
    # torch.cov of a single feature is 0-d; keep it a 1x1 matrix so 1-D features work too
    s1, s2 = torch.cov(f1.T).reshape(f1.shape[1], -1), torch.cov(f2.T).reshape(f2.shape[1], -1)
    r1 = _sqrtm_psd(s1)
    cross = _sqrtm_psd(r1 @ s2 @ r1)
    return float((mu1 - mu2).square().sum() + torch.trace(s1 + s2 - 2 * cross))


def fid(net: MNISTFeatureNet, real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID of ``fake`` against ``real`` on the features of ``net`` (both in [0, 1], shape (n, 784))."""
    return frechet_distance(features(net, real), features(net, fake))


@torch.no_grad()
def class_histogram(net: nn.Module, x: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """Fraction of ``x`` that ``net`` assigns to each class: a generator that drops digits shows here."""
    pred = torch.cat([net(x[i:i + 1000]).argmax(-1) for i in range(0, len(x), 1000)])
    return torch.bincount(pred, minlength=num_classes).float() / len(x)


@torch.no_grad()
def diversity(x: torch.Tensor, max_n: int = 1000) -> float:
    """Mean pairwise Euclidean distance between samples (flattened); drops towards 0 as G collapses."""
    x = x[:max_n].flatten(1).float()
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1))) if n > 1 else 0.0


@torch.no_grad()
def roughness(x: torch.Tensor, side: int = 28) -> float:
    r"""Mean absolute difference between neighbouring pixels, across and down, of square images in ``[0, 1]``
    (``x`` of shape (N, side*side) or (N, 1, side, side)):

    .. math:: \tfrac12\bigl(\operatorname{mean}\lvert x_{i,j+1} - x_{i,j}\rvert
              + \operatorname{mean}\lvert x_{i+1,j} - x_{i,j}\rvert\bigr)

    0 for a flat image, 1 for a black-and-white checkerboard. Speckle (pixels that do not follow their neighbours)
    raises it, smooth strokes keep it low: compare a generator's samples with real digits."""
    img = x.reshape(len(x), side, side).float()
    across = (img[:, :, 1:] - img[:, :, :-1]).abs().mean()
    down = (img[:, 1:, :] - img[:, :-1, :]).abs().mean()
    return float((across + down) / 2)


@torch.no_grad()
def nearest_neighbour_distances(samples: torch.Tensor, train_x: torch.Tensor, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """For each sample, the distance to and index of its nearest training image (memorisation check)."""
    s = samples.flatten(1).float()
    best_d = torch.full((len(s),), float("inf"), device=s.device)
    best_i = torch.zeros(len(s), dtype=torch.long, device=s.device)
    for i in range(0, len(train_x), batch * 10):
        d = torch.cdist(s, train_x[i:i + batch * 10].flatten(1).float())
        v, j = d.min(dim=1)
        better = v < best_d
        best_d = torch.where(better, v, best_d)
        best_i = torch.where(better, j + i, best_i)
    return best_d, best_i
