"""Figures are drawn for the book's page (issue 14, item 4).

The HTML column is about 690 px wide: a figure wider than ``plots.COLUMN_WIDTH`` inches is shrunk to fit, and
its text with it. These tests fail when a chapter's source or ``ssgan_lib.plots`` asks for a wider figure or for
text under 9 pt, when the book style is not applied, when a log axis has too few tick labels, and when a legend
says something that was not run (an SGAN's G loss labelled as feature matching).
"""
from __future__ import annotations

import ast
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from ssgan_lib import plots  # noqa: E402
from ssgan_lib.gan import GANHistory  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "book/_src").glob("*.py")) + [ROOT / "ssgan_lib/plots.py"]
LIMIT = plots.COLUMN_WIDTH


def _max_width(node: ast.expr) -> float | None:
    """The largest width an expression can give, when it is bounded: a number, ``min(..., number)``,
    ``COLUMN_WIDTH`` or ``fit_width(...)``; None when unbounded or unknown."""
    try:
        return float(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError):
        pass
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
    if name == "COLUMN_WIDTH":
        return LIMIT
    if isinstance(node, ast.Call):
        fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if fn == "fit_width":
            return LIMIT
        if fn == "min":
            bounds = [b for b in map(_max_width, node.args) if b is not None]
            return min(bounds) if bounds else None
    return None


def _keywords(path: Path, name: str):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == name:
                    yield node.lineno, kw.value


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_sources_ask_for_column_wide_figures(path: Path):
    bad = []
    for line, value in _keywords(path, "figsize"):
        if not isinstance(value, ast.Tuple) or len(value.elts) != 2:
            bad.append(f"{path.name}:{line}: figsize is not a (width, height) tuple")
            continue
        width = _max_width(value.elts[0])
        if width is None or width > LIMIT + 1e-9:
            bad.append(f"{path.name}:{line}: figure width {ast.unparse(value.elts[0])} (> {LIMIT} in or unbounded)")
    assert not bad, "figures wider than the page's column:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_sources_ask_for_readable_text(path: Path):
    bad = []
    for line, value in _keywords(path, "fontsize"):
        try:
            size = ast.literal_eval(value)
        except ValueError:
            continue
        points = FontProperties(size=size).get_size_in_points()
        if points < plots.MIN_FONT_PT:
            bad.append(f"{path.name}:{line}: fontsize={size!r} ({points:.1f} pt)")
    assert not bad, "text under 9 pt:\n" + "\n".join(bad)


def test_the_book_style_is_applied_on_import():
    plt.rcParams.update(matplotlib.rcParamsDefault)
    plots.use_book_style()
    assert plt.rcParams["figure.figsize"][0] <= LIMIT
    assert plt.rcParams["figure.dpi"] * LIMIT <= 700, "a column-wide figure is at most ~690 px: never shrunk"
    for key in ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize", "ytick.labelsize",
                "legend.fontsize", "figure.titlesize"):
        points = FontProperties(size=plt.rcParams[key]).get_size_in_points()
        assert points >= plots.MIN_FONT_PT, f"{key} = {plt.rcParams[key]} ({points} pt)"


def _history(n: int = 5) -> dict:
    return {"step": list(range(1, n + 1)), "loss_lab": [[1.0 / s] for s in range(1, n + 1)],
            "loss_unl": [[0.5 / s] for s in range(1, n + 1)], "loss_g": [[0.1 * s] for s in range(1, n + 1)],
            "train_acc": [[0.1 * s] for s in range(1, n + 1)], "eval_step": [n], "val_acc": [[0.8]]}


def _gan_history() -> GANHistory:
    h = GANHistory()
    for s in range(1, 6):
        h.step.append(s)
        h.d_loss.append(1.0 / s)
        h.g_loss.append(0.5 * s)
        h.d_real.append(0.6)
        h.d_fake.append(0.4)
    return h


def _figures():
    g = torch.Generator().manual_seed(0)
    yield "show_samples", plots.show_samples(torch.rand(64, 784, generator=g), nrow=16, title="samples")
    yield "plot_history", plots.plot_history(_history(), title="run", method="ssgan-fm")
    yield "plot_gan_history", plots.plot_gan_history(_gan_history(), title="run")
    yield "plot_label_rate", plots.plot_label_rate(
        {"ssgan-fm": [(100, 1.6, 0.3), (1000, 0.9, 0.1), (60000, 0.6, 0.05)]}, {100: 0.93, 1000: 0.8})


def test_library_figures_fit_the_column_and_have_readable_text():
    for name, fig in _figures():
        fig.canvas.draw()
        assert fig.get_size_inches()[0] <= LIMIT + 1e-9, f"{name}: {fig.get_size_inches()[0]} in wide"
        small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
                 if t.get_text().strip() and t.get_visible() and t.get_fontsize() < plots.MIN_FONT_PT]
        assert not small, f"{name}: text under 9 pt: {small[:5]}"
        plt.close(fig)


def test_library_curves_have_labelled_axes():
    for name, fig in _figures():
        for ax in fig.axes:
            if ax.axison and ax.lines:
                assert ax.get_xlabel() and ax.get_ylabel(), f"{name}: axis '{ax.get_title()}' is not labelled"
        plt.close(fig)


