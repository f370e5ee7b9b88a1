"""Trained networks shipped with the book (``book/results/models/``): written by ``runs.export_trained``, read by
``runs.load_trained`` (and ``evidence.trained_model``), which refuses, in one line, a file that is missing, not one,
changed since its checksum, or of other shapes; every shipped model loads and scores what its manifest says."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ssgan_lib.config import TrainConfig
from ssgan_lib.evidence import read_result, trained_model
from ssgan_lib.runs import TrainedModelError, export_trained, load_trained, sha256_of
from ssgan_lib.train import Trainer

MODELS = Path(__file__).resolve().parents[1] / "book" / "results" / "models"


@pytest.fixture(scope="module")
def trained(mnist, tmp_path_factory):
    """Two runs side by side, a few steps: the second run exported."""
    tr = Trainer(TrainConfig(labels=100, seeds=2, steps=10, val_size=100, log_every=5, eval_every=0), data=mnist,
                 progress=False)
    tr.fit()
    path = tmp_path_factory.mktemp("models") / "run.pt"
    return tr, path, export_trained(tr, path, run=1)


def test_exported_networks_are_the_evaluated_d_and_g_of_that_run(trained, mnist):
    tr, path, entry = trained
    assert entry["sha256"] == sha256_of(path) and entry["bytes"] == path.stat().st_size
    D, G, info = load_trained(path, sha256=entry["sha256"])
    assert info["step"] == 10 and info["config"].seed == tr.cfg.seed + 1 and info["config"].seeds == 1
    x = mnist.test_x[:500]
    with torch.no_grad():
        want = tr.sync_eval()(x.unsqueeze(0).expand(2, -1, -1), train=False)[0][1]
        got = D(x.unsqueeze(0), train=False)[0][0]
        # float16 storage: the logits move by rounding only, and the classes stay (nearly) all the same
        assert torch.allclose(got, want, atol=0.05 * float(want.abs().max()))
        assert (got.argmax(-1) == want.argmax(-1)).float().mean() > 0.98
        z = torch.rand(1, 64, 100)
        g_want = tr.G.state_dict()["w1"][1:2]
        assert torch.allclose(G.state_dict()["w1"], g_want, atol=1e-3)
        assert G(z).shape == (1, 64, 784)


def test_a_changed_file_is_refused_by_its_checksum(trained, tmp_path):
    _, path, entry = trained
    bad = tmp_path / "bad.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte changed in the middle of the tensors
    bad.write_bytes(bytes(data))
    with pytest.raises(TrainedModelError, match="checksum") as exc:
        load_trained(bad, sha256=entry["sha256"])
    assert "\n" not in str(exc.value)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: entry["bytes"] // 2])
    with pytest.raises(TrainedModelError, match="not a readable"):
        load_trained(cut)
    with pytest.raises(TrainedModelError, match="no trained-model file"):
        load_trained(tmp_path / "absent.pt")


def test_a_file_of_other_shapes_or_format_is_refused_in_one_line(trained, tmp_path):
    _, path, _ = trained
    state = torch.load(path, weights_only=True)
    state["D"]["out.theta"] = state["D"]["out.theta"][:, :, :5]
    torch.save(state, tmp_path / "shape.pt")
    with pytest.raises(TrainedModelError, match=r"D\.out\.theta has shape \(1, 250, 5\)"):
        load_trained(tmp_path / "shape.pt")
    torch.save({**state, "format": "something else"}, tmp_path / "format.pt")
    with pytest.raises(TrainedModelError, match="not an ssgan_lib trained-model file"):
        load_trained(tmp_path / "format.pt")


def test_every_shipped_model_loads_and_scores_what_its_manifest_says(mnist):
    manifest = read_result("models/manifest.json")
    assert manifest, "no trained model is shipped"
    assert {p.name for p in MODELS.glob("*.pt")} == {e["file"] for e in manifest.values()}
    for name, entry in manifest.items():
        D, G, info = trained_model(name)
        assert info["step"] == entry["steps"] and info["config"].labels == entry["labels"]
        with torch.no_grad():
            pred = torch.cat([D(mnist.test_x[i:i + 2000].unsqueeze(0), train=False)[0].argmax(-1)
                              for i in range(0, 10_000, 2000)], 1)[0]
        err = 100.0 * float((pred != mnist.test_y).float().mean())
        assert abs(err - entry["test_error"]) < 0.015, (name, err, entry["test_error"])
    with pytest.raises(TrainedModelError, match="no trained model 'nope'"):
        trained_model("nope")
