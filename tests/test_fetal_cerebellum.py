"""Posterior-fossa segmentation (cerebellum, cisterna magna) and TCD / cisterna magna depth: the
measurements on hand-made masks against hand-computed values, a short training whose loss falls,
resume, the model folder, prediction and bad input."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from neocus.errors import InputFileError, NeocusError
from neocus.fetal.cerebellum import CLASS_NAMES, CerebellumModel, class_map, head_region, load_cerebellum_model, main_components, masks_from_classes, predict_posterior_fossa
from neocus.fetal.cerebellum_train import METRICS_NAME, CerebellumTrainOptions, augment_pairs, train_cerebellum
from neocus.fetal.norms import FetalMeasure, assess
from neocus.fetal.fossa_pool import render_fossa_pool
from neocus.fetal.posterior_fossa import cistern_depth_px, measure_posterior_fossa, midline_axis, transverse_width_px
from neocus.fetal.skull_model import SkullModelConfig

TINY = SkullModelConfig(features=(4, 4, 8, 8, 8, 4), input_shape_hw=(32, 32))


def _scene(angle_deg: float = 0.0, *, size: int = 201):
    """A head ellipse whose long axis (the midline) is vertical before rotation, a cerebellum rectangle
    40 px wide (transverse) and 14 px high, and a cistern 12 px deep on the midline behind it."""
    c = size // 2
    head = np.zeros((size, size), np.uint8)
    cv2.ellipse(head, (c, c), (55, 85), 0, 0, 360, 1, -1)
    cb = np.zeros_like(head)
    cb[c + 30:c + 44, c - 20:c + 20] = 1  # rows 130..143, cols 80..119: 40 px wide
    cs = np.zeros_like(head)
    cs[c + 44:c + 56, c - 4:c + 5] = 1  # 12 px deep, on the midline column c
    if angle_deg:
        m = cv2.getRotationMatrix2D((c, c), angle_deg, 1.0)
        head, cb, cs = (cv2.warpAffine(a, m, (size, size), flags=cv2.INTER_NEAREST) for a in (head, cb, cs))
    return cb.astype(bool), cs.astype(bool), head.astype(bool)


def test_tcd_and_cisterna_magna_from_hand_made_masks():
    cb, cs, head = _scene()
    (_, _), d = midline_axis(head)
    assert abs(abs(d[1]) - 1.0) < 1e-6  # the long axis is vertical
    assert transverse_width_px(cb, direction_xy=d) == pytest.approx(40.0)
    assert cistern_depth_px(cs, through_xy=(100.0, 100.0), direction_xy=d) == pytest.approx(12.0)
    r = measure_posterior_fossa(cb, cs, head, pixel_mm=0.5, ga_weeks=20.0)
    assert r.tcd_mm == pytest.approx(20.0) and r.cisterna_magna_mm == pytest.approx(6.0)
    want = assess(20.0, measure=FetalMeasure.TCD, ga_weeks=20.0)
    assert 5 < want.centile < 95  # a normal TCD at 20 weeks
    assert r.tcd.centile == pytest.approx(want.centile, rel=1e-4) and r.cisterna_magna.measure is FetalMeasure.CISTERNA_MAGNA
    assert r.reasons == {}


def test_measurements_follow_a_rotated_head():
    cb, cs, head = _scene(35.0)
    r = measure_posterior_fossa(cb, cs, head, pixel_mm=1.0)
    assert r.tcd_mm == pytest.approx(40.0, abs=1.5)  # nearest-neighbour rotation: within a pixel or so
    assert r.cisterna_magna_mm == pytest.approx(12.0, abs=1.5)
    assert "tcd_centile" in r.reasons and r.tcd is None


def test_missing_structures_give_none_with_a_reason_and_bad_input_raises():
    cb, cs, head = _scene()
    none_cb = measure_posterior_fossa(np.zeros_like(cb), cs, head, pixel_mm=0.5)
    assert none_cb.tcd_mm is None and none_cb.cisterna_magna_mm is None and "no cerebellum" in none_cb.reasons["tcd_mm"]
    no_cm = measure_posterior_fossa(cb, np.zeros_like(cs), head, pixel_mm=0.5)
    assert no_cm.tcd_mm == pytest.approx(20.0) and no_cm.cisterna_magna_mm is None and "cisterna" in no_cm.reasons["cisterna_magna_mm"]
    no_px = measure_posterior_fossa(cb, cs, head, pixel_mm=None)
    assert no_px.tcd_mm is None and "pixel spacing" in no_px.reasons["tcd_mm"]
    empty = np.zeros_like(cb)
    assert "no head" in measure_posterior_fossa(empty, empty, empty, pixel_mm=0.5).reasons["tcd_mm"]
    with pytest.raises(NeocusError, match="shapes"):
        measure_posterior_fossa(cb[:-1], cs, head, pixel_mm=0.5)
    with pytest.raises(NeocusError, match="pixel"):
        measure_posterior_fossa(cb, cs, head, pixel_mm=-1.0)
    with pytest.raises(NeocusError):
        measure_posterior_fossa(cb, cs, head, pixel_mm=0.5, ga_weeks=50.0)
    with pytest.raises(NeocusError, match="head mask"):
        midline_axis(empty)


@pytest.fixture(scope="module")
def pool():
    return render_fossa_pool(12, seed=5, side=64, render_hw=(96, 128))


def test_class_map_and_augmented_pairs_agree(pool):
    tc = int(np.nonzero(pool.planes == 2)[0][0])
    target = class_map(pool.labels[tc])
    assert (target == CLASS_NAMES.index("cerebellum")).any() and (target == CLASS_NAMES.index("cistern")).any()
    x, y = augment_pairs(pool.images[:4], pool.labels[:4], side=32, rng=np.random.default_rng(1))
    x2, _ = augment_pairs(pool.images[:4], pool.labels[:4], side=32, rng=np.random.default_rng(1))
    assert x.shape == y.shape == (4, 1, 32, 32) and np.array_equal(x, x2)
    assert set(np.unique(y)) <= set(range(len(CLASS_NAMES))) and (y > 0).mean() > 0.2  # the head fills the crop


def test_short_training_loss_falls_resumes_and_predicts(pool, tmp_path):
    opts = CerebellumTrainOptions(epochs=6, steps_per_epoch=3, batch_size=4, lr=1e-2, tc_fraction=0.5, small_weight=2.0, batch_dice=True)
    r = train_cerebellum(pool, pool, tmp_path, config=TINY, options=opts, seed=0)
    assert r.resumed_from_epoch == 0 and r.epochs_done == 6 and len(r.losses) == 6
    assert np.mean(r.losses[-2:]) < r.losses[0]
    lines = [json.loads(s) for s in (tmp_path / METRICS_NAME).read_text().splitlines()]
    assert [ln["epoch"] for ln in lines] == list(range(1, 7)) and 0 <= lines[-1]["cerebellum_dice"] <= 1
    more = train_cerebellum(pool, pool, tmp_path, config=TINY, options=CerebellumTrainOptions(**{**opts.to_dict(), "epochs": 7}), seed=0)
    assert more.resumed_from_epoch == 6 and more.epochs_done == 7 and len(more.losses) == 1
    with pytest.raises(NeocusError, match="another network"):
        train_cerebellum(pool, pool, tmp_path, config=SkullModelConfig(features=(4, 4, 8, 8, 8, 4), input_shape_hw=(48, 48)), options=opts)
    model = load_cerebellum_model(tmp_path)
    image = cv2.resize(pool.images[int(np.nonzero(pool.planes == 2)[0][0])], (80, 60))
    prob, cls = predict_posterior_fossa(image, model)
    assert prob.shape == (len(CLASS_NAMES), 60, 80) and cls.shape == (60, 80)
    assert np.allclose(prob.sum(0), 1.0, atol=1e-4)
    fine = train_cerebellum(pool, pool, tmp_path / "fine", config=TINY, options=CerebellumTrainOptions(**{**opts.to_dict(), "epochs": 1}),
                            init=tmp_path, seed=0)
    assert fine.epochs_done == 1 and fine.resumed_from_epoch == 0
    with pytest.raises(NeocusError, match="same network"):
        train_cerebellum(pool, pool, tmp_path / "other", config=SkullModelConfig(features=(4, 4, 8, 8, 16, 4), input_shape_hw=(32, 32)),
                         options=opts, init=tmp_path)


class _Bright(torch.nn.Module):
    """A stand-in network: brain wherever the standardised input is bright, background elsewhere."""

    def forward(self, x):
        z = torch.zeros_like(x)
        return torch.cat([-10 * x, z, 10 * x, z, z], dim=1)


def test_prediction_crops_the_largest_region_not_a_far_false_positive():
    image = np.zeros((240, 320), np.uint8)
    cv2.circle(image, (200, 140), 60, 200, -1)  # the head
    image[5:20, 5:20] = 200  # a bright patch far from it (maternal tissue)
    model = CerebellumModel(config=TINY, network=_Bright().eval(), path=None)
    _, cls = predict_posterior_fossa(image, model)
    assert cls[140, 200] == CLASS_NAMES.index("brain") and (cls[8:17, 8:17] == 0).all()  # the patch lies outside the head crop
    assert abs(int((cls > 0).sum()) - int((image > 0).sum()) + 225) < 0.1 * np.pi * 60 ** 2


def test_bad_model_folder_and_pool(tmp_path, pool):
    with pytest.raises(InputFileError, match="missing"):
        load_cerebellum_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(TINY.to_dict()))
    (tmp_path / "weights.pt").write_bytes(b"not weights")
    with pytest.raises(InputFileError, match="cannot be loaded"):
        load_cerebellum_model(tmp_path)
    keep = pool.planes != 2
    no_tc = type(pool)(images=pool.images[keep], labels=pool.labels[keep], planes=pool.planes[keep])
    with pytest.raises(NeocusError, match="trans-cerebellar"):
        train_cerebellum(no_tc, pool, tmp_path / "run", config=TINY, options=CerebellumTrainOptions(epochs=1, steps_per_epoch=1))
    with pytest.raises(NeocusError):
        CerebellumTrainOptions(epochs=0)
    with pytest.raises(NeocusError, match="weight"):
        CerebellumTrainOptions(small_weight=0.0)


def test_train_cerebellum_cli_rejects_bad_counts(tmp_path, capsys):
    from neocus.cli import main

    assert main(["fetal", "train", "cerebellum", "--out", str(tmp_path / "run"), "--cases", "0"]) != 0
    assert main(["fetal", "train", "cerebellum", "--out", str(tmp_path / "run2"), "--cases", "8", "--small-weight", "0"]) != 0
    err = capsys.readouterr().err
    assert "--cases" in err and "weight" in err and "Traceback" not in err


def test_masks_from_classes_keep_the_main_regions():
    cls = np.zeros((60, 60), np.uint8)
    cls[5:55, 5:55] = CLASS_NAMES.index("brain")
    cls[30:40, 10:20] = cls[30:40, 24:32] = CLASS_NAMES.index("cerebellum")  # two hemispheres, 100 and 80 px
    cls[8:10, 40:42] = CLASS_NAMES.index("cerebellum")  # a 4 px speck
    cls[41:46, 14:18] = CLASS_NAMES.index("cistern")
    cls[0:2, 0:2] = CLASS_NAMES.index("skull")  # outside the head region: dropped
    m = masks_from_classes(cls)
    assert m["cerebellum"].sum() == 180 and not m["cerebellum"][8, 40] and m["cistern"].sum() == 20
    assert m["head"].sum() == 50 * 50 and not m["skull"].any()
    assert not main_components(np.zeros((4, 4), bool)).any()


def test_calipers_span_the_measured_lengths():
    cb, cs, head = _scene(20.0)
    r = measure_posterior_fossa(cb, cs, head, pixel_mm=1.0)
    (a, b), (c, d) = r.tcd_caliper_xy, r.cisterna_magna_caliper_xy
    assert np.hypot(b[0] - a[0], b[1] - a[1]) == pytest.approx(r.tcd_mm, abs=1e-6)
    assert np.hypot(d[0] - c[0], d[1] - c[1]) == pytest.approx(r.cisterna_magna_mm, abs=1e-6)
    for x, y in (c, d):  # the cisterna magna caliper lies on the cistern's edges
        assert cs[max(int(round(y)) - 1, 0):int(round(y)) + 2, max(int(round(x)) - 1, 0):int(round(x)) + 2].any()
    assert measure_posterior_fossa(cb, cs, head, pixel_mm=None).tcd_caliper_xy is None


def test_head_region_prefers_the_region_with_skull_over_a_larger_one():
    cls = np.zeros((80, 120), np.uint8)
    cls[5:75, 60:118] = CLASS_NAMES.index("brain")  # a large body part: no skull
    cv2.circle(cls, (25, 40), 20, CLASS_NAMES.index("brain"), -1)
    cv2.circle(cls, (25, 40), 20, CLASS_NAMES.index("skull"), 2)  # the head, smaller, ringed by skull
    head = head_region(cls)
    assert head[40, 25] and not head[40, 90]
    assert head_region(np.where(cls == CLASS_NAMES.index("skull"), 0, cls))[40, 90]  # no skull anywhere: the largest
    assert not head_region(np.zeros((5, 5), np.uint8)).any()
