"""The label-rate study, read for the book: the rows of a sweep's CSV (``python -m ssgan_lib reproduce``,
:func:`ssgan_lib.reproduce.read_rows`) summarised per method and label count, set beside the paper's numbers, as the
Markdown table, the per-label-count lines and the verdict that chapter 7 shows.
"""
from __future__ import annotations

import torch

from .records import D_WINS_BELOW, d_wins, epoch_means

PAPER_ERRORS = {20: 16.77, 50: 2.21, 100: 0.93, 200: 0.90}  # Salimans et al. 2016, Table 1 (percent)
PAPER_STD = {20: 4.52, 50: 1.36, 100: 0.065, 200: 0.04}


def summarize(rows: list[dict]) -> dict[str, list[tuple[int, float, float, int]]]:
    """{method: [(labels, mean error, std error, n seeds), ...]} (sample std; 0 for one seed)."""
    groups: dict[tuple[str, int], list[float]] = {}
    for r in rows:
        groups.setdefault((r["method"], r["labels"]), []).append(r["test_error"])
    out: dict[str, list] = {}
    for (m, n), errs in sorted(groups.items()):
        t = torch.tensor(errs, dtype=torch.float64)
        std = float(t.std()) if len(errs) > 1 else 0.0
        out.setdefault(m, []).append((n, float(t.mean()), std, len(errs)))
    return out


def by_labels(summary: dict, method: str) -> dict[int, tuple[float, float, int]]:
    """One method of :func:`summarize`'s result as {labels: (mean error, std error, n seeds)}."""
    return {n: (m, s, k) for n, m, s, k in summary.get(method, [])}


TARGET_RATIO = 0.5  # the book's target: SSGAN-FM's mean error at most half of supervised-only's


def error_ratios(fm: dict, sup: dict) -> dict[int, float]:
    """SSGAN-FM / supervised-only mean test error per label count that has both (:func:`by_labels` dicts)."""
    return {n: fm[n][0] / sup[n][0] for n in sorted(fm) if n in sup and sup[n][0] > 0}


RATIO_HEADER = "supervised-only ÷ SSGAN-FM error (above 1: SSGAN-FM's is lower)"  # the one direction printed


def times_lower(ratio: float) -> str:
    """An :func:`error_ratios` value (SSGAN-FM / supervised-only) in the direction the book prints it: how many
    times lower SSGAN-FM's error is, ``"2.0×"`` for 0.5 (supervised-only ÷ SSGAN-FM, one decimal)."""
    return f"{1 / ratio:.1f}×"


def lower_or_higher(ratio: float) -> str:
    """The same in words: ``"2.0× lower"`` for 0.5, ``"1.2× higher"`` for 1.2 (SSGAN-FM's error against
    supervised-only's)."""
    return f"{times_lower(ratio)} lower" if ratio <= 1 else f"{ratio:.1f}× higher"


def study_table(rows: list[dict]) -> str:
    """The study as a Markdown table: one line per label count, mean ± sample std (n seeds) of each method, how
    many times lower SSGAN-FM's mean error is than supervised-only's (:func:`times_lower`; the paper's claim: well
    above 1; the book's target: at least 2) and the paper's number where it has one."""
    summary = summarize(rows)
    fm, sup = by_labels(summary, "ssgan-fm"), by_labels(summary, "supervised")
    ratios = error_ratios(fm, sup)
    cell = lambda g, n: f"{g[n][0]:.2f} ± {g[n][1]:.2f} (n={g[n][2]})" if n in g else "–"  # noqa: E731
    lines = [f"| labels | SSGAN-FM error (%) | supervised-only error (%) | {RATIO_HEADER} "
             "| paper, 300 epochs: SSGAN (%) |",
             "|---|---|---|---|---|"]
    for n in sorted(set(fm) | set(sup)):
        ratio = times_lower(ratios[n]) if n in ratios else "–"
        paper = f"{PAPER_ERRORS[n]:.2f} ± {PAPER_STD[n]:.3g}" if n in PAPER_ERRORS else "–"
        lines.append(f"| {n:,} | {cell(fm, n)} | {cell(sup, n)} | {ratio} | {paper} |")
    return "\n".join(lines)


