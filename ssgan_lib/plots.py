"""Figures: sample grids, loss and accuracy curves, the label-rate plot. Each returns its Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch


def image_grid(x: torch.Tensor, nrow: int = 8, pad: int = 1, value_range: tuple[float, float] | None = None) -> torch.Tensor:
    """Tile images (n, 784) or (n, 1, 28, 28) into one (H, W) tensor in [0, 1]."""
    x = x.detach().float().cpu().reshape(-1, 28, 28)
    lo, hi = value_range if value_range is not None else ((-1.0, 1.0) if x.min() < 0 else (0.0, 1.0))
    x = ((x - lo) / (hi - lo)).clamp(0, 1)
    n = len(x)
    ncol = nrow
    nr = -(-n // ncol)
    grid = torch.ones(nr * (28 + pad) + pad, ncol * (28 + pad) + pad)
    for i in range(n):
        r, c = divmod(i, ncol)
        grid[pad + r * (28 + pad): pad + r * (28 + pad) + 28, pad + c * (28 + pad): pad + c * (28 + pad) + 28] = x[i]
    return grid


def show_samples(x: torch.Tensor, nrow: int = 8, title: str = "", ax=None, value_range=None):
    """Show a grid of samples; returns the Figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(nrow * 0.5, max(1, -(-len(x) // nrow)) * 0.5 + 0.4))
    else:
        fig = ax.figure
    ax.imshow(image_grid(x, nrow, value_range=value_range), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_history(history: dict, title: str = ""):
    """Losses (D labelled, D unlabelled, G) and accuracies (train batch, validation) of a Trainer."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))

    def mean(rows):
        return [sum(r) / len(r) for r in rows]

    for key, label in (("loss_lab", "D labelled loss"), ("loss_unl", "D unlabelled loss"), ("loss_g", "G loss (feature matching)")):
        if history.get(key) and any(v != 0 for v in mean(history[key])):
            a1.plot(history["step"], mean(history[key]), label=label)
    a1.set_xlabel("step")
    a1.set_yscale("log")
    a1.set_title("losses")
    a1.legend(fontsize=8)
    if history.get("train_acc"):
        a2.plot(history["step"], mean(history["train_acc"]), label="labelled batch (train)", alpha=0.6)
    if history.get("val_acc"):
        a2.plot(history["eval_step"], mean(history["val_acc"]), "o-", label="validation (averaged D)")
    a2.set_xlabel("step")
    a2.set_title("accuracy")
    a2.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_gan_history(hist, title: str = ""):
    """D and G losses and D's mean outputs on real and fake batches, from a :class:`~ssgan_lib.gan.GANHistory`."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
    a1.plot(hist.step, hist.d_loss, label="D loss")
    a1.plot(hist.step, hist.g_loss, label="G loss")
    a1.set_xlabel("step")
    a1.legend(fontsize=8)
    a1.set_title("losses")
    a2.plot(hist.step, hist.d_real, label="mean D(x), real")
    a2.plot(hist.step, hist.d_fake, label="mean D(G(z)), fake")
    a2.axhline(0.5, color="gray", lw=0.8, ls="--")
    a2.set_ylim(0, 1)
    a2.set_xlabel("step")
    a2.legend(fontsize=8)
    a2.set_title("discriminator outputs")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_label_rate(summary: dict, paper: dict | None = None, title: str = "Test error against labels"):
    """``summary``: {method: [(labels, mean_err, std_err), ...]}; ``paper``: {labels: err}. Log x axis."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, rows in summary.items():
        rows = sorted(rows)
        ax.errorbar([r[0] for r in rows], [r[1] for r in rows], yerr=[r[2] for r in rows], marker="o", capsize=3, label=method)
    if paper:
        ks = sorted(paper)
        ax.plot(ks, [paper[k] for k in ks], "k*--", label="Salimans et al. 2016")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("labelled images")
    ax.set_ylabel("test error (%)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def animate_snapshots(snapshots, steps, n: int = 16, nrow: int = 4, interval: int = 500, size: float = 2.4,
                      dpi: int = 72, value_range=None):
    """An animation of a generator's samples over training (the first ``n`` of each snapshot).

    ``snapshots``: list of (B, 784) tensors (``GANHistory.snapshots``), ``steps`` their steps. Returns a
    ``matplotlib.animation.FuncAnimation``; show it with ``IPython.display.HTML(anim.to_jshtml())``.
    The figure is closed so that a notebook does not also show its last frame as a still image. Small
    ``size`` x ``dpi`` and nearest-neighbour pixels keep the embedded frames small (tens of kB each).
    """
    from matplotlib import animation

    fig, ax = plt.subplots(figsize=(size, size + 0.3), dpi=dpi)
    ax.set_axis_off()
    im = ax.imshow(image_grid(snapshots[0][:n], nrow, value_range=value_range), cmap="gray", vmin=0, vmax=1,
                   interpolation="nearest")
    title = ax.set_title(f"step {steps[0]}", fontsize=9)
    fig.tight_layout()

    def update(i):
        im.set_data(image_grid(snapshots[i][:n], nrow, value_range=value_range))
        title.set_text(f"step {steps[i]}")
        return im, title

    anim = animation.FuncAnimation(fig, update, frames=len(snapshots), interval=interval, blit=False)
    plt.close(fig)
    return anim