def _visible_labels(axis, lo: float, hi: float) -> list[str]:
    return [t.get_text() for t, v in zip(axis.get_ticklabels(), axis.get_ticklocs())
            if lo <= v <= hi and t.get_text()]


@pytest.mark.parametrize("errors", [(1.6, 0.9, 0.6), (20.0, 5.0, 1.1), (1.2, 1.1, 0.95)])
def test_label_rate_log_axes_have_enough_tick_labels(errors):
    fig = plots.plot_label_rate({"ssgan-fm": [(100, errors[0], 0.1), (1000, errors[1], 0.1),
                                              (60000, errors[2], 0.05)]})
    fig.canvas.draw()
    ax = fig.axes[0]
    ys = _visible_labels(ax.yaxis, *ax.get_ylim())
    xs = _visible_labels(ax.xaxis, *ax.get_xlim())
    assert len(ys) >= 3, f"y axis labels {ys}"
    assert len(xs) >= 3, f"x axis labels {xs}"
    assert all(not s.startswith("$") for s in ys), "plain numbers, not 10^k powers"
    plt.close(fig)


_STUDY = {"ssgan-fm": [(n, e, 0.1 * e) for n, e in ((20, 41.0), (50, 8.8), (100, 1.4), (200, 1.1), (1000, 0.9))],
          "supervised": [(n, e, 0.1 * e) for n, e in ((20, 45.0), (50, 30.0), (100, 20.0), (200, 12.0),
                                                      (1000, 4.0), (60000, 0.6))]}


def test_tick_labels_do_not_touch():
    """At the book's column width two neighbouring tick labels on an axis stand at least half a character apart
    (the stored study spans 20 to 60,000 labels: a 1-2-5 grid put eleven labels there, "10000" and "20000" 3 px
    apart)."""
    figures = list(_figures()) + [("plot_label_rate (study)", plots.plot_label_rate(_STUDY, {20: 16.77, 100: 0.93}))]
    for name, fig in figures:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in (a for a in fig.axes if a.axison):
            for axis in (ax.xaxis, ax.yaxis):
                lo, hi = sorted(ax.get_xlim() if axis is ax.xaxis else ax.get_ylim())
                shown = [t for t, v in zip(axis.get_ticklabels(), axis.get_ticklocs())
                         if t.get_visible() and t.get_text() and lo <= v <= hi]
                boxes = sorted((t.get_window_extent(renderer) for t in shown),
                               key=lambda e: e.x0 if axis is ax.xaxis else e.y0)
                for t, a, b in zip(shown, boxes, boxes[1:]):
                    gap = b.x0 - a.x1 if axis is ax.xaxis else b.y0 - a.y1
                    half_char = 0.5 * t.get_fontsize() * fig.dpi / 72
                    assert gap >= half_char, f"{name}: tick labels {gap:.0f} px apart on {axis.axis_name}"
        plt.close(fig)


def test_label_rate_legend_names_the_methods():
    fig = plots.plot_label_rate(_STUDY)
    assert _legend(fig) == ["SSGAN-FM", "supervised only"]
    plt.close(fig)


def test_log_ticks():
    assert plots.log_ticks(0.5, 20) == [0.5, 1, 2, 5, 10, 20]
    assert len(plots.log_ticks(0.9, 1.5)) >= 4
    assert all(0.9 <= t <= 1.5 for t in plots.log_ticks(0.9, 1.5))


def _legend(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_plot_history_names_the_g_loss_of_the_method_that_was_run():
    fig = plots.plot_history(_history(), method="sgan")
    labels = _legend(fig)
    assert not any("feature matching" in s for s in labels), f"an SGAN run labelled as feature matching: {labels}"
    assert any(s.startswith("G loss") and "non-saturating" in s for s in labels), labels
    fm = _legend(plots.plot_history(_history(), method="ssgan-fm"))
    assert "G loss (feature matching)" in fm
    recorded = _legend(plots.plot_history({**_history(), "method": "sgan"}))
    assert not any("feature matching" in s for s in recorded), "the method recorded in the history counts"
    unknown = _legend(plots.plot_history(_history()))
    assert "G loss" in unknown and not any("feature matching" in s for s in unknown), \
        "without a method the legend claims no G loss"
    plt.close("all")


def test_every_chapter_calling_plot_history_passes_the_method():
    for path in SOURCES[:-1]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "plot_history":
                assert any(kw.arg == "method" for kw in node.keywords), \
                    f"{path.name}:{node.lineno}: plot_history(...) without method="


def test_fit_width():
    assert plots.fit_width(20) == LIMIT and plots.fit_width(3) == 3 and math.isclose(plots.fit_width(7.0), 7.0)


def test_training_curve_legends_sit_off_the_curves():
    """plot_history and plot_gan_history put each legend under its panel: it overlaps neither the axes (the
    curves) nor the x label."""
    for name, fig in _figures():
        if name not in ("plot_history", "plot_gan_history"):
            plt.close(fig)
            continue
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend().get_window_extent(renderer)
            assert not legend.overlaps(ax.get_window_extent(renderer)), f"{name}: a legend on the curves"
            assert not legend.overlaps(ax.xaxis.label.get_window_extent(renderer)), f"{name}: legend on the x label"
            assert legend.y0 >= 0, f"{name}: the legend falls off the figure"
        plt.close(fig)