def study_lines(rows: list[dict], meta: dict | None = None) -> list[str]:
    """The study, one block of lines per label count: mean errors (with the paper's), how many times lower (or
    higher) SSGAN-FM's error is than supervised-only's and whether it is at most half, the errors per seed and,
    from the histories in ``meta`` (the sweep's ``.meta.json``), the epochs in which each seed's D wins the
    unsupervised game outright (:func:`~ssgan_lib.evidence.records.d_wins`). Every line fits 80 characters."""
    summary = summarize(rows)
    fm, sup = by_labels(summary, "ssgan-fm"), by_labels(summary, "supervised")
    ratios = error_ratios(fm, sup)
    groups = (meta or {}).get("groups", {})
    out, pad = [], " " * 13
    for n in sorted(set(fm) | set(sup)):
        if n not in fm:  # e.g. 60,000: supervised-only by design
            out.append(f"{n:>5} labels: supervised-only {sup[n][0]:5.2f} % (no SSGAN-FM run)")
            continue
        paper = f" (paper {PAPER_ERRORS[n]:.2f} %)" if n in PAPER_ERRORS else ""
        s = f", supervised-only {sup[n][0]:5.2f} %" if n in sup else ""
        out.append(f"{n:>5} labels: SSGAN-FM {fm[n][0]:5.2f} %{paper}{s}")
        if n in ratios:
            out.append(f"{pad}SSGAN-FM's error {lower_or_higher(ratios[n])}: "
                       f"{'at most' if ratios[n] <= TARGET_RATIO else 'more than'} half")
        per_seed = ", ".join(f"{r['test_error']:.2f}" for r in sorted(rows, key=lambda r: r["seed"])
                             if r["method"] == "ssgan-fm" and r["labels"] == n)
        out.append(f"{pad}SSGAN-FM per seed: {per_seed} %")
        group = groups.get(f"ssgan-fm/{n}")
        if group and group.get("history", {}).get("loss_unl"):
            e, lu = epoch_means(dict(group, epochs=group["config"]["epochs"]), "loss_unl")
            wins = [(group["config"]["seed"] + k, d_wins(e, col)) for k, col in enumerate(zip(*lu))
                    if min(col) < D_WINS_BELOW]
            if not wins:
                out.append(f"{pad}D wins: never")
            out.extend(f"{pad}D wins, seed {seed}: {w}" for seed, w in wins)
    return out


def study_verdict(rows: list[dict]) -> str:
    """One Markdown paragraph, from the rows only: the label counts at which SSGAN-FM has at most half the
    supervised-only error (and those where it has not, with how many times lower or higher its error is), and
    each mean beside the paper's."""
    summary = summarize(rows)
    fm, sup = by_labels(summary, "ssgan-fm"), by_labels(summary, "supervised")
    ratios = error_ratios(fm, sup)
    halved = [n for n, r in ratios.items() if r <= TARGET_RATIO]
    not_halved = [f"{n:,} ({lower_or_higher(r)})" for n, r in ratios.items() if r > TARGET_RATIO]
    epochs = sorted({r["epochs"] for r in rows if r.get("epochs")})
    text = ("**What the stored study shows.** SSGAN-FM has at most half the supervised-only error at "
            + (f"{spoken(f'{n:,}' for n in halved)} labels" if halved else "no label count")
            + (f"; not at {', '.join(not_halved)}" if not_halved else "") + ".")
    vs_paper = [f"{n} labels {fm[n][0]:.2f} % against {PAPER_ERRORS[n]:.2f} %" for n in sorted(fm)
                if n in PAPER_ERRORS]
    if vs_paper:
        after = f", after {', '.join(f'{e:g}' for e in epochs)} epochs" if epochs else ""
        text += f" Against the paper's 300-epoch numbers{after}: " + "; ".join(vs_paper) + "."
    return text


def spoken(words) -> str:
    """['a', 'b', 'c'] -> 'a, b and c' ('' for none): a list as a sentence says it."""
    words = list(words)
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def swapped_mean(errors: list[float], orig: float, new: float) -> float:
    """The mean of ``errors`` with the one nearest ``orig`` replaced by ``new`` (a rerun in its run's place)."""
    i = min(range(len(errors)), key=lambda k: abs(errors[k] - orig))
    swapped = list(errors[:i]) + [new] + list(errors[i + 1:])
    return sum(swapped) / len(swapped)


def rerun_note(headline_errors: list[float], reruns: list[tuple[int, float, float]]) -> str:
    """What reruns of headline runs say about the verdict at 100 labels, as plain sentences ('' for none).

    ``reruns``: (seed, that seed's headline error, the rerun's error), a rerun being the same recipe, labelled
    subset and length. For each, the mean with the rerun in its run's place, and whether that moves it across the
    paper's mean ± 2 standard deviations: if so, the verdict rests on one run that did not repeat."""
    low, high = PAPER_ERRORS[100] - 2 * PAPER_STD[100], PAPER_ERRORS[100] + 2 * PAPER_STD[100]
    inside = low <= sum(headline_errors) / len(headline_errors) <= high
    out = []
    for seed, orig, new in reruns:
        mean = swapped_mean(headline_errors, orig, new)
        moved = (low <= mean <= high) != inside
        out.append(f"A rerun of seed {seed} (same recipe, labelled images and length) ended at {new:.2f} % "
                   f"against that run's {orig:.2f} %; in its place the mean would be {mean:.2f} %, "
                   f"{'inside' if low <= mean <= high else 'outside'} that range"
                   + (": with this few runs the verdict rests on one run, and that run did not repeat."
                      if moved else ", so the verdict stands."))
    return " ".join(out)


