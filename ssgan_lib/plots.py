"""Figures: sample grids, loss and accuracy curves, the label-rate plot. Each returns its Figure.

Figures are drawn for the book's page: the HTML column is about 690 px wide, so a figure is at most
:data:`COLUMN_WIDTH` inches wide at :data:`DPI` dots per inch (shown at its own size, never shrunk) and its text
is at least 9 pt. Importing this module applies :data:`BOOK_STYLE` (:func:`use_book_style`); a chapter's own
figures ask for ``figsize`` widths of at most :data:`COLUMN_WIDTH` (``tests/test_figures.py`` checks both).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib import ticker

COLUMN_WIDTH = 7.2  # inches: 7.2 in x 96 dpi = 691 px, the width of the book's text column
DPI = 96  # 96 dots per inch: a point of text is a CSS point on the page (9 pt = 12 px)
MIN_FONT_PT = 9

BOOK_STYLE = {
    "figure.dpi": DPI,
    "figure.figsize": (6.4, 3.4),
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 11,
}

# the G loss that each TrainConfig.method minimises (plot_history's legend)
G_LOSS_LABELS = {
    "ssgan-fm": "G loss (feature matching)",
    "sgan": "G loss (non-saturating)",
    "supervised": "G loss (no generator)",
}


def use_book_style() -> None:
    """Set matplotlib's defaults to the book's (:data:`BOOK_STYLE`): column-wide figures, text >= 9 pt."""
    plt.rcParams.update(BOOK_STYLE)


use_book_style()


def fit_width(width: float) -> float:
    """``width`` in inches, at most :data:`COLUMN_WIDTH` (for figure sizes computed from a panel count)."""
    return min(float(width), COLUMN_WIDTH)


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
        scale = fit_width(nrow * 0.5) / (nrow * 0.5)  # a wide grid is drawn smaller, not wider
        fig, ax = plt.subplots(
            figsize=(fit_width(nrow * 0.5), max(1, -(-len(x) // nrow)) * 0.5 * scale + 0.4)
        )
    else:
        fig = ax.figure
    ax.imshow(image_grid(x, nrow, value_range=value_range).numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def legends_below(fig, *axes) -> None:
    """Each panel's legend under its axes, off the curves (a legend inside a panel of training curves sits on some
    run's line wherever it goes); the figure grows by the legends' height."""
    rows = max(len(ax.get_legend_handles_labels()[1]) for ax in axes)
    fig.set_size_inches(fig.get_size_inches()[0], fig.get_size_inches()[1] + 0.17 * rows + 0.05)
    from matplotlib.transforms import ScaledTranslation

    below = ScaledTranslation(0, -0.5, fig.dpi_scale_trans)  # 0.5 in under the axes: past tick labels and x label
    for ax in (ax for ax in axes if ax.get_legend_handles_labels()[1]):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=ax.transAxes + below, frameon=False,
                  borderaxespad=0.0)
    fig.tight_layout()


def plot_history(history: dict, title: str = "", method: str | None = None):
    """Losses (D labelled, D unlabelled, G) and accuracies (train batch, validation) of a Trainer.

    ``method``: the run's ``TrainConfig.method`` (e.g. ``trainer.cfg.method``), else ``history["method"]``
    when the history records it; it names the G loss in the legend (:data:`G_LOSS_LABELS`; plain "G loss"
    when unknown), so the legend says what was run.
    """
    method = method if method is not None else history.get("method")
    g_label = G_LOSS_LABELS.get(method, "G loss") if method is not None else "G loss"
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.0))

    def mean(rows):
        return [sum(r) / len(r) for r in rows]

    for key, label in (("loss_lab", "D labelled loss"), ("loss_unl", "D unlabelled loss"), ("loss_g", g_label)):
        if history.get(key) and any(v != 0 for v in mean(history[key])):
            a1.plot(history["step"], mean(history[key]), label=label)
    a1.set_xlabel("step")
    a1.set_ylabel("loss (log scale)")
    a1.set_yscale("log")
    a1.set_title("losses")
    def percent(rows):
        return [100 * v for v in mean(rows)]

    if history.get("train_acc"):
        a2.plot(history["step"], percent(history["train_acc"]), label="labelled batch (train)", alpha=0.6)
    if history.get("val_acc"):
        a2.plot(history["eval_step"], percent(history["val_acc"]), "o-", label="validation (averaged D)")
    a2.set_xlabel("step")
    a2.set_ylabel("accuracy (%)")
    a2.set_title("accuracy")
    if title:
        fig.suptitle(title)
    legends_below(fig, a1, a2)
    return fig


def plot_gan_history(hist, title: str = ""):
    """D and G losses and D's mean outputs on real and fake batches, from a :class:`~ssgan_lib.gan.GANHistory`."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.0))
    a1.plot(hist.step, hist.d_loss, label="D loss")
    a1.plot(hist.step, hist.g_loss, label="G loss")
    a1.set_xlabel("step")
    a1.set_ylabel("loss")
    a1.set_title("losses")
    a2.plot(hist.step, hist.d_real, label="mean D(x), real")
    a2.plot(hist.step, hist.d_fake, label="mean D(G(z)), fake")
    a2.axhline(0.5, color="gray", lw=0.8, ls="--")
    a2.set_ylim(0, 1)
    a2.set_xlabel("step")
    a2.set_ylabel("mean D output")
    a2.set_title("discriminator outputs")
    if title:
        fig.suptitle(title)
    legends_below(fig, a1, a2)
    return fig


