"""Detector training: a short run whose loss falls, resume equal to an uninterrupted run, model files."""

import json

import numpy as np
import pytest
import torch
from _detect_toy import toy_pool

from neocus.detect.checkpoint import load_model
from neocus.detect.config import load_config
from neocus.detect.train import lr_factor, train_detector

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    return load_config("tiny")


@pytest.mark.slow
def test_short_run_loss_falls_and_writes_outputs(tmp_path, tiny):
    pool = toy_pool(16)
    r = train_detector(pool, tiny, out_dir=tmp_path, steps=40, log_every=10, seed=1)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [10, 20, 30, 40]
    assert rows[-1]["loss"] < 0.9 * rows[0]["loss"], rows
    assert rows[-1]["l1"] < rows[0]["l1"]
    for name in ("model.pt", "last.pt", "loss.png", "config.json"):
        assert (tmp_path / name).is_file()
    loaded = load_model(r.model_path)
    model, cfg, info = loaded.model, loaded.config, loaded.info
    assert cfg == tiny and info["steps"] == 40
    scores, boxes = model(torch.zeros(1, 1, 96, 96))
    assert scores.shape == (1, tiny.model.num_queries, model.num_classes) and boxes.shape[-1] == 5


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path, tiny):
    pool = toy_pool(8, seed=3)
    straight = train_detector(pool, tiny, out_dir=tmp_path / "a", steps=6, log_every=2, checkpoint_every=3, seed=2)
    train_detector(pool, tiny, out_dir=tmp_path / "b", steps=6, log_every=2, checkpoint_every=100, seed=2, stop_at=3)
    resumed = train_detector(pool, tiny, out_dir=tmp_path / "b", steps=6, log_every=2, checkpoint_every=3, seed=2, resume=True)
    a = torch.load(straight.model_path, weights_only=True)["state_dict"]
    b = torch.load(resumed.model_path, weights_only=True)["state_dict"]
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_lr_schedule_warms_up_then_decays():
    lrs = [lr_factor(s, warmup=10, total=100) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(np.diff(lrs[10:]) <= 1e-12) and lrs[-1] < 0.05


def test_model_from_a_stopped_run(tmp_path, tiny):
    from neocus.detect.train import model_from_checkpoint

    train_detector(toy_pool(4), tiny, out_dir=tmp_path, steps=10, stop_at=2, seed=0)
    assert not (tmp_path / "model.pt").exists()
    path = model_from_checkpoint(tmp_path / "last.pt", tmp_path / "early.pt")
    loaded = load_model(path)
    assert loaded.config == tiny and loaded.info["steps"] == 2
