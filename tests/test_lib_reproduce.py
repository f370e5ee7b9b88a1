"""The label-rate sweep at tiny scale: CSV layout, metadata, resume, bad input."""
from __future__ import annotations

import csv
import json

import pytest

from ssgan_lib import cli, reproduce


def test_sweep_writes_csv_and_meta_and_resumes(tmp_path, mnist, monkeypatch):
    out = tmp_path / "results" / "label_rate.csv"
    rows = reproduce.run_sweep([20, 100], ["ssgan-fm", "supervised"], seeds=2, epochs=None, out=out, device="cpu",
                               steps=3, progress=False, data=mnist)
    assert len(rows) == 2 * 2 * 2
    with open(out) as f:
        got = list(csv.DictReader(f))
    assert list(got[0]) == ["method", "labels", "seed", "test_error"]
    assert {(r["method"], int(r["labels"]), int(r["seed"])) for r in got} == {
        (m, n, s) for m in ("ssgan-fm", "supervised") for n in (20, 100) for s in (1, 2)}
    assert all(0 <= float(r["test_error"]) <= 100 for r in got)
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    for key in ("commit", "device", "epochs", "wall_seconds_total", "protocol"):
        assert key in meta
    assert meta["steps"] == 3
    summary = reproduce.summarize(reproduce.read_rows(out))
    assert [n for n, *_ in summary["ssgan-fm"]] == [20, 100] and all(k == 2 for *_, k in summary["ssgan-fm"])

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
                               progress=False, data=mnist)
    assert len(rows) == 8 + 2


@pytest.mark.parametrize("args", [["--labels", "15"], ["--labels", "abc"], ["--labels", "70000"],
                                  ["--methods", "gan"], ["--label-rate", "2"], ["--seeds", "0"]])
def test_reproduce_bad_input(args, tmp_path, capsys):
    code = cli.main(["reproduce", *args, "--out", str(tmp_path / "r.csv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error:")
    assert not (tmp_path / "r.csv").exists()
