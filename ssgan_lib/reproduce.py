"""``python -m ssgan_lib reproduce``: the paper's MNIST table and the label-rate study.

For every label count and method (``ssgan-fm``: the feature-matching SSGAN; ``supervised``: the same
D on the same labels, no GAN), ``seeds`` runs train side by side (the seed axis): run ``s`` uses seed
``s + 1`` for its weights, its noise and its class-balanced labelled subset. Protocol of Salimans et
al.: the labelled subset is drawn from all 60,000 training images (no validation split: nothing is
tuned here), the unlabelled pool is all 60,000, and each run's test error is measured once, after its
last step, with the D its recipe evaluates (``--recipe``, :mod:`ssgan_lib.recipes`). Rows go to a CSV
``method,labels,seed,test_error,epochs,recipe,device,commit`` (error in percent), written atomically after each
group; the group in progress checkpoints every epoch, so an
interrupted sweep (Ctrl-C, a lost session, a time-limited job) resumes where it stopped when the same
command runs again. A metadata JSON beside the CSV keeps, per group, its full configuration, wall time and
history (the losses every ``log_every`` steps), so every row can be run again from its record.
"""
from __future__ import annotations

import csv
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch

from . import __version__
from .atomic import atomic_path, write_json
from .config import device_name
from .data import load_mnist
from .runs import D_WINS_BELOW, d_wins, epoch_means, git_commit, machine
from .train import CheckpointError, TrainConfig, Trainer

DEFAULT_LABELS = (20, 50, 100, 200, 500, 1000, 3000, 60000)
PAPER_ERRORS = {20: 16.77, 50: 2.21, 100: 0.93, 200: 0.90}  # Salimans et al. 2016, Table 1 (percent)
PAPER_STD = {20: 4.52, 50: 1.36, 100: 0.065, 200: 0.04}
FIELDS = ("method", "labels", "seed", "test_error", "epochs", "recipe", "device", "commit")


def read_rows(path: Path) -> list[dict]:
    """Rows of a results CSV (empty list if the file does not exist)."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if set(FIELDS) - set(r):
            raise ValueError(f"{path} is not a results file (columns {list(r)})")
        r["labels"], r["seed"], r["test_error"] = int(r["labels"]), int(r["seed"]), float(r["test_error"])
        r["epochs"] = float(r["epochs"]) if r["epochs"] else None
        for k in ("recipe", "device", "commit"):
            r[k] = r[k] or None
    return rows


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in sorted(rows, key=lambda r: (r["method"], r["labels"], r["seed"])):
            w.writerow({k: _cell(k, r.get(k)) for k in FIELDS})


def _cell(key: str, value) -> str:
    if value is None:
        return ""
    if key == "test_error":
        return f"{value:.4f}"
    if key == "epochs":
        return f"{value:g}"
    return str(value)


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


def study_table(rows: list[dict]) -> str:
    """The study as a Markdown table: one line per label count, mean ± sample std (n seeds) of each method, the
    ratio SSGAN-FM / supervised-only of the mean errors (the paper's claim: well below 1; the book's target: at
    most 0.5) and the paper's number where it has one."""
    summary = summarize(rows)
    fm, sup = by_labels(summary, "ssgan-fm"), by_labels(summary, "supervised")
    ratios = error_ratios(fm, sup)
    cell = lambda g, n: f"{g[n][0]:.2f} ± {g[n][1]:.2f} (n={g[n][2]})" if n in g else "–"  # noqa: E731
    lines = ["| labels | SSGAN-FM error (%) | supervised-only error (%) | SSGAN / supervised | paper SSGAN (%) |",
             "|---|---|---|---|---|"]
    for n in sorted(set(fm) | set(sup)):
        ratio = f"{ratios[n]:.2f}" if n in ratios else "–"
        paper = f"{PAPER_ERRORS[n]:.2f} ± {PAPER_STD[n]:.3g}" if n in PAPER_ERRORS else "–"
        lines.append(f"| {n:,} | {cell(fm, n)} | {cell(sup, n)} | {ratio} | {paper} |")
    return "\n".join(lines)


