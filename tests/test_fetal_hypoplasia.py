"""Cerebellar hypoplasia classifier (issue #16 point 5): the phantom pool, each variant's forward shapes,
the auxiliary loss uses the masks, a short training whose loss falls, resume and refusal, calibration,
the TCD rule on hand-made masks, Grad-CAM, ``fetal evaluate`` on a tiny phantom dataset and bad input."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from neocus.errors import InputFileError, NeocusError
from neocus.fetal.hypoplasia_data import (CONDITIONS, HypoplasiaPool, augment_hypoplasia_batch, cached_hypoplasia_pool, crop_inputs,
                                          render_hypoplasia_pool)
from neocus.fetal.hypoplasia_eval import binary_summary, tcd_rule
from neocus.fetal.hypoplasia_model import (HypoplasiaCalibration, HypoplasiaModelConfig, HypoplasiaVariant, build_hypoplasia_net,
                                           load_hypoplasia_model, predict_hypoplasia)
from neocus.fetal.hypoplasia_train import HypoplasiaTrainOptions, fit_hypoplasia_calibration, train_hypoplasia
from neocus.vocab import FetalCondition

torch = pytest.importorskip("torch")

TINY = {"input_side": 48, "channels": (4, 8, 8, 16)}


@pytest.fixture(scope="module")
def pool() -> HypoplasiaPool:
    return render_hypoplasia_pool(8, seed=77, side=64, keep_full=True)


def test_pool_has_the_conditions_in_turn_and_hypoplasia_is_positive(pool, tmp_path):
    assert [CONDITIONS[c] for c in pool.conditions[:4]] == [FetalCondition.NORMAL, FetalCondition.CEREBELLAR_HYPOPLASIA,
                                                           FetalCondition.MEGA_CISTERNA_MAGNA, FetalCondition.VENTRICULOMEGALY]
    assert pool.positive.tolist() == [0, 1, 0, 0] * 2
    assert pool.images.shape == (8, 64, 64) and pool.full_images.shape == (8, 216, 288)
    assert ((pool.ga_weeks >= 18) & (pool.ga_weeks <= 40)).all()
    assert (pool.tcd_centile[pool.positive == 1] < 5).all() and (pool.tcd_centile[pool.positive == 0] > 5).all()
    cached_hypoplasia_pool(tmp_path / "p.npz", 2, seed=3)
    again = cached_hypoplasia_pool(tmp_path / "p.npz", 2, seed=3)
    assert np.array_equal(again.images, render_hypoplasia_pool(2, seed=3).images)
    with pytest.raises(NeocusError, match="holds 2 phantom images, not 5"):
        cached_hypoplasia_pool(tmp_path / "p.npz", 5, seed=3)


def test_augmentation_keeps_image_and_masks_together(pool):
    b = augment_hypoplasia_batch(pool.images, pool.labels, side=48, rng=np.random.default_rng(0))
    x, y = b.x, b.target
    assert b.mm_per_px is None
    assert x.shape == y.shape == (8, 1, 48, 48)
    assert set(np.unique(y).tolist()) <= {0, 1, 2, 3, 4} and (y == 3).any()  # the cerebellum class survives the crop
    xv, yv = crop_inputs(pool.images, pool.labels, side=48)
    assert abs(float(xv.mean())) < 1e-4 and (yv == 3).sum(axis=(1, 2, 3)).min() > 0


@pytest.mark.parametrize("variant", list(HypoplasiaVariant))
def test_each_variant_forward_shapes(variant):
    net = build_hypoplasia_net(HypoplasiaModelConfig(variant=variant, **TINY))
    logit, seg = net(torch.zeros(3, 1, 48, 48))
    assert logit.shape == (3,)
    if variant is HypoplasiaVariant.UNCONSTRAINED:
        assert seg is None
    else:
        assert seg.shape == (3, 5, 48, 48)


def test_attention_variant_reads_its_predicted_masks():
    """The attention classifier's logit depends on the segmentation head (its attention map and areas)."""
    torch.manual_seed(0)
    net = build_hypoplasia_net(HypoplasiaModelConfig(variant="attention", **TINY)).eval()
    x = torch.randn(2, 1, 48, 48)
    before = net(x)[0].detach().clone()
    with torch.no_grad():
        net.seg_head[-1].bias[3] += 5.0  # push the predicted cerebellum everywhere
    assert not torch.allclose(before, net(x)[0])


def _train(pool, out, *, variant="auxseg", epochs=2, seg_weight=1.0, steps=3):
    return train_hypoplasia(pool, pool, out, config=HypoplasiaModelConfig(variant=variant, **TINY),
                            options=HypoplasiaTrainOptions(epochs=epochs, steps_per_epoch=steps, batch_size=8, lr=3e-3, seg_weight=seg_weight), seed=1)