def at_a_glance(rows: list[dict], headline_errors: list[float], headline_epochs: float, device: str,
                reruns: list[tuple[int, float, float]] = ()) -> tuple[str, str]:
    """The book's results beside the paper's: a Markdown table (the paper's SSGAN error; the book's SSGAN-FM
    headline runs and the study's SSGAN-FM and supervised-only errors, mean ± sample std with runs and epochs; how
    many times lower SSGAN-FM's error is, :func:`times_lower`) with its note, and the verdict, computed from the
    same numbers, as one plain sentence or two (no markup: it is also pasted into other pages' text), and what
    ``reruns`` of headline runs change in it (:func:`rerun_note`)."""
    summary = summarize(rows)
    fm, sup = by_labels(summary, "ssgan-fm"), by_labels(summary, "supervised")
    ratios = {n: r for n, r in error_ratios(fm, sup).items() if r > 0}
    epochs = sorted({float(r["epochs"]) for r in rows if r.get("epochs")})
    study_ep = "/".join(f"{e:g}" for e in epochs) or "?"
    h = torch.tensor(headline_errors, dtype=torch.float64)
    h_mean, h_sd = float(h.mean()), float(h.std()) if len(h) > 1 else 0.0
    paper = lambda n: f"{PAPER_ERRORS[n]:.2f} ± {PAPER_STD[n]:.3g}" if n in PAPER_ERRORS else "–"  # noqa: E731
    cell = lambda g, n: f"{g[n][0]:.2f} ± {g[n][1]:.2f} ({g[n][2]} runs)" if n in g else "–"  # noqa: E731
    lines = [f"| labels, the book's epochs | paper, 300 epochs: SSGAN (%) | book: SSGAN-FM (%) "
             f"| book: supervised-only (%) | {RATIO_HEADER} |",
             "|---|---|---|---|---|",
             f"| 100, {headline_epochs:g} epochs | {paper(100)} | {h_mean:.2f} ± {h_sd:.2f} ({len(h)} runs) "
             "| – | – |"]
    for n in sorted(set(fm) | set(sup)):
        ratio = times_lower(ratios[n]) if n in ratios else "–"
        lines.append(f"| {n:,}, {study_ep} epochs | {paper(n)} | {cell(fm, n)} | {cell(sup, n)} | {ratio} |")
    low, high = PAPER_ERRORS[100] - 2 * PAPER_STD[100], PAPER_ERRORS[100] + 2 * PAPER_STD[100]
    inside = low <= h_mean <= high
    verdict = (f"At 100 labels the book's {len(h)} runs of {headline_epochs:g} epochs end at "
               f"{h_mean:.2f} ± {h_sd:.2f} % test error, {'inside' if inside else 'outside'} the paper's mean ± 2 "
               f"standard deviations ({low:.2f} to {high:.2f} %), so the book "
               f"{'reproduces' if inside else 'does not reproduce'} the paper's number.")
    if reruns:
        verdict += " " + rerun_note(list(headline_errors), list(reruns))
    both = sorted(ratios)
    if both:  # "lower" only where the means differ by more than the two spreads added
        clear = [n for n in both if sup[n][0] - fm[n][0] > fm[n][1] + sup[n][1]]
        overlap = [n for n in both if n not in clear]
        verdict += (f" In the {study_ep}-epoch label-rate study (chapter 7) SSGAN-FM's mean error is lower than "
                    "supervised-only's by more than their two standard deviations added at "
                    + (spoken([f"{n:,} labels ({lower_or_higher(ratios[n])})" for n in clear]) or "no label count")
                    + (f"; at {spoken([f'{n:,}' for n in overlap])} labels the two overlap" if overlap else "")
                    + ".")
    note = (f"*Test error after the last step, mean ± sample standard deviation over runs that each label their own "
            f"class-balanced subset; the book's runs on {device}, as many epochs as the first column says. The paper: "
            f"Salimans et al. (2016), Table 1, its runs of 300 epochs in every row, averaged over 10 random labelled "
            f"subsets (its section 6.1). The last column: supervised-only's mean error divided by SSGAN-FM's, how many "
            f"times lower SSGAN-FM's is where it is above 1.*")
    return "\n".join(lines) + "\n\n" + note, verdict
