"""``neocus demo``: its fixed seeds give the phantom labels they are chosen for, and (slow) the whole
demo runs and points at its report."""

from __future__ import annotations

import json

import pytest
import torch

from neocus.cli import main
from neocus.data.dataset import Dataset
from neocus.phantom.export import simulate_dataset
from neocus.screen.demo import DEMO_SEEDS, DEMO_SIZE_WH, simulation_config
from screen_testdata import write_models

torch.set_num_threads(1)


@pytest.mark.parametrize("kind", ["severe", "normal"])
def test_demo_seeds_give_their_labels(kind, tmp_path):
    # stills-only cases share the subject and stills (so the labels) with the full demo case of the seed
    config = simulation_config(cases=1, seed=DEMO_SEEDS[kind], size_wh=DEMO_SIZE_WH, sweeps=False)
    (case,) = Dataset.load(simulate_dataset(tmp_path / "ds", config)).cases
    labels = case.record.labels
    if kind == "severe":
        assert labels.severe == 1 and labels.tier.value == "severe"
    else:
        assert labels.severe == 0 and labels.tier.value == "normal" and labels.ivh_grade == 0


@pytest.mark.slow
def test_demo_runs_and_points_at_its_report(tmp_path, capsys):
    models = write_models(tmp_path / "models")
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--models", str(models)]) == 0
    text = capsys.readouterr().out
    assert "labelled severe" in text and str(out / "screen" / "report.html") in text.replace("\n", "")
    doc = json.loads((out / "screen" / "result.json").read_text(encoding="utf-8"))
    assert doc["case_id"] == "phantom-00000" and doc["decision"] in ("severe", "non_severe", "unsuitable")
    assert main(["demo", "--out", str(out), "--models", str(models)]) == 2  # exists: refused without --force
    assert main(["demo", "--out", str(out), "--models", str(models), "--force", "--normal"]) == 0
    assert "labelled non-severe" in capsys.readouterr().out