def test_auxiliary_loss_uses_the_masks(pool, tmp_path):
    with_seg = _train(pool, tmp_path / "a", epochs=1)
    without = _train(pool, tmp_path / "b", epochs=1, seg_weight=0.0)
    plain = _train(pool, tmp_path / "c", epochs=1, variant="unconstrained")
    # same seed and batches: the mask loss (Dice + CE, >= 0.5 on an untrained decoder) is added on top of the BCE
    assert with_seg.losses[0] > without.losses[0] + 0.5
    assert abs(without.losses[0] - plain.losses[0]) < 0.5


def test_short_training_loss_falls_resumes_and_refuses_another_network(pool, tmp_path):
    first = _train(pool, tmp_path, epochs=5, steps=4)
    assert first.losses[-1] < first.losses[0]
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2, 3, 4, 5]
    resumed = _train(pool, tmp_path, epochs=6, steps=4)
    assert resumed.resumed_from_epoch == 5 and resumed.epochs_done == 6
    with pytest.raises(NeocusError, match="another network"):
        _train(pool, tmp_path, variant="attention", epochs=7)
    model = load_hypoplasia_model(tmp_path)
    pred = predict_hypoplasia(pool.full_images[1], model)
    assert 0.0 <= pred.probability <= 1.0 and pred.flag == (pred.probability >= model.calibration.threshold)


def test_calibration_is_monotone_and_fitted_on_the_given_labels():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    logits = (2 * y - 1) * 1.0 + rng.normal(0, 1.0, 400)
    # the log-likelihood ratio of N(+1, 1) against N(-1, 1) is 2x: logits 6x are 3 times too confident
    over = fit_hypoplasia_calibration(y, 6.0 * logits)
    assert over.temperature == pytest.approx(3.0, rel=0.15)
    grid = np.linspace(-20, 20, 101)
    assert (np.diff(over.probability(grid)) > 0).all()
    assert 0.0 <= over.threshold <= 1.0
    nll = lambda p: -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))  # noqa: E731
    assert nll(over.probability(6.0 * logits)) < nll(HypoplasiaCalibration().probability(6.0 * logits))


def _masks(tcd_px: int):
    head = np.zeros((201, 201), np.uint8)
    cv2.ellipse(head, (100, 100), (55, 85), 0, 0, 360, 1, -1)
    cb = np.zeros_like(head)
    cb[130:144, 100 - tcd_px // 2:100 + tcd_px // 2] = 1
    cs = np.zeros_like(head)
    cs[144:156, 96:105] = 1
    return cb.astype(bool), cs.astype(bool), head.astype(bool)


def test_tcd_rule_on_hand_made_masks():
    from neocus.fetal.norms import FetalMeasure, value_at_centile

    p5 = value_at_centile(5, measure=FetalMeasure.TCD, ga_weeks=24.0)  # mm
    small, normal = _masks(int(0.8 * p5 / 0.5)), _masks(int(1.1 * p5 / 0.5))
    got = tcd_rule(*small, pixel_mm=0.5, ga_weeks=24.0)
    assert got.flag is True and got.centile < 5 and got.score > 1.645
    assert tcd_rule(*normal, pixel_mm=0.5, ga_weeks=24.0).flag is False
    no_px = tcd_rule(*small, pixel_mm=None, ga_weeks=24.0)
    assert no_px.flag is None and "pixel spacing" in no_px.reason
    no_ga = tcd_rule(*small, pixel_mm=0.5, ga_weeks=None)
    assert no_ga.flag is None and "gestational age" in no_ga.reason
    empty = np.zeros((201, 201), bool)
    assert "no cerebellum" in tcd_rule(empty, empty, small[2], pixel_mm=0.5, ga_weeks=24.0).reason


def test_binary_summary_counts_per_condition():
    s = binary_summary([1, 1, 0, 0, 0], [0.9, 0.2, 0.8, 0.1, 0.3], threshold=0.5, conditions=["h", "h", "n", "n", "m"], probability=True)
    assert s.auc == pytest.approx(4 / 6)
    assert s.sensitivity == 0.5 and s.specificity == pytest.approx(2 / 3)
    assert s.called_positive_by_condition == {"h": 0.5, "m": 0.0, "n": 0.5}
    assert s.brier == pytest.approx(np.mean(np.square([0.1, 0.8, 0.8, 0.1, 0.3])))


def test_grad_cam_shape_and_range(pool, tmp_path):
    from neocus.fetal.hypoplasia_cam import grad_cam, heatmap_overlay

    _train(pool, tmp_path, variant="unconstrained", epochs=1)
    model = load_hypoplasia_model(tmp_path)
    x, _ = crop_inputs(pool.images[:1], pool.labels[:1], side=48)
    cam = grad_cam(model, x[0, 0])
    assert cam.shape == (48, 48) and cam.min() >= 0 and cam.max() <= 1
    assert heatmap_overlay(x[0, 0], cam).shape == (48, 48, 3)


def test_missing_or_corrupt_model_is_a_one_line_error(tmp_path):
    with pytest.raises(InputFileError, match="hypoplasia model file missing: config.json"):
        load_hypoplasia_model(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputFileError, match="cannot be read"):
        load_hypoplasia_model(tmp_path)
    with pytest.raises(NeocusError, match="unknown variant"):
        HypoplasiaModelConfig(variant="resnet")
