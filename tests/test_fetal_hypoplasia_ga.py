"""Cerebellar hypoplasia classifier given the gestational age and the image's scale (issue #16 point 5,
second pass): the crop's mm per pixel is the true scale, the networks read GA and scale, training and
resume with them, and a GA-aware model never runs without them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neocus.errors import NeocusError
from neocus.fetal.cerebellum import class_map, head_crop_matrix
from neocus.fetal.hypoplasia_data import (HypoplasiaPool, augment_hypoplasia_batch, crop_mm_per_px, fill_for_scale, head_box_xywh,
                                          render_hypoplasia_pool)
from neocus.fetal.hypoplasia_model import (HypoplasiaModelConfig, HypoplasiaVariant, build_hypoplasia_net, crop_target_mm_per_px,
                                           load_hypoplasia_model, predict_hypoplasia, side_features)
from neocus.fetal.hypoplasia_train import HypoplasiaTrainOptions, pool_inputs, train_hypoplasia
from neocus.fetal.norms import FetalMeasure, value_at_centile

torch = pytest.importorskip("torch")

TINY = {"input_side": 48, "channels": (4, 8, 8, 16), "ga_and_scale": True}


@pytest.fixture(scope="module")
def pool() -> HypoplasiaPool:
    return render_hypoplasia_pool(8, seed=78, side=64, keep_full=True)


def test_crop_scale_is_the_true_scale(pool):
    """mm per pixel of the squashed-pool crops equals the isotropic crop of the full render, and the head's
    area in a randomised crop, in mm^2, is its area in the render (rotation and zoom do not fool it)."""
    got = crop_mm_per_px(pool.labels, pool.pixel_mm, side=48)
    full = [px / head_crop_matrix(head_box_xywh(class_map(lab)), out_side=48)[0, 0] for lab, px in zip(pool.full_labels, pool.pixel_mm)]
    np.testing.assert_allclose(got, full, rtol=0.04)
    b = augment_hypoplasia_batch(pool.images, pool.labels, side=48, pixel_mm=pool.pixel_mm, synth_fraction=0.0, rng=np.random.default_rng(1))
    head_mm2 = (b.target[:, 0] > 0).sum(axis=(1, 2)) * b.mm_per_px ** 2
    true_mm2 = (class_map(pool.full_labels) > 0).sum(axis=(1, 2)) * pool.pixel_mm ** 2
    t = b.target[:, 0]
    inside = (np.concatenate([t[:, 0], t[:, -1], t[:, :, 0], t[:, :, -1]], axis=1) == 0).all(axis=1)  # head not cut by the crop
    assert inside.any()
    np.testing.assert_allclose(head_mm2[inside], true_mm2[inside], rtol=0.08)


def test_crop_zoomed_to_the_median_tcd_for_the_ga(pool):
    """A ``median_tcd_px`` crop is (median TCD for the GA) / median_tcd_px mm per pixel, the norm held at 36 weeks."""
    config = HypoplasiaModelConfig(variant="attention", input_side=48, ga_and_scale=True, median_tcd_px=12.0)
    target = crop_target_mm_per_px([20.0, 36.0, 39.0], config)
    assert target[0] == pytest.approx(value_at_centile(50, measure=FetalMeasure.TCD, ga_weeks=20.0) / 12.0)
    assert target[2] == target[1]
    mm = crop_target_mm_per_px(pool.ga_weeks, config)
    got = crop_mm_per_px(pool.labels, pool.pixel_mm, side=48, fill=fill_for_scale(pool.labels, pool.pixel_mm, mm, side=48))
    np.testing.assert_allclose(got, mm, rtol=1e-9)
    x, side = pool_inputs(pool, config)
    assert x.shape == (8, 1, 48, 48) and side.shape == (8, 3)
    np.testing.assert_allclose(np.exp(side[:, 2] * 0.5) * 0.75, mm, rtol=1e-5)
    assert crop_target_mm_per_px(pool.ga_weeks, HypoplasiaModelConfig()) is None
    with pytest.raises(NeocusError, match="median TCD"):
        HypoplasiaModelConfig(median_tcd_px=12.0)


def test_side_features_are_centred_and_follow_ga_and_scale():
    f = side_features([18.0, 29.0, 40.0], [0.5, 0.75, 1.3])
    assert f.shape == (3, 3) and f.dtype == np.float32
    assert f[1].tolist() == [0.0, 0.0, 0.0]
    assert f[0, 0] < 0 < f[2, 0] and f[0, 2] < 0 < f[2, 2]


@pytest.mark.parametrize("variant", list(HypoplasiaVariant))
def test_ga_aware_network_reads_ga_and_scale(variant):
    torch.manual_seed(0)
    net = build_hypoplasia_net(HypoplasiaModelConfig(variant=variant, **TINY)).eval()
    x = torch.randn(2, 1, 48, 48)
    with pytest.raises(ValueError, match="GA"):
        net(x)
    young, old = (torch.from_numpy(side_features([ga] * 2, [0.9] * 2)) for ga in (20.0, 38.0))
    with torch.no_grad():
        net.film.weight.normal_()  # FiLM starts as the identity; give it a say
        assert not torch.allclose(net(x, young)[0], net(x, old)[0])


def _train(pool, out, *, epochs):
    return train_hypoplasia(pool, pool, out, config=HypoplasiaModelConfig(variant="attention", median_tcd_px=12.0, **TINY),
                            options=HypoplasiaTrainOptions(epochs=epochs, steps_per_epoch=4, batch_size=8, lr=3e-3), seed=1)


def test_ga_aware_training_resumes_and_the_model_needs_ga_and_pixel_size(pool, tmp_path):
    first = _train(pool, tmp_path, epochs=3)
    assert first.losses[-1] < first.losses[0]
    assert json.loads((tmp_path / "config.json").read_text())["ga_and_scale"] is True
    resumed = _train(pool, tmp_path, epochs=4)
    assert resumed.resumed_from_epoch == 3 and resumed.epochs_done == 4
    with pytest.raises(NeocusError, match="another network"):
        train_hypoplasia(pool, pool, tmp_path, config=HypoplasiaModelConfig(variant="attention", input_side=48, channels=(4, 8, 8, 16)),
                         options=HypoplasiaTrainOptions(epochs=5, steps_per_epoch=1, batch_size=8), seed=1)
    model = load_hypoplasia_model(tmp_path)
    assert model.config.ga_and_scale and model.config.median_tcd_px == 12.0
    img, px, ga = pool.full_images[1], float(pool.pixel_mm[1]), float(pool.ga_weeks[1])
    box = head_box_xywh(class_map(pool.full_labels[1]))
    pred = predict_hypoplasia(img, model, head_box_xywh=box, ga_weeks=ga, pixel_mm=px)
    assert 0.0 <= pred.probability <= 1.0
    # another GA, same image: another probability (the network reads the GA)
    assert predict_hypoplasia(img, model, head_box_xywh=box, ga_weeks=ga + 8, pixel_mm=px).probability != pred.probability
    for missing in ({"ga_weeks": None, "pixel_mm": px}, {"ga_weeks": ga, "pixel_mm": None}, {"ga_weeks": ga, "pixel_mm": 0.0}):
        with pytest.raises(NeocusError, match="needs the gestational age and the pixel size"):
            predict_hypoplasia(img, model, head_box_xywh=box, **missing)


def test_image_only_model_folder_of_the_first_pass_still_loads(pool, tmp_path):
    """A model folder written before the GA input existed (no ``ga_and_scale`` key) loads as image-only."""
    train_hypoplasia(pool, pool, tmp_path, config=HypoplasiaModelConfig(variant="unconstrained", input_side=48, channels=(4, 8, 8, 16)),
                     options=HypoplasiaTrainOptions(epochs=1, steps_per_epoch=1, batch_size=8), seed=1)
    raw = json.loads((tmp_path / "config.json").read_text())
    raw.pop("ga_and_scale")
    (tmp_path / "config.json").write_text(json.dumps(raw))
    model = load_hypoplasia_model(tmp_path)
    assert not model.config.ga_and_scale
    assert 0.0 <= predict_hypoplasia(pool.full_images[0], model).probability <= 1.0


def test_pool_at_the_phantom_size_gives_the_same_crop_scale(tmp_path):
    from neocus.errors import NeocusError
    from neocus.fetal.hypoplasia_data import DEFAULT_PHANTOM_HW, cached_hypoplasia_pool

    small = render_hypoplasia_pool(2, seed=79, side=64)
    big = cached_hypoplasia_pool(tmp_path / "big.npz", 2, seed=79, keep_full=True, render_hw=DEFAULT_PHANTOM_HW)
    assert big.render_hw == DEFAULT_PHANTOM_HW and big.full_images.shape == (2, *DEFAULT_PHANTOM_HW)
    np.testing.assert_allclose(big.pixel_mm, small.pixel_mm / 2, rtol=0.02)  # the same head at twice the pixels
    # the crops of the squashed pools come out at the same mm per pixel at either render size
    np.testing.assert_allclose(crop_mm_per_px(big.labels, big.pixel_mm, side=48, render_h=big.render_hw[0]),
                               crop_mm_per_px(small.labels, small.pixel_mm, side=48), rtol=0.05)
    assert cached_hypoplasia_pool(tmp_path / "big.npz", 2, seed=79, render_hw=DEFAULT_PHANTOM_HW).render_hw == DEFAULT_PHANTOM_HW
    with pytest.raises(NeocusError, match="rendered at 432x576, not 216x288"):
        cached_hypoplasia_pool(tmp_path / "big.npz", 2, seed=79)
    with pytest.raises(NeocusError, match="not 3:4"):
        render_hypoplasia_pool(1, seed=79, render_hw=(432, 432))
