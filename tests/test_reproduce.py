"""The label-rate sweep at tiny scale: CSV layout, metadata, resume, bad input."""
from __future__ import annotations

import csv
import json

import pytest

from ssgan_lib import cli, reproduce
from ssgan_lib.evidence import study


@pytest.mark.slow  # eight groups of runs end to end
def test_sweep_writes_csv_and_meta_and_resumes(tmp_path, mnist, monkeypatch):
    """The CSV (one row per run, with its recipe, length, device and commit), the metadata (each group's full
    config and history); then a second sweep trains only what is missing."""
    out = tmp_path / "results" / "label_rate.csv"
    rows = reproduce.run_sweep([20, 100], ["ssgan-fm", "supervised"], seeds=2, epochs=None, out=out, device="cpu",
                               steps=3, progress=False, data=mnist, recipe="paper-2016-06")
    assert len(rows) == 2 * 2 * 2
    with open(out) as f:
        got = list(csv.DictReader(f))
    assert list(got[0]) == ["method", "labels", "seed", "test_error", "epochs", "recipe", "device", "commit"]
    assert {(r["method"], int(r["labels"]), int(r["seed"])) for r in got} == {
        (m, n, s) for m in ("ssgan-fm", "supervised") for n in (20, 100) for s in (1, 2)}
    by_key = {(r["method"], r["labels"], r["seed"]): r["test_error"] for r in rows}  # what the sweep computed
    again = reproduce.read_rows(out)
    assert {(r["method"], r["labels"], r["seed"]): r["test_error"] for r in again} == \
        pytest.approx(by_key, abs=1e-4)  # is what the file holds (4 decimals)
    assert all(r["recipe"] == "paper-2016-06" and r["device"] == "cpu" and r["epochs"] == 0.005 for r in again)
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    for key in ("commit", "device", "wall_seconds_total", "protocol"):
        assert key in meta
    assert "steps" not in meta and "epochs" not in meta  # lengths are per group
    group = meta["groups"]["ssgan-fm/20"]
    assert group["steps"] == 3 and group["config"]["steps"] == 3
    assert group["config"]["recipe"] == "paper-2016-06" and len(group["history"]["step"]) >= 1
    summary = study.summarize(reproduce.read_rows(out))
    assert [n for n, *_ in summary["ssgan-fm"]] == [20, 100] and all(k == 2 for *_, k in summary["ssgan-fm"])
    other = tmp_path / "other.csv"  # a CSV without the results' columns is refused, naming what it has
    other.write_text("method,labels,seed,test_error\nssgan-fm,100,1,1.2500\n")
    with pytest.raises(ValueError, match="not a results file"):
        reproduce.read_rows(other)

    # a second sweep over the same groups trains nothing (resume); a new label count is added
    class Boom:
        def __init__(self, cfg, **kw):
            if cfg.labels != 50:
                raise AssertionError(f"retrained a finished group ({cfg.method}, {cfg.labels})")
            self._real = real_trainer(cfg, **kw)

        def __getattr__(self, name):
            return getattr(self._real, name)

    real_trainer = reproduce.Trainer
    monkeypatch.setattr(reproduce, "Trainer", Boom)
    rows = reproduce.run_sweep([20, 50, 100], ["ssgan-fm"], seeds=2, epochs=None, out=out, device="cpu", steps=3,
                               progress=False, data=mnist, recipe="paper-2016-06")
    assert len(rows) == 8 + 2


@pytest.mark.parametrize("args", [["--labels", "15"], ["--labels", "abc"], ["--labels", "70000"],
                                  ["--methods", "gan"], ["--label-rate", "2"], ["--seeds", "0"]])
