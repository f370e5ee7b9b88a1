"""A stored run is reproducible from its record: its config, re-run today, gives its first validation point.

Every stored campaign run (``book/results/recipe/*.json``) keeps its full ``TrainConfig`` under ``config``. Here
the config is loaded into today's ``TrainConfig`` and trained up to its first evaluation (one epoch, both seeds
side by side, as stored), on CPU with the thread count the campaign used; the validation accuracy of the raw
and the evaluated D must equal the stored ones to within one image of the 5,000. CPU float32 rounding depends
on the thread count, so with another count the run parts from the record after a few hundred steps: the test
then only checks the first logged losses.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from ssgan_lib.runs import load_run
from ssgan_lib.train import Trainer, config_from_dict

RESULTS = Path(__file__).resolve().parents[1] / "book" / "results"
STORED = sorted((RESULTS / "recipe").glob("*.json"))
CAMPAIGN_THREADS = 2  # OMP_NUM_THREADS of book/_tools/campaign.sh


@pytest.mark.slow
@pytest.mark.skipif(not STORED, reason="no stored campaign run")
def test_a_stored_config_reproduces_its_first_validation_point(mnist):
    m = load_run(STORED[0])
    h = m["history"]
    first = h["eval_step"][0]
    cfg = config_from_dict(m["config"])
    assert cfg.device == "cpu", "the stored runs of the campaign ran on CPU"
    threads = torch.get_num_threads()
    torch.set_num_threads(CAMPAIGN_THREADS)
    try:
        tr = Trainer(dataclasses.replace(cfg, ckpt_every=0), data=mnist, progress=False)
        same_threads = torch.get_num_threads() == CAMPAIGN_THREADS
        tr.fit(steps=first if same_threads else h["step"][0])
    finally:
        torch.set_num_threads(threads)
    got = tr.history
    assert got["step"][0] == h["step"][0]
    for key in ("loss_lab", "loss_unl", "loss_g"):
        assert torch.allclose(torch.tensor(got[key][0]), torch.tensor(h[key][0]), rtol=1e-4, atol=1e-6), key
    if same_threads:
        assert got["eval_step"][0] == first
        for key in ("val_acc", "val_acc_raw"):
            assert torch.allclose(torch.tensor(got[key][0]), torch.tensor(h[key][0]), atol=2.1e-4), \
                f"{key}: re-run {got[key][0]} vs stored {h[key][0]} ({STORED[0].name})"
