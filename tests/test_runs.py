"""Stored-run helpers reshape what a run stored, exactly; the stored results the chapters read are well formed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssgan_lib.data import validation_split
from ssgan_lib.evidence.records import (
    combine_seeds,
    confusion,
    confusion_table,
    d_wins,
    epoch_means,
    last_val,
    load_run,
    per_seed,
    recipe_table,
    seed_ids,
    seed_mean,
    seed_subset_table,
    seed_table,
    val_curve,
    val_gain,
)
from ssgan_lib.config import config_from_dict

RESULTS = Path(__file__).resolve().parents[1] / "book" / "results"


def record() -> dict:
    # 2 epochs of 4 steps, logged every 2 steps, evaluated every epoch, two seeds
    return {"steps": 8, "epochs": 2.0, "history": {
        "step": [2, 4, 6, 8], "loss_unl": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 9.0]],
        "eval_step": [4, 8], "val_acc": [[0.5, 0.7], [0.9, 0.95]], "val_acc_raw": [[0.4, 0.6], [0.8, 1.0]]}}


def test_curves_are_the_stored_values_reshaped():
    ep, vals = val_curve(record(), "averaged")
    flat = lambda rows: [x for r in rows for x in r]  # noqa: E731
    assert ep == [1.0, 2.0] and flat(vals) == pytest.approx([50, 70, 90, 95])
    assert flat(val_curve(record(), "raw")[1]) == pytest.approx([40, 60, 80, 100])
    e, lu = epoch_means(record(), "loss_unl")
    assert e == [1, 2] and flat(lu) == pytest.approx([2.0, 3.0, 6.0, 7.5])
    assert seed_mean(lu) == pytest.approx([2.5, 6.75])
    last = last_val(record(), "raw")
    assert (last["epoch"], last["mean"], last["min"], last["max"], last["seeds"]) == (2.0, 90.0, 80.0, 100.0, 2)
    assert last["std"] == pytest.approx(14.142135, rel=1e-6)
    assert val_gain(record(), 1) == (1.0, pytest.approx([40.0, 25.0]))  # epoch 1 to 2, per seed
    assert val_gain(record(), 0.5, "raw") == (2.0, [0.0, 0.0])  # no evaluation within half an epoch but the last
    old = record()
    del old["history"]["val_acc_raw"]  # runs from before the raw D was logged
    with pytest.raises(KeyError, match="raw"):
        val_curve(old, "raw")
    with pytest.raises(FileNotFoundError, match="nope"):
        load_run(RESULTS / "nope.json")


def test_recipe_table_reports_the_last_evaluation_d_wins_and_flags():
    run = dict(record(), config={"recipe": "final", "lr": 0.003}, recipe={"lr": 0.003, "lr_decay_epochs": 1},
               wall_seconds=7200.0, device_name="cpu",
               command="python -m ssgan_lib train --labels 100 --seeds 2 --recipe final --lr-decay-epochs 1")
    run["history"]["loss_unl"] = [[0.005, 0.5], [0.005, 0.5], [0.5, 0.5], [0.5, 0.5]]  # seed 1: D wins epoch 1
    table, caption = recipe_table({"a": run}).split("\n\n")
    assert table.splitlines()[2] == ("| a | final: 0.003, last 1 ep. | 2 × 2 | 90.00 ± 14.14 | 92.50 ± 3.54 | 1, 0"
                                     " | 2.0 h |")
    assert caption.startswith("*a: `--lr-decay-epochs 1`. ") and caption.endswith("`book/results/recipe/`.*")
    one = dict(run, history={k: [r[:1] if isinstance(r, list) else r for r in v]  # seed 1 alone
                             for k, v in run["history"].items()})
    assert recipe_table({"a": one}).splitlines()[2].split(" | ")[3:5] == ["80.00", "90.00"]


def test_d_wins_counts_the_epochs_below_the_threshold_and_a_phase_that_lasts():
    assert d_wins([1, 2, 3, 4], [0.2, 0.3, 0.4, 0.4]) == "0 of 4"
    assert d_wins([1, 2, 3, 4], [0.2, 0.005, 0.001, 0.4]) == "2 of 4 (epochs 2-3)"
    assert d_wins([1, 2, 3, 4, 5], [0.005, 0.3, 0.2, 0.0, 0.001]) == "3 of 5 (epochs 1-5), every epoch from 4 on"
    assert d_wins([1, 2], [0.05, 0.05], below=0.1) == "2 of 2 (epochs 1-2), every epoch from 1 on"


def test_stored_reference_runs_are_complete():
    doc = json.loads((RESULTS / "reference_runs.json").read_text())
    runs = {(r["recipe"], r["seed"]): r for r in doc["runs"]}
    assert set(runs) == {("final", 1), ("final", 2), ("final", 3), ("paper-2016-06", 1), ("paper-2016-06", 2)}
    for r in runs.values():
        n = len(r["epoch"])
        assert r["epoch"] == list(range(1, n + 1)) and n >= 20
        assert all(len(r[k]) == n for k in ("loss_lab", "loss_unl", "test_err"))
        assert all(0 < e < 1 for e in r["test_err"])
    assert all("raw_test_err" in runs[("final", s)] for s in (1, 2, 3))
    assert all("raw_test_err" not in runs[("paper-2016-06", s)] for s in (1, 2))


def test_stored_external_log_is_complete_and_cites_its_source():
    """The third-party log chapter 6 shows beside the reference: 300 epochs, each field per epoch, its source."""
    doc = json.loads((RESULTS / "external" / "chainer_port_final_seed0.json").read_text())
    assert doc["source"].startswith("https://github.com/") and "not run here" in doc["about"]
    assert doc["epoch"] == list(range(1, 301))
    assert all(len(doc[k]) == 300 for k in ("test_err", "loss_unl", "loss_lab", "loss_gen", "seconds"))
    assert all(0 < e < 1 for e in doc["test_err"]) and all(v > 0 for v in doc["loss_unl"])


def test_stored_recipe_runs_carry_what_reruns_them():
    stored = [f for d in ("recipe", "seed_vs_subset", "headline", "labels_20")
              for f in sorted((RESULTS / d).glob("*.json"))]
    assert len(stored) >= 7
    for f in stored:
        m = load_run(f)
        cfg = config_from_dict(m["config"])  # loads into today's TrainConfig
        cfg.validate()
        assert m["command"].startswith("python -m ssgan_lib train") and m["commit"]
        assert len(m["history"]["val_acc"]) == len(m["history"]["val_acc_raw"]) == len(m["history"]["eval_step"])


def test_changed_flags_are_what_a_run_changes_in_its_recipe():
    from ssgan_lib.evidence.records import changed_flags

    cmd = "python -m ssgan_lib train --labels 100 --seeds 2 --device cpu --quiet --out /x/y --recipe {}"
    assert changed_flags({"command": cmd.format("final --epochs 90")}) == ""
    assert changed_flags({"command": cmd.format("final --epochs 90 --lr-decay-epochs 30 --resume")}) == \
        "--lr-decay-epochs 30"
    assert changed_flags({"command": cmd.format("paper-2016-06 --no-data-init --hidden-scale trainable")}) == \
        "--no-data-init --hidden-scale trainable"
    assert changed_flags({"command": cmd.format("final --seed 3 --data-seed 2 --lr 0.001")}) == "--lr 0.001"


def test_combine_seeds_puts_separate_seed_jobs_side_by_side():
    def one(seed, acc, loss):
        r = record()
        r["history"] = {k: ([[v[0]] for v in vals] if k not in ("step", "eval_step") else vals)
                        for k, vals in r["history"].items()}
        r["history"]["loss_unl"] = [[loss]] * 4
        return dict(r, config={"seed": seed, "seeds": 1, "lr": 0.003}, seeds=1, test_accuracy_per_seed=[acc],
                    val_accuracy_per_seed=[acc], wall_seconds=10.0, command=f"train --seed {seed}")
    both = combine_seeds([one(1, 0.98, 0.1), one(2, 0.99, 0.2)])
    assert both["seeds"] == 2 and both["test_accuracy_per_seed"] == [0.98, 0.99]
    assert both["val_predictions"] is None  # runs from before predictions were stored
    a, b = one(1, 0.98, 0.1), one(2, 0.99, 0.2)
    a["val_predictions"], b["val_predictions"] = ["72"], ["77"]
    assert combine_seeds([a, b])["val_predictions"] == ["72", "77"]
    del b["val_predictions"]  # one run without: none for the combination (no seed is silently left out)
    assert combine_seeds([a, b])["val_predictions"] is None
    assert both["test_error"] == pytest.approx(1.5) and both["wall_seconds"] == 20.0
    assert both["commands"] == ["train --seed 1", "train --seed 2"] and both["config"]["seed"] == 1
    assert val_curve(both)[1] == [[50.0, 50.0], [90.0, 90.0]]
    assert epoch_means(both, "loss_unl")[1] == [[0.1, 0.2], [0.1, 0.2]]
    seeds = per_seed(both)  # the same values, one seed at a time
    assert sorted(seeds) == [1, 2] and seeds[2]["epoch"] == val_curve(both)[0]
    assert seeds[2]["acc"] == [50.0, 90.0] and seeds[2]["loss_unl"] == [0.2, 0.2]
    assert seeds[1]["loss_epoch"] == epoch_means(both, "loss_unl")[0]
    assert seeds[1]["test"] == pytest.approx(98.0) and seeds[2]["test"] == pytest.approx(99.0)
    other = one(2, 0.99, 0.2)
    other["config"]["lr"] = 0.001
    with pytest.raises(ValueError, match="lr"):
        combine_seeds([one(1, 0.98, 0.1), other])
    assert seed_ids(both) == [1, 2]
    pair = dict(one(3, 0.97, 0.1), config={"seed": 3, "seeds": 2, "lr": 0.003})  # a job of two seeds
    assert seed_ids(pair) == [3, 4] and seed_ids(combine_seeds([both, pair])) == [1, 2, 3, 4]
    assert seed_table(both).splitlines()[2:] == [
        "| 1 | 2.00 | 90.00 | 80.00 | 0 of 2 |", "| 2 | 1.00 | 90.00 | 80.00 | 0 of 2 |",
        "| mean ± std | 1.50 ± 0.71 | 90.00 ± 0.00 | 80.00 ± 0.00 | |"]
    short = one(2, 0.99, 0.2)
    short["history"]["eval_step"] = [4]
    with pytest.raises(ValueError, match="finished"):
        combine_seeds([one(1, 0.98, 0.1), short])


def test_seed_subset_table_rows_are_weight_seeds_and_columns_subsets():
    def on_subset(accs):  # the last evaluation of three seeds (1, 2, 3) trained on one subset
        r = record()
        r["history"]["val_acc"] = [[0.5] * 3, accs]
        r["history"]["val_acc_raw"] = [[0.5] * 3, [a - 0.01 for a in accs]]
        return dict(r, config={"seed": 1, "seeds": 3})
    table, verdict = seed_subset_table({2: on_subset([0.95, 0.98, 0.97]), 1: on_subset([0.94, 0.98, 0.98])})
    lines = table.splitlines()
    assert lines[0] == "| weights, noise, batch order | subset 1 | subset 2 | mean |"
    assert lines[2] == "| seed 1 | 94.00 (93.00) | 95.00 (94.00) | 94.50 |"
    assert lines[-1] == "| mean | 96.67 | 96.67 | |"
    assert verdict.startswith("After 2 epochs the weight seeds' means span 3.50 points (94.50-98.00 %)")
    assert verdict.endswith("the subsets' means 0.00 points (96.67-96.67 %): in these runs the weight seed moves the "
                            "result more.")


def test_stored_seed_vs_subset_runs_share_one_subset_each(mnist):
    runs = {f.stem: load_run(f) for f in sorted((RESULTS / "seed_vs_subset").glob("subset-*.json"))}
    assert set(runs) == {"subset-1", "subset-2"}
    for name, m in runs.items():
        assert m["config"]["data_seed"] == int(name.split("-")[1]) and m["config"]["seeds"] == 3
        assert f"--data-seed {m['config']['data_seed']}" in m["command"]
        # D's class for every validation image, per seed (added from the run's final checkpoint): with the split's
        # labels they give the stored validation accuracy
        _, val = validation_split(len(mnist.train_y), m["config"]["val_size"], seed=0)
        labels = mnist.train_y[val].tolist()
        for conf, acc in zip(confusion(m["val_predictions"], labels), m["val_accuracy_per_seed"], strict=True):
            assert sum(conf[k][k] for k in range(10)) / len(labels) == pytest.approx(acc, abs=1e-6)


def test_confusion_table_counts_the_most_frequent_mistakes_per_seed():
    labels = [7, 7, 7, 2, 3]
    runs = {"subset 1": {"val_predictions": ["22723", "27725"]},  # seed 1: two 7s as 2; seed 2: one, and 3 as 5
            "subset 2": {"val_predictions": ["77723", "77722"]}}
    assert confusion(["22723"], labels)[0][7][2] == 2
    table, pairs = confusion_table(runs, labels, top=2)
    assert pairs == [(7, 2), (3, 2)]  # 3 mistakes of 7 as 2; a tie of one between 3 as 2 and 3 as 5: first wins
    assert table.splitlines() == ["| | 7 read as 2 | 3 read as 2 | all errors |", "|---|---|---|---|",
                                  "| subset 1 | 2, 1 | 0, 0 | 2, 2 |", "| subset 2 | 0, 0 | 0, 1 | 0, 1 |"]
