"""``python -m ssgan_lib bench``: it times the floor, the plain loop and the library's on the same data, prints the
table and one JSON line with every number the book reads (chapter 9). No timing is asserted: a benchmark, not a
timed test."""
from __future__ import annotations

import json

import pytest

from ssgan_lib.bench import run_bench
from ssgan_lib.data import load_mnist


@pytest.fixture(scope="module")
def data():
    return load_mnist("cpu")


def test_bench_prints_the_table_and_one_json_line(data, capsys, monkeypatch):
    monkeypatch.setattr("ssgan_lib.bench.load_mnist", lambda dev: data)
    result = run_bench("cpu", steps=2, rounds=2)
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[-1]) == result
    assert any(line.startswith("floor") for line in out) and any("plain eager loop" in line for line in out)
    lo, hi = result["lib_over_floor_rounds"]
    assert 0 < lo <= hi, result  # the per-round range brackets nothing impossible
    assert result["rounds"] == 2 and result["seeds"] == 1 and result["lib_mode"] == "eager"
    for key in ("floor_ms_per_step", "plain_ms_per_step", "lib_ms_per_step"):
        assert result[key] > 0, key
    assert f"{result['lib_over_floor']:.2f}x the floor (round by round: {lo:.2f}x to {hi:.2f}x)" in out[-2]

