"""Fetal plane recognition: the phantom pool, the randomisation, a short training whose loss falls,
resume, the model folder, prediction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neocus.errors import InputFileError, NeocusError
from neocus.fetal.plane_data import PLANES, augment_batch, cached_plane_pool, render_plane_pool
from neocus.fetal.plane_model import PlaneModelConfig, load_plane_model, predict_planes
from neocus.fetal.plane_train import METRICS_NAME, PlaneTrainOptions, train_plane

TINY = PlaneModelConfig(input_side=32, channels=(4, 8), dropout=0.0)


@pytest.fixture(scope="module")
def pool():
    return render_plane_pool(12, seed=5, side=48, render_hw=(96, 128))


def test_pool_has_the_planes_in_turn_and_is_deterministic(pool):
    assert pool.images.shape == (12, 48, 48) and pool.labels.shape == (12, 48, 48)
    assert pool.planes.tolist() == [0, 1, 2, 3] * 3
    again = render_plane_pool(4, seed=5, side=48, render_hw=(96, 128))
    assert np.array_equal(again.images, pool.images[:4]) and np.array_equal(again.labels, pool.labels[:4])
    assert pool.images.std() > 5  # images, not blank frames


def test_cached_pool_is_written_once_reused_and_refused_for_another_count(tmp_path, monkeypatch):
    path = tmp_path / "pool.npz"
    first = cached_plane_pool(path, 2, seed=5)
    assert [p.name for p in tmp_path.iterdir()] == ["pool.npz"]  # no temporary file left

    def no_render(*args, **kwargs):
        raise AssertionError("a cached pool must not be rendered again")

    monkeypatch.setattr("neocus.fetal.plane_data.render_plane_pool", no_render)
    again = cached_plane_pool(path, 2, seed=5)
    assert np.array_equal(again.images, first.images) and np.array_equal(again.planes, first.planes)
    with pytest.raises(NeocusError, match="holds 2 phantom images, not 3"):
        cached_plane_pool(path, 3, seed=5)
    path.write_bytes(b"not an npz")
    with pytest.raises(InputFileError, match="not a readable phantom pool"):
        cached_plane_pool(path, 2, seed=5)


def test_augment_batch_is_standardised_random_and_seeded(pool):
    a = augment_batch(pool.images[:4], pool.labels[:4], out_side=32, rng=np.random.default_rng(1))
    b = augment_batch(pool.images[:4], pool.labels[:4], out_side=32, rng=np.random.default_rng(1))
    c = augment_batch(pool.images[:4], pool.labels[:4], out_side=32, rng=np.random.default_rng(2))
    assert a.shape == (4, 1, 32, 32) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.allclose(a.mean(axis=(1, 2, 3)), 0, atol=1e-4) and np.allclose(a.std(axis=(1, 2, 3)), 1, atol=1e-3)


def test_short_training_loss_falls_resumes_and_predicts(pool, tmp_path):
    out = tmp_path / "run"
    opts = PlaneTrainOptions(epochs=4, minutes=5, batch_size=4, lr=5e-3, synth_fraction=0.0, label_smoothing=0.0, clutter=False)
    first = train_plane(pool, pool, out, config=TINY, options=PlaneTrainOptions(**{**opts.__dict__, "epochs": 2}), seed=0)
    assert first.epochs_done == 2 and first.resumed_from_epoch == 0
    lines = [json.loads(x) for x in (out / METRICS_NAME).read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2]
    second = train_plane(pool, pool, out, config=TINY, options=opts, seed=0)
    assert second.resumed_from_epoch == 2 and second.epochs_done == 4
    lines = [json.loads(x) for x in (out / METRICS_NAME).read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2, 3, 4]
    assert lines[-1]["loss"] < lines[0]["loss"]
    model = load_plane_model(out)
    preds = predict_planes(list(pool.images[:3]), model)
    assert len(preds) == 3 and all(p.plane in PLANES for p in preds)
    assert all(abs(sum(p.probabilities.values()) - 1.0) < 1e-5 for p in preds)
    with pytest.raises(NeocusError, match="another network"):
        train_plane(pool, pool, out, config=PlaneModelConfig(input_side=32, channels=(4,), dropout=0.0), options=opts, seed=0)


def test_model_folder_errors(tmp_path):
    with pytest.raises(InputFileError, match="missing"):
        load_plane_model(tmp_path)
    (tmp_path / "config.json").write_text('{"input_side": 32, "channels": [4, 8], "dropout": 0.0}')
    (tmp_path / "weights.pt").write_bytes(b"not torch")
    with pytest.raises(InputFileError, match="cannot be read"):
        load_plane_model(tmp_path)


def test_too_few_images(pool, tmp_path):
    with pytest.raises(NeocusError, match="fewer than one batch"):
        train_plane(pool, pool, tmp_path, config=TINY, options=PlaneTrainOptions(batch_size=64), seed=0)


def test_highpass_standardise_drops_the_brightness_layout():
    from neocus.fetal.plane_data import standardise

    ramp = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (64, 1))
    spot = ramp.copy()
    spot[30:34, 30:34] += 2.0
    plain = standardise(spot)
    hp = standardise(spot, highpass_sigma=4.0)
    assert abs(np.corrcoef(plain[:, 5:20].ravel(), ramp[:, 5:20].ravel())[0, 1]) > 0.9  # the ramp dominates without it
    assert hp[31, 31] > 5 * np.abs(hp[:, 5:20]).mean()  # the small bright spot stands out with it
    assert np.isclose(hp.mean(), 0, atol=1e-5) and np.isclose(hp.std(), 1, atol=1e-4)