def study_lines(rows: list[dict], meta: dict | None = None) -> list[str]:
    """The study, one block of lines per label count: mean errors (with the paper's), SSGAN-FM / supervised-only
    and whether that is at most half, the errors per seed and, from the histories in ``meta`` (the sweep's
    ``.meta.json``), the epochs in which each seed's D wins the unsupervised game outright
    (:func:`~ssgan_lib.runs.d_wins`). Every line fits 80 characters."""
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
            out.append(f"{pad}SSGAN-FM / supervised-only: {ratios[n]:.2f}, "
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
    supervised-only error (and those where it has not, with the ratio), and each mean beside the paper's."""
    summary = summarize(rows)
    fm, sup = by_labels(summary, "ssgan-fm"), by_labels(summary, "supervised")
    ratios = error_ratios(fm, sup)
    halved = [n for n, r in ratios.items() if r <= TARGET_RATIO]
    not_halved = [f"{n:,} (ratio {r:.2f})" for n, r in ratios.items() if r > TARGET_RATIO]
    epochs = sorted({r["epochs"] for r in rows if r.get("epochs")})
    text = ("**What the stored study shows.** SSGAN-FM has at most half the supervised-only error at "
            + (", ".join(f"{n:,}" for n in halved) or "no label count") + " labels"
            + (f"; not at {', '.join(not_halved)}" if not_halved else "") + ".")
    vs_paper = [f"{n} labels {fm[n][0]:.2f} % against {PAPER_ERRORS[n]:.2f} %" for n in sorted(fm)
                if n in PAPER_ERRORS]
    if vs_paper:
        after = f", after {', '.join(f'{e:g}' for e in epochs)} epochs" if epochs else ""
        text += f" Against the paper's 300-epoch numbers{after}: " + "; ".join(vs_paper) + "."
    return text


def _wall_total(meta: dict) -> float:
    """Seconds of training of every group in a sweep's metadata."""
    return round(sum(g["wall_seconds"] for g in meta["groups"].values()), 1)


def partial_dir(out: Path, method: str, labels: int) -> Path:
    """Where the group (``method``, ``labels``) keeps its checkpoint while it trains (removed when done)."""
    return out.with_name(f"{out.stem}.partial") / f"{method}-{labels}"


def run_sweep(labels: list[int], methods: list[str], seeds: int, epochs: float | None, out: Path,
              device: str, steps: int | None = None, progress: bool = True, data=None,
              ckpt_every: int | None = None, recipe: str = "final", supervised_epochs: float | None = None
              ) -> list[dict]:
    """Run every (method, labels) group not yet complete in ``out``; return all rows.

    A finished group is a set of CSV rows and is never trained again. A group in progress writes a
    checkpoint every ``ckpt_every`` steps (None: TrainConfig's, every epoch; and on Ctrl-C) under ``partial_dir``:
    running the same
    sweep again continues it from there, bit-identical on CPU, so a sweep survives a lost Colab
    session or a time-limited job. The partial checkpoint is deleted once the group's rows are written.
    """
    rows = read_rows(out)
    data = data if data is not None else load_mnist(device)
    meta_path = out.with_suffix(".meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"groups": {}}
    t_start = time.perf_counter()
    for method in methods:
        for n in labels:
            have = {r["seed"] for r in rows if r["method"] == method and r["labels"] == n}
            if have >= set(range(1, seeds + 1)):
                continue  # done in an earlier (interrupted) sweep
            ep = epochs or TrainConfig.epochs  # None: TrainConfig's default
            ep = (supervised_epochs or ep) if method == "supervised" else ep
            cfg = TrainConfig(labels=n, seed=1, seeds=seeds, method=method, epochs=ep, steps=steps, recipe=recipe,
                              val_size=0, eval_every=0, ckpt_every=ckpt_every, device=device)
            part = partial_dir(out, method, n)
            tr = Trainer(cfg, data=data, out_dir=part, progress=progress)
            try:
                resumed = tr.resume_saved()
            except CheckpointError as exc:
                raise CheckpointError(f"{exc}; it belongs to an earlier sweep with other settings: run that "
                                      f"sweep again, or delete {part} to start this group afresh") from exc
            if resumed:
                print(f"{method:>10} {n:>6} labels: resuming at step {tr.step} of {tr.total_steps}", flush=True)
            tr.fit()
            errs = [100.0 * (1 - a) for a in tr.evaluate("test")]
            rows = [r for r in rows if not (r["method"] == method and r["labels"] == n)]
            commit = git_commit()
            rows += [{"method": method, "labels": n, "seed": s + 1, "test_error": e,
                      "epochs": round(tr.step / tr.steps_per_epoch, 4), "recipe": recipe, "device": device,
                      "commit": commit} for s, e in enumerate(errs)]
            write_rows(out, rows)
            meta["groups"][f"{method}/{n}"] = {"wall_seconds": round(tr.wall_seconds, 1), "steps": tr.step,
                                               "config": asdict(cfg), "commit": commit, "machine": machine(device),
                                               "history": tr.history}
            meta.update({"commit": commit, "device": device,
                         "device_name": device_name(device),
                         "seeds": seeds, "ssgan_lib": __version__, "torch": torch.__version__,
                         "wall_seconds_total": _wall_total(meta),
                         "protocol": "labelled subset from all 60,000 training images, class-balanced, seed s "
                                     "for run s; unlabelled pool all 60,000; test error of the D the recipe "
                                     "evaluates, after the last step; no validation split, nothing tuned"})
            write_json(meta, meta_path)
            shutil.rmtree(part, ignore_errors=True)
            if part.parent.is_dir() and not any(part.parent.iterdir()):
                part.parent.rmdir()
            mean = sum(errs) / len(errs)
            print(f"{method:>10} {n:>6} labels: test error {mean:.2f}% over {len(errs)} seeds "
                  f"({tr.wall_seconds:.0f}s)", flush=True)
    print(f"sweep done in {time.perf_counter() - t_start:.0f}s; results in {out}")
    return rows


def merge_sweeps(sources: list[Path], out: Path) -> list[dict]:
    """Combine the CSVs (and metadata JSONs beside them) of sweeps run apart, e.g. one label count per job, into
    ``out`` and its metadata. A (method, labels) group found in several sources is taken from the last one;
    ``out`` itself may be among the sources, so results stored earlier are kept. Lengths (``steps``, the config's
    ``epochs``) are per group only: groups of one sweep may differ in length. Returns the combined rows."""
    rows: dict[tuple[str, int], list[dict]] = {}
    meta: dict = {"groups": {}}
    for src in map(Path, sources):
        fresh: dict[tuple[str, int], list[dict]] = {}
        for r in read_rows(src):
            fresh.setdefault((r["method"], r["labels"]), []).append(r)
        rows.update(fresh)
        m_path = src.with_suffix(".meta.json")
        if m_path.exists():
            m = json.loads(m_path.read_text())
            meta["groups"].update(m.pop("groups", {}))
            meta.update(m)
    meta["wall_seconds_total"] = _wall_total(meta)
    merged = [r for group in rows.values() for r in group]
    write_rows(out, merged)
    write_json(meta, out.with_suffix(".meta.json"))
    return merged