def log_ticks(lo: float, hi: float, min_ticks: int = 4) -> list[float]:
    """Tick values for a log axis from ``lo`` to ``hi``: 1, 2, 5 of each decade, finer (1, 1.5, 2, 3, ... 9)
    when that gives fewer than ``min_ticks`` inside the range."""
    import math

    decades = range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
    for subs in ((1, 2, 5), (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [round(m * 10.0**e, 12) for e in decades for m in subs if lo <= m * 10.0**e <= hi]
        if len(ticks) >= min_ticks:
            return ticks
    # a range narrower than that (e.g. 0.85 to 1.35): evenly spaced round numbers
    return [float(t) for t in ticker.MaxNLocator(min_ticks + 1).tick_values(lo, hi) if lo <= t <= hi]


def label_log_axis(axis, lo: float, hi: float) -> None:
    """Label a log-scale axis (``ax.xaxis``/``ax.yaxis``) with plain numbers at :func:`log_ticks`."""
    axis.set_major_locator(ticker.FixedLocator(log_ticks(lo, hi)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


METHOD_NAMES = {"ssgan-fm": "SSGAN-FM", "sgan": "SGAN", "supervised": "supervised only"}  # legend names


def plot_label_rate(summary: dict, paper: dict | None = None, title: str = "Test error against labels"):
    """``summary``: {method: [(labels, mean_err, std_err), ...]}; ``paper``: {labels: err}. Log axes; the x
    ticks sit at the label counts that were run, the legend names each method as :data:`METHOD_NAMES` does."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for method, rows in summary.items():
        rows = sorted(rows)
        ax.errorbar([r[0] for r in rows], [r[1] for r in rows], yerr=[r[2] for r in rows], marker="o", capsize=3,
                    label=METHOD_NAMES.get(method, method))
    if paper:
        ks = sorted(paper)
        ax.plot(ks, [paper[k] for k in ks], "k*--", label="Salimans et al. 2016")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # the label counts themselves on x (a 1-2-5 grid over 20 to 60,000 crowds eleven labels into the width);
    # plain numbers rather than powers of ten on y
    counts = sorted({r[0] for rows in summary.values() for r in rows} | set(paper or ()))
    ax.xaxis.set_major_locator(ticker.FixedLocator(counts))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    label_log_axis(ax.yaxis, *ax.get_ylim())
    ax.set_xlabel("labelled images")
    ax.set_ylabel("test error (%)")
    ax.set_title(title)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def animate_snapshots(snapshots, steps, n: int = 16, nrow: int = 4, interval: int = 500, size: float = 3.6,
                      dpi: int = 96, value_range=None):
    """An animation of a generator's samples over training (the first ``n`` of each snapshot).

    ``snapshots``: list of (B, 784) tensors (``GANHistory.snapshots``), ``steps`` their steps. Returns a
    ``matplotlib.animation.FuncAnimation``; show it with ``IPython.display.HTML(anim.to_jshtml())``.
    The figure is closed so that a notebook does not also show its last frame as a still image. The
    default ``size`` x ``dpi`` (3.6 in at 96 dpi: 346 px, the frame title 12 px high) is read at a glance;
    nearest-neighbour pixels keep the embedded frames small (tens of kB each).
    """
    from matplotlib import animation

    fig, ax = plt.subplots(figsize=(fit_width(size), size + 0.3), dpi=dpi)
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