def test_reproduce_bad_input(args, tmp_path, capsys):
    code = cli.main(["reproduce", *args, "--out", str(tmp_path / "r.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error:")
    assert not (tmp_path / "r.csv").exists()


def test_an_interrupted_group_resumes_from_its_checkpoint(tmp_path, mnist, monkeypatch):
    """Ctrl-C (or a killed job) in the middle of a group, then the same sweep again: the group continues
    from its partial checkpoint (that a continued run is the uninterrupted one, bit for bit, is
    test_trainer_contract's test_a_resumed_run_is_bit_identical)."""
    kw = dict(labels=[20], methods=["ssgan-fm"], seeds=2, epochs=None, device="cpu", steps=8, progress=False,
              data=mnist, ckpt_every=3)

    out = tmp_path / "cut" / "r.csv"
    real_fit = reproduce.Trainer.fit
    calls = []

    def fit_then_interrupt(self, steps=None):
        calls.append(self.step)
        real_fit(self, steps=5)  # checkpoints at step 3 (ckpt_every) and 5 (end of fit), then "Ctrl-C"
        raise KeyboardInterrupt

    monkeypatch.setattr(reproduce.Trainer, "fit", fit_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        reproduce.run_sweep(out=out, **kw)
    part = reproduce.partial_dir(out, "ssgan-fm", 20)
    assert (part / "checkpoint.pt").is_file() and not out.exists()

    monkeypatch.setattr(reproduce.Trainer, "fit", lambda self, steps=None: (calls.append(self.step), real_fit(self))[1])
    resumed = reproduce.run_sweep(out=out, **kw)
    assert calls == [0, 5]  # the second sweep started at the checkpointed step, not at 0
    assert len(resumed) == 2 and {r["epochs"] for r in resumed} == {round(8 / 600, 4)}  # both seeds, to the end
    assert not part.exists() and not part.parent.exists()  # the partial checkpoint is cleaned up


def test_a_partial_checkpoint_from_other_settings_is_one_clear_error(tmp_path, mnist, capsys, monkeypatch):
    out = tmp_path / "r.csv"
    kw = dict(labels=[20], methods=["ssgan-fm"], epochs=None, out=out, device="cpu", steps=4, progress=False,
              data=mnist, ckpt_every=2)
    real_fit = reproduce.Trainer.fit

    def fit_then_interrupt(self, steps=None):
        real_fit(self, steps=2)
        raise KeyboardInterrupt

    monkeypatch.setattr(reproduce.Trainer, "fit", fit_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        reproduce.run_sweep(seeds=2, **kw)
    monkeypatch.setattr(reproduce.Trainer, "fit", real_fit)
    with pytest.raises(reproduce.CheckpointError, match="delete .*ssgan-fm-20"):
        reproduce.run_sweep(seeds=3, **kw)


def test_study_table_has_mean_std_ratio_and_paper():
    rows = [{"method": m, "labels": n, "seed": k, "test_error": e}
            for m, n, k, e in [("ssgan-fm", 100, 1, 1.0), ("ssgan-fm", 100, 2, 3.0), ("supervised", 100, 1, 20.0),
                               ("supervised", 100, 2, 20.0), ("supervised", 60000, 1, 1.5)]]
    lines = study.study_table(rows).splitlines()
    assert "supervised-only ÷ SSGAN-FM" in lines[0] and "paper, 300 epochs" in lines[0]
    assert lines[2] == "| 100 | 2.00 ± 1.41 (n=2) | 20.00 ± 0.00 (n=2) | 10.0× | 0.93 ± 0.065 |"
    assert lines[3] == "| 60,000 | – | 1.50 ± 0.00 (n=1) | – | – |"


def test_study_lines_and_verdict_say_what_the_rows_and_histories_hold():
    rows = [{"method": m, "labels": n, "seed": k, "test_error": e, "epochs": 2}
            for m, n, k, e in [("ssgan-fm", 100, 2, 3.0), ("ssgan-fm", 100, 1, 1.0), ("supervised", 100, 1, 20.0),
                               ("supervised", 100, 2, 20.0), ("ssgan-fm", 20, 1, 40.0), ("supervised", 20, 1, 50.0),
                               ("supervised", 60000, 1, 1.5)]]
    # 2 epochs of 2 steps, logged every step, two seeds: seed 2's D wins both epochs
    hist = {"step": [1, 2, 3, 4], "loss_unl": [[0.3, 0.005], [0.3, 0.001], [0.2, 0.0], [0.2, 0.0]]}
    meta = {"groups": {"ssgan-fm/100": {"steps": 4, "config": {"epochs": 2, "seed": 1}, "history": hist}}}
    lines = study.study_lines(rows, meta)
    assert lines == [
        "   20 labels: SSGAN-FM 40.00 % (paper 16.77 %), supervised-only 50.00 %",
        "             SSGAN-FM's error 1.2× lower: more than half",
        "             SSGAN-FM per seed: 40.00 %",
        "  100 labels: SSGAN-FM  2.00 % (paper 0.93 %), supervised-only 20.00 %",
        "             SSGAN-FM's error 10.0× lower: at most half",
        "             SSGAN-FM per seed: 1.00, 3.00 %",
        "             D wins, seed 2: 2 of 2 (epochs 1-2), every epoch from 1 on",
        "60000 labels: supervised-only  1.50 % (no SSGAN-FM run)",
    ]
    assert max(map(len, lines)) <= 80
    meta["groups"]["ssgan-fm/100"]["history"]["loss_unl"] = [[0.3, 0.3]] * 4
    assert study.study_lines(rows, meta)[6] == "             D wins: never"
    assert study.study_verdict(rows) == (
        "**What the stored study shows.** SSGAN-FM has at most half the supervised-only error at 100 labels;"
        " not at 20 (1.2× lower). Against the paper's 300-epoch numbers, after 2 epochs: 20 labels 40.00 %"
        " against 16.77 %; 100 labels 2.00 % against 0.93 %.")


def test_at_a_glance_says_reproduced_only_inside_the_papers_spread_and_lower_only_beyond_both_spreads():
    rows = [{"method": m, "labels": n, "seed": k, "test_error": e, "epochs": 50}
            for m, n, k, e in [("ssgan-fm", 100, 1, 1.0), ("ssgan-fm", 100, 2, 3.0), ("supervised", 100, 1, 20.0),
                               ("supervised", 100, 2, 22.0), ("ssgan-fm", 20, 1, 40.0), ("ssgan-fm", 20, 2, 50.0),
                               ("supervised", 20, 1, 45.0), ("supervised", 20, 2, 55.0)]]
    table, verdict = study.at_a_glance(rows, [0.90, 0.96], 300, "cpu")
    lines = table.splitlines()
    # one direction throughout: how many times lower SSGAN-FM's error is; the paper's column is its 300 epochs
    assert "paper, 300 epochs" in lines[0] and "supervised-only ÷ SSGAN-FM" in lines[0]
    assert lines[2] == "| 100, 300 epochs | 0.93 ± 0.065 | 0.93 ± 0.04 (2 runs) | – | – |"
    assert lines[4] == "| 100, 50 epochs | 0.93 ± 0.065 | 2.00 ± 1.41 (2 runs) | 21.00 ± 1.41 (2 runs) | 10.5× |"
    assert "end at 0.93 ± 0.04 % test error, inside the paper's mean ± 2 standard deviations (0.80 to 1.06 %), so " \
           "the book reproduces" in verdict and "*" not in verdict
    # 100 labels: 21 - 2 > 1.41 + 1.41, lower; 20 labels: 50 - 45 < 7.07 + 7.07, the two overlap
    assert "added at 100 labels (10.5× lower); at 20 labels the two overlap." in verdict
    out = study.at_a_glance(rows, [1.5, 2.5], 300, "cpu")[1]
    assert "outside the paper's mean ± 2 standard deviations" in out and "does not reproduce" in out
    # SSGAN-FM worse than supervised-only: said as "higher", still in the same direction
    worse = [dict(r, test_error=60.0) if (r["method"], r["labels"]) == ("ssgan-fm", 20) else r for r in rows]
    assert study.at_a_glance(worse, [0.9], 300, "cpu")[0].splitlines()[3].endswith("| 0.8× |")
    assert study.lower_or_higher(60.0 / 50.0) == "1.2× higher" and study.times_lower(0.25) == "4.0×"
    # two label counts clearly lower: listed as "a and b"
    rows += [{"method": m, "labels": 50, "seed": k, "test_error": e, "epochs": 50}
             for m, k, e in [("ssgan-fm", 1, 2.0), ("ssgan-fm", 2, 2.0), ("supervised", 1, 8.0),
                             ("supervised", 2, 8.0)]]
    assert "added at 50 labels (4.0× lower) and 100 labels (10.5× lower); at 20 labels the two overlap." in \
        study.at_a_glance(rows, [0.90, 0.96], 300, "cpu")[1]


def test_merge_sweeps_unites_jobs_and_keeps_what_was_stored(tmp_path):
    def sweep(path, groups, wall):
        rows = [{"method": m, "labels": n, "seed": s, "test_error": e, "epochs": 50, "recipe": "final",
                 "device": "cpu", "commit": "abc"} for m, n, errs in groups for s, e in enumerate(errs, 1)]
        reproduce.write_rows(path, rows)
        meta = {"groups": {f"{m}/{n}": {"wall_seconds": wall} for m, n, _ in groups}, "seeds": 3}
        path.with_suffix(".meta.json").write_text(json.dumps(meta))

    stored, a, b = tmp_path / "book.csv", tmp_path / "a" / "s.csv", tmp_path / "b" / "s.csv"
    sweep(stored, [("ssgan-fm", 20, [9.0, 9.0]), ("ssgan-fm", 100, [5.0])], 10.0)  # 100: an older run
    sweep(a, [("ssgan-fm", 100, [1.0, 2.0, 3.0]), ("supervised", 100, [20.0, 21.0, 22.0])], 100.0)
    sweep(b, [("ssgan-fm", 50, [4.0, 5.0, 6.0])], 1000.0)
    reproduce.merge_sweeps([stored, a, b], stored)
    got = {(m, n): [r["test_error"] for r in reproduce.read_rows(stored) if (r["method"], r["labels"]) == (m, n)]
           for m, n in [("ssgan-fm", 20), ("ssgan-fm", 50), ("ssgan-fm", 100), ("supervised", 100)]}
    assert got == {("ssgan-fm", 20): [9.0, 9.0], ("ssgan-fm", 50): [4.0, 5.0, 6.0],
                   ("ssgan-fm", 100): [1.0, 2.0, 3.0], ("supervised", 100): [20.0, 21.0, 22.0]}
    meta = json.loads(stored.with_suffix(".meta.json").read_text())
    assert sorted(meta["groups"]) == ["ssgan-fm/100", "ssgan-fm/20", "ssgan-fm/50", "supervised/100"]
    assert meta["wall_seconds_total"] == 10.0 + 100.0 * 2 + 1000.0
    assert meta["seeds"] == 3


def test_rerun_note_says_when_the_verdict_rests_on_one_run():
    from ssgan_lib.evidence import study

    # 2.12 % with the rerun's 0.83 % in its place: mean 0.95 %, inside 0.80-1.06: the verdict moves
    moved = study.rerun_note([2.12, 0.85, 1.16], [(1, 2.12, 0.83)])
    assert "0.95 %, inside" in moved and "rests on one run" in moved
    kept = study.rerun_note([2.12, 0.85, 1.16], [(1, 2.12, 1.90)])
    assert "outside" in kept and "verdict stands" in kept
    _, verdict = study.at_a_glance([], [2.12, 0.85, 1.16], 300, "cpu", reruns=[(1, 2.12, 0.83)])
    assert "does not reproduce" in verdict and "rests on one run" in verdict
