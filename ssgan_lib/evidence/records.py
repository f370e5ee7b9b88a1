"""Stored training runs, read for the book: a ``metrics.json`` of ``python -m ssgan_lib train`` turned into curves,
per-seed numbers, confusions and the Markdown tables chapters 6 and 7 show.

A stored run holds its configuration (``config``, a :class:`~ssgan_lib.config.TrainConfig` as a dict), the command,
commit, device, wall time, and its history: losses every ``log_every`` steps and the validation accuracy of the
averaged D (``val_acc``) and of the raw D (``val_acc_raw``, runs since the recipes were named) every
``eval_every`` steps, one value per seed. The readers only reshape what is stored; they compute nothing new.
Writing a run is the library's (:mod:`ssgan_lib.runs`).
"""
from __future__ import annotations

import json
import shlex
import statistics
from pathlib import Path
from typing import Any


def load_run(path: str | Path) -> dict[str, Any]:
    """The stored record; ``FileNotFoundError`` naming the path when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no stored run at {path}")
    return json.loads(path.read_text())


def steps_per_epoch(run: dict[str, Any]) -> float:
    return run["steps"] / run["epochs"]


def val_curve(run: dict[str, Any], which: str = "averaged") -> tuple[list[float], list[list[float]]]:
    """(epochs of the evaluations, validation accuracy in % per evaluation and seed) of the averaged or raw D."""
    key = {"averaged": "val_acc", "raw": "val_acc_raw"}[which]
    h = run["history"]
    if not h.get(key):
        raise KeyError(f"this run stored no validation accuracy of the {which} D ({key})")
    per = steps_per_epoch(run)
    return [s / per for s in h["eval_step"]], [[100 * a for a in v] for v in h[key]]


def epoch_means(run: dict[str, Any], key: str) -> tuple[list[int], list[list[float]]]:
    """A logged quantity (``loss_lab``, ``loss_unl``, ``loss_g``, ``train_acc``) averaged over each epoch, per seed."""
    h, per = run["history"], steps_per_epoch(run)
    buckets: dict[int, list[list[float]]] = {}
    for step, vals in zip(h["step"], h[key]):
        buckets.setdefault(int((step - 1) // per) + 1, []).append(vals)
    epochs = sorted(buckets)
    return epochs, [[statistics.fmean(col) for col in zip(*buckets[e])] for e in epochs]


def per_seed(run: dict[str, Any], which: str = "averaged") -> dict[int, dict[str, Any]]:
    """Each seed's curves, ``{seed: dict(epoch, acc, loss_epoch, loss_unl, test)}``: validation accuracy (%) of the
    averaged or raw D at the evaluation epochs ``epoch``, ``loss_unl`` epoch means at ``loss_epoch``, and the test
    accuracy (%) measured once after the last step."""
    ep, acc = val_curve(run, which)
    e2, lu = epoch_means(run, "loss_unl")
    return {seed: dict(epoch=ep, acc=[v[j] for v in acc], loss_epoch=e2, loss_unl=[v[j] for v in lu],
                       test=100 * run["test_accuracy_per_seed"][j])
            for j, seed in enumerate(seed_ids(run))}


def seed_mean(values: list[list[float]]) -> list[float]:
    """Mean over seeds of each row (a row = one evaluation, one value per seed)."""
    return [statistics.fmean(v) for v in values]


def last_val(run: dict[str, Any], which: str = "averaged") -> dict[str, float]:
    """The last validation accuracy (%): mean, std (0 for one seed), min and max over seeds, and the epoch."""
    epochs, vals = val_curve(run, which)
    last = vals[-1]
    return {"epoch": epochs[-1], "mean": statistics.fmean(last),
            "std": statistics.stdev(last) if len(last) > 1 else 0.0, "min": min(last), "max": max(last),
            "seeds": len(last)}


def val_gain(run: dict[str, Any], over_epochs: float, which: str = "averaged") -> tuple[float, list[float]]:
    """Is a run still improving where it stopped? (the epoch of the first evaluation in its last ``over_epochs``
    epochs, each seed's validation accuracy at the last evaluation minus at that one, in points)."""
    epochs, vals = val_curve(run, which)
    start = next(i for i, e in enumerate(epochs) if e >= epochs[-1] - over_epochs)
    return epochs[start], [b - a for a, b in zip(vals[start], vals[-1])]


def confusion(predictions: list[str] | list[list[int]], labels: list[int], num_classes: int = 10
              ) -> list[list[list[int]]]:
    """Per seed, how many images of class :math:`t` the run calls :math:`p`:
    :math:`C_{s,t,p} = |\\{i : y_i = t,\\ \\hat y_{s,i} = p\\}|`. Its diagonal over the number of images is the
    accuracy; the rest says which digits a run mistakes for which (a record's ``val_predictions`` and the labels
    of its validation split)."""
    counts = [[[0] * num_classes for _ in range(num_classes)] for _ in predictions]
    for c, pred in zip(counts, predictions):
        if len(pred) != len(labels):
            raise ValueError(f"{len(pred)} predictions for {len(labels)} labels")
        for t, p in zip(labels, pred):
            c[t][int(p)] += 1
    return counts


def confusion_table(runs: dict[Any, dict[str, Any]], labels: list[int], top: int = 3
                    ) -> tuple[str, list[tuple[int, int]]]:
    """Which digits stored runs mistake for which: the ``top`` (true, predicted) pairs most frequent over every
    seed of ``runs`` (records with ``val_predictions``, keyed by what the table's rows name), as a Markdown table
    with one row per key, one count per seed in each cell and each seed's errors in all; and those pairs."""
    conf = {key: confusion(m["val_predictions"], labels) for key, m in runs.items()}
    K = len(next(iter(conf.values()))[0])  # classes
    total = {(t, p): sum(c[t][p] for cs in conf.values() for c in cs) for t in range(K) for p in range(K) if t != p}
    pairs = sorted(total, key=lambda tp: -total[tp])[:top]
    lines = [f"| | {' | '.join(f'{t} read as {p}' for t, p in pairs)} | all errors |",
             "|---|" + "---|" * (len(pairs) + 1)]
    for key, cs in conf.items():
        cells = [", ".join(str(c[t][p]) for c in cs) for t, p in pairs]
        wrong = ", ".join(str(len(labels) - sum(c[k][k] for k in range(K))) for c in cs)
        lines.append(f"| {key} | {' | '.join(cells)} | {wrong} |")
    return "\n".join(lines), pairs


def seed_ids(run: dict[str, Any]) -> list[int]:
    """The seed of each run in a record, in the order of its per-seed values (a record of ``seeds = S`` holds
    seed, seed + 1, ...; one from :func:`combine_seeds` holds those of every record it combined)."""
    return [c["seed"] + s for c in run.get("configs", [run["config"]]) for s in range(c["seeds"])]


def combine_seeds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs of one recipe and length trained as separate jobs (e.g. the 300-epoch headline, one seed per job so
    that two lanes share it) as one record with a seed axis, so that :func:`val_curve`, :func:`last_val` and
    :func:`recipe_table` read it like a run of ``seeds = S``. Per-seed values are put side by side in the given
    order; the test accuracy is their mean, the wall time their sum; ``command`` and ``config`` are the first
    run's, ``commands`` and ``configs`` every run's. ``ValueError`` when the runs differ in anything but their
    seed or were logged on other steps."""
    if not runs:
        raise ValueError("no runs to combine")
    first = runs[0]
    same = {k: v for k, v in first["config"].items() if k not in ("seed", "seeds", "device")}
    for r in runs[1:]:
        other = {k: v for k, v in r["config"].items() if k not in ("seed", "seeds", "device")}
        diff = sorted(k for k in same.keys() | other.keys() if same.get(k) != other.get(k))
        if diff:
            raise ValueError(f"runs differ in more than their seed: {', '.join(diff)}")
        for k in ("step", "eval_step"):
            if r["history"][k] != first["history"][k]:
                raise ValueError(f"runs logged on different steps ({k}): were they all finished?")
    h = first["history"]
    history = {k: ([[x for r in runs for x in r["history"][k][i]] for i in range(len(h[k]))]
                   if k not in ("step", "eval_step") else list(h[k])) for k in h}
    per_seed = [a for r in runs for a in r["test_accuracy_per_seed"]]
    val = [a for r in runs for a in (r["val_accuracy_per_seed"] or [])]
    pred = [p for r in runs for p in (r.get("val_predictions") or [])]
    mean = statistics.fmean(per_seed)
    return {**first, "test_accuracy": mean, "test_error": 100.0 * (1 - mean), "test_accuracy_per_seed": per_seed,
            "val_accuracy_per_seed": val or None, "seeds": len(per_seed),
            "val_predictions": pred if len(pred) == len(per_seed) else None,
            "wall_seconds": sum(r["wall_seconds"] for r in runs), "history": history,
            "commands": [c for r in runs for c in r.get("commands", [r["command"]])],
            "configs": [c for r in runs for c in r.get("configs", [r["config"]])]}


D_WINS_BELOW = 0.01  # an epoch mean of loss_unl below this: D wins the unsupervised game outright


def d_wins(epochs: list[int], loss_unl: list[float], below: float = D_WINS_BELOW) -> str:
    """The epochs in which D wins the unsupervised game outright (epoch mean of ``loss_unl`` below ``below``), as
    text: ``"n of N (epochs a-b)"``, plus ``", every epoch from e on"`` when a run stays in that phase to its end."""
    won = [v < below for v in loss_unl]
    w = [e for e, x in zip(epochs, won) if x]
    text = f"{len(w)} of {len(epochs)}"
    if w:
        text += f" (epochs {w[0]:.0f}-{w[-1]:.0f})"
    k = len(won)
    while k > 0 and won[k - 1]:
        k -= 1
    if k < len(won):
        text += f", every epoch from {epochs[k]:.0f} on"
    return text


def recipe_table(runs: dict[str, dict[str, Any]], below: float = D_WINS_BELOW) -> str:
    """Stored recipe runs (name -> record) as a Markdown table with its caption: recipe, rate and schedule, seeds
    x epochs, the last validation accuracy of the raw and the averaged D (mean ± std over seeds), per seed the
    number of epochs in which D wins outright (mean ``loss_unl`` below ``below``), and the wall time; the caption
    names each run's recipe-changing flags (:func:`changed_flags`)."""
    lines = ["| run | recipe: lr, decay | seeds × epochs | raw D (%) | averaged D (%) | D-wins epochs | wall |",
             "|---|---|---|---|---|---|---|"]
    notes = []
    pm = lambda v: f"{v['mean']:.2f}" + (f" ± {v['std']:.2f}" if v["seeds"] > 1 else "")  # noqa: E731
    for name, m in runs.items():
        raw, avg = last_val(m, "raw"), last_val(m, "averaged")
        _, lu = epoch_means(m, "loss_unl")
        wins = [sum(1 for v in col if v < below) for col in zip(*lu)]
        decay = m["recipe"]["lr_decay_epochs"]
        lines.append(
            f"| {name} | {m['config']['recipe']}: {m['recipe']['lr']:g}, "
            + (f"last {decay:.0f} ep." if decay else "constant")
            + f" | {raw['seeds']} × {raw['epoch']:.0f} | {pm(raw)} | {pm(avg)} | {', '.join(map(str, wins))}"
            f" | {m['wall_seconds'] / 3600:.1f} h |")
        flags = changed_flags(m)
        if flags:
            notes.append(f"{name}: `{flags}`. ")
    device = next(iter(runs.values()))["device_name"] if runs else ""
    caption = ("*" + "".join(notes) + "Raw and averaged D: validation accuracy (5,000 images) at the last"
               " evaluation, mean ± standard deviation over seeds (one seed: its value). D-wins epochs: per seed,"
               f" the epochs whose mean `loss_unl` is below {below:g}. {device}; commands and commits in"
               " `book/results/recipe/`.*")
    return "\n".join(lines) + "\n\n" + caption


def seed_table(run: dict[str, Any], below: float = D_WINS_BELOW) -> str:
    """One run's seeds as a Markdown table: per seed the test error after the last step, the last validation
    accuracy of the averaged and the raw D, and the epochs in which D wins outright (:func:`d_wins`); the last row
    gives the mean ± standard deviation over the seeds."""
    tests = [100 * (1 - a) for a in run["test_accuracy_per_seed"]]
    avg, raw = val_curve(run, "averaged")[1][-1], val_curve(run, "raw")[1][-1]
    e, lu = epoch_means(run, "loss_unl")
    seeds = seed_ids(run)
    lines = ["| seed | test error (%) | validation, averaged D (%) | validation, raw D (%) | D wins outright |",
             "|---|---|---|---|---|"]
    for i, seed in enumerate(seeds):
        lines.append(f"| {seed} | {tests[i]:.2f} | {avg[i]:.2f} | {raw[i]:.2f} | "
                     f"{d_wins(e, [col[i] for col in lu], below)} |")
    ms = lambda v: (f"{statistics.fmean(v):.2f} ± {statistics.stdev(v):.2f}"  # noqa: E731
                    if len(v) > 1 else f"{v[0]:.2f}")
    lines.append(f"| mean ± std | {ms(tests)} | {ms(avg)} | {ms(raw)} | |")
    return "\n".join(lines)


def seed_subset_table(runs: dict[int, dict[str, Any]]) -> tuple[str, str]:
    """Runs trained with ``data_seed`` set (every seed on one labelled subset), keyed by that data seed: a Markdown
    table with one row per weight seed (its initial weights, noise and batch order) and one column per subset,
    each cell the last validation accuracy of the averaged D (raw D in brackets), and one sentence comparing the
    spread of the row means (the weight seeds) with that of the column means (the subsets)."""
    subsets = sorted(runs)
    first = runs[subsets[0]]
    seeds = seed_ids(first)
    avg = {d: val_curve(runs[d], "averaged")[1][-1] for d in subsets}
    raw = {d: val_curve(runs[d], "raw")[1][-1] for d in subsets}
    epochs = {last_val(runs[d])["epoch"] for d in subsets}
    lines = ["| weights, noise, batch order | " + " | ".join(f"subset {d}" for d in subsets) + " | mean |",
             "|---|" + "---|" * (len(subsets) + 1)]
    rows = []
    for i, seed in enumerate(seeds):
        rows.append(statistics.fmean(avg[d][i] for d in subsets))
        lines.append(f"| seed {seed} | " + " | ".join(f"{avg[d][i]:.2f} ({raw[d][i]:.2f})" for d in subsets)
                     + f" | {rows[-1]:.2f} |")
    cols = [statistics.fmean(avg[d]) for d in subsets]
    lines.append("| mean | " + " | ".join(f"{c:.2f}" for c in cols) + " | |")
    spread = lambda v: max(v) - min(v)  # noqa: E731
    verdict = (f"After {', '.join(f'{e:g}' for e in sorted(epochs))} epochs the weight seeds' means span "
               f"{spread(rows):.2f} points ({min(rows):.2f}-{max(rows):.2f} %), the subsets' means "
               f"{spread(cols):.2f} points ({min(cols):.2f}-{max(cols):.2f} %): in these runs the "
               + ("weight seed" if spread(rows) > spread(cols) else "labelled subset") + " moves the result more.")
    return "\n".join(lines), verdict


def changed_flags(run: dict[str, Any]) -> str:
    """The flags of the run's command that change its recipe: all but ``--labels --seed(s) --data-seed --device
    --out --recipe --epochs`` and ``--quiet --resume``, e.g. ``"--lr-decay-epochs 30"`` ("" for a recipe as
    published)."""
    words, keep = shlex.split(run["command"]), []
    words = words[words.index("train") + 1:] if "train" in words else words
    skip_value = {"--labels", "--seed", "--seeds", "--data-seed", "--device", "--out", "--recipe", "--epochs"}
    it = iter(words)
    for w in it:
        if w in skip_value:
            next(it, None)
        elif w not in ("--quiet", "--resume"):
            keep.append(w)
    return " ".join(keep)
