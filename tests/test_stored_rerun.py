"""A stored run is reproducible from its record: its config, re-run today, gives what the record says.

Every stored campaign run keeps its full ``TrainConfig`` under ``config``, the commit it ran at and (since
December 2026) the machine: torch version, thread count, CPU. float32 rounding depends on all of them and on the
step's code, and the GAN's dynamics amplify a rounding difference within a few dozen steps. So a re-run is compared

* **exactly** where nothing that rounds differs (same torch, threads and CPU as the record, and the step's code
  unchanged since the record's commit): the first validation point to within one image of the 5,000;
* **within a measured tolerance** elsewhere: the seed-mean of each loss over the first logged interval (steps
  1-100) within 50 % of the record's. Measured on this machine (2-core Xeon, torch 2.14) against
  ``recipe/final-90.json`` (stored by the step of 4fb97dc with 2 threads): the step of d708219 (same arithmetic,
  other rounding) with 1 thread gave seed-means 11 % (loss_lab), 3 % (loss_unl) and 11 % (loss_g) off; a second
  machine of the same kind with 2 threads, 19 % on loss_unl (the worst seen). The final recipe with the paper-era
  learning rate (0.001 for 0.003) moves loss_unl by 88 % and loss_g by 95 %: the second test checks that such a
  change fails.
"""
from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
import torch

from ssgan_lib.evidence.records import load_run

from ssgan_lib.runs import machine
from ssgan_lib.train import Trainer
from ssgan_lib.config import config_from_dict

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "book" / "results" / "recipe" / "final-90.json"
STEP_CODE = ["ssgan_lib/step.py", "ssgan_lib/models.py", "ssgan_lib/optim.py", "ssgan_lib/losses.py",
             "ssgan_lib/data.py"]  # what a step's arithmetic depends on
LOSSES = ("loss_lab", "loss_unl", "loss_g")
LOSS_TOL = 0.5  # relative, seed-mean over the first logged interval (see the module docstring)


def exact_reason(record: dict) -> str | None:
    """None when a re-run here must reproduce ``record`` exactly; else why not."""
    here, there = machine(), record.get("machine")
    if there is None:
        return "the record names no machine"
    for key in ("torch", "threads", "cpu"):
        if here[key] != there.get(key):
            return f"{key}: {there.get(key)!r} in the record, {here[key]!r} here"
    commit = (record.get("commit") or "").removesuffix("+dirty")
    try:
        diff = subprocess.run(["git", "diff", "--quiet", commit, "--", *STEP_CODE], cwd=ROOT, capture_output=True)
    except OSError:
        return "no git to compare the step's code with the record's commit"
    return None if diff.returncode == 0 else f"the step's code changed since {commit[:7]}"


def rerun(record: dict, steps: int, data, **override) -> dict:
    cfg = dataclasses.replace(config_from_dict(record["config"]), ckpt_every=0, **override)
    tr = Trainer(cfg, data=data, progress=False)
    tr.fit(steps=steps)
    return tr.history


def seed_mean_gaps(got: dict, stored: dict) -> dict[str, float]:
    """Relative gap of each loss's seed-mean over the first logged interval."""
    gaps = {}
    for k in LOSSES:
        a, b = sum(got[k][0]) / len(got[k][0]), sum(stored[k][0]) / len(stored[k][0])
        gaps[k] = abs(a - b) / abs(b)
    return gaps


@pytest.fixture(scope="module")
def record():
    if not RECORD.is_file():
        pytest.skip("no stored campaign run")
    m = load_run(RECORD)
    assert config_from_dict(m["config"]).device == "cpu", "the stored runs of the campaign ran on CPU"
    return m


@pytest.mark.slow
def test_a_stored_config_reproduces_its_record(record, mnist):
    h = record["history"]
    why = exact_reason(record)
    got = rerun(record, h["eval_step"][0] if why is None else h["step"][0], mnist)
    assert got["step"][0] == h["step"][0]
    if why is None:  # nothing that rounds differs: the same numbers
        for key in LOSSES:
            assert torch.allclose(torch.tensor(got[key][0]), torch.tensor(h[key][0]), rtol=1e-4, atol=1e-6), key
        for key in ("val_acc", "val_acc_raw"):
            assert torch.allclose(torch.tensor(got[key][0]), torch.tensor(h[key][0]), atol=2.1e-4), key
    else:
        gaps = seed_mean_gaps(got, h)
        assert max(gaps.values()) <= LOSS_TOL, f"re-run parts from {RECORD.name} beyond rounding ({why}): {gaps}"


@pytest.mark.slow
def test_the_tolerance_still_catches_a_changed_recipe(record, mnist):
    """The paper-era learning rate in the final recipe: the first 100 steps' losses leave the tolerance."""
    h = record["history"]
    gaps = seed_mean_gaps(rerun(record, h["step"][0], mnist, lr=record["config"]["lr"] / 3), h)
    assert max(gaps.values()) > LOSS_TOL, gaps
