"""The posterior-fossa zoom stage: the crop box and its inverse mapping, the sub-pixel TCD against a
hand-computed disc width, a short training whose loss falls and resumes, a missing or corrupt zoom
model folder, and ``measure_fossa`` with and without a zoom stage."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from test_fetal_fossa_measure import LEVELS, _Levels
from test_fetal_fossa_measure import _tc_image as measure_tc_image

from neocus.errors import InputFileError, NeocusError
from neocus.fetal.cerebellum import CLASS_NAMES, CerebellumModel, load_cerebellum_model, predict_posterior_fossa
from neocus.fetal.cerebellum_train import METRICS_NAME
from neocus.fetal.fossa_measure import measure_fossa
from neocus.fetal.fossa_pool import render_zoom_pool
from neocus.fetal.fossa_zoom import ZOOM_NAME, FossaZoomModel, ZoomSettings, apply_zoom, fossa_box_xywh, load_zoom_model, zoom_matrix, zoom_to_image
from neocus.fetal.fossa_zoom_train import ZoomTrainOptions, train_zoom, zoom_pairs
from neocus.fetal.posterior_fossa import measure_posterior_fossa, transverse_width_iso, transverse_width_px
from neocus.fetal.skull_model import SkullModelConfig, build_network, save_skull_model

TINY = SkullModelConfig(features=(4, 4, 8, 8, 8, 4), input_shape_hw=(32, 32))


def _tc_image() -> np.ndarray:
    """The ``fetal measure`` tests' head (cerebellum 80 px wide, cols 360..439; cistern 24 px deep, rows 380..403) with the
    occipital bone behind the cistern and a dark band: the stand-in network reads levels against the crop's own range, so
    the zoom crop needs both."""
    img = measure_tc_image()
    img[404:408, 370:430] = LEVELS["skull"]
    img[408:412, 370:430] = LEVELS["background"]
    return img


FIRST = CerebellumModel(config=SkullModelConfig(features=(4, 4, 8, 8, 8, 4), input_shape_hw=(192, 192)), network=_Levels().eval(), path=None)
ZOOM = FossaZoomModel(config=SkullModelConfig(features=(4, 4, 8, 8, 8, 4), input_shape_hw=(160, 160)), settings=ZoomSettings(margin=0.3),
                      network=_Levels().eval(), path=None)


@pytest.mark.parametrize("margin, out_side", [(0.3, 160), (0.5, 64), (0.0, 256)])
def test_a_mask_survives_crop_and_back_within_a_pixel(margin, out_side):
    mask = np.zeros((300, 400), np.uint8)
    cv2.ellipse(mask, (230, 140), (60, 35), 20, 0, 360, 1, -1)
    box = fossa_box_xywh(mask.astype(bool), np.zeros_like(mask, bool))
    ys, xs = np.nonzero(mask)
    assert box == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    m = zoom_matrix(box, out_side=out_side, margin=margin)
    centre = m @ np.array([box[0] + box[2] / 2 - 0.5, box[1] + box[3] / 2 - 0.5, 1.0])
    assert centre == pytest.approx([(out_side - 1) / 2] * 2)  # the box's centre is the crop's centre
    assert m[0, 0] * max(box[2], box[3]) * (1 + 2 * margin) == pytest.approx(out_side)  # the enlarged box fills the crop
    crop = cv2.warpAffine(mask.astype(np.float32), m, (out_side, out_side), flags=cv2.INTER_LINEAR)
    back = zoom_to_image(crop, m, shape_hw=mask.shape) > 0.5
    diff = back ^ mask.astype(bool)
    edge = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
    assert not (diff & ~cv2.dilate(edge.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)).any()  # only at the edge
    assert diff.sum() < 0.1 * mask.sum()
    assert fossa_box_xywh(np.zeros((5, 5), bool), np.ones((5, 5), bool)) is None


def test_subpixel_tcd_against_a_hand_computed_disc_width():
    yy, xx = np.mgrid[:80, :100]
    r = np.hypot(xx - 50.3, yy - 40.2)
    prob = np.clip(15.7 - r + 0.5, 0.0, 1.0)  # a disc of radius 15.7 px with a linear one-pixel rim: 0.5 at r = 15.7
    region = prob > 0.5
    assert transverse_width_iso(prob, direction_xy=(0.0, 1.0), region=region) == pytest.approx(2 * 15.7, abs=0.05)
    assert transverse_width_iso(prob, direction_xy=(0.6, 0.8), region=region) == pytest.approx(2 * 15.7, abs=0.05)
    assert abs(transverse_width_px(region, direction_xy=(0.0, 1.0)) - 31.4) > 0.3  # the pixel caliper cannot see it
    mask = np.zeros((60, 80), bool)
    mask[20:34, 20:60] = True  # 40 px wide: on a 0/1 map both calipers agree
    assert transverse_width_iso(mask.astype(float), direction_xy=(0.0, 1.0), region=mask) == pytest.approx(40.0)
    head = np.zeros_like(mask)
    head[2:58, 25:55] = True  # taller than wide: the midline is vertical
    a = measure_posterior_fossa(mask, np.zeros_like(mask), head, pixel_mm=0.5)
    b = measure_posterior_fossa(mask, np.zeros_like(mask), head, pixel_mm=0.5, cerebellum_prob=mask.astype(np.float32))
    assert a.tcd_mm == pytest.approx(20.0) and b.tcd_mm == pytest.approx(20.0) and np.allclose(b.tcd_caliper_xy, a.tcd_caliper_xy)
    with pytest.raises(NeocusError, match="probability shape"):
        measure_posterior_fossa(mask, np.zeros_like(mask), head, pixel_mm=0.5, cerebellum_prob=np.zeros((3, 3)))


def test_the_zoom_stage_replaces_the_fossa_and_measure_fossa_works_with_and_without_it():
    img = _tc_image()
    prob, _ = predict_posterior_fossa(img, FIRST)
    zoomed = apply_zoom(img, prob, ZOOM)
    assert zoomed.shape == prob.shape and np.allclose(zoomed.sum(0), 1.0, atol=1e-4)
    assert (zoomed.argmax(0)[355:375, 365:435] == CLASS_NAMES.index("cerebellum")).all()
    assert np.allclose(zoomed[:, :100], prob[:, :100], atol=1e-6)  # outside the crop: the first stage's
    empty = np.zeros_like(prob)
    empty[0] = 1.0
    assert apply_zoom(img, empty, ZOOM) is empty  # no cerebellum: nothing to zoom on
    huge = prob.copy()
    huge[:, 100:440, 300:500] = 0.0
    huge[CLASS_NAMES.index("cerebellum"), 100:440, 300:500] = 1.0  # a box over 0.65 of the head: a first-stage failure
    assert apply_zoom(img, huge, ZOOM) is huge
    kw = {"plane": "trans_cerebellar", "pixel_mm": 0.25, "ga_weeks": 22.0}
    without = measure_fossa(img, FIRST, **kw)
    with_zoom = measure_fossa(img, CerebellumModel(config=FIRST.config, network=FIRST.network, path=None, zoom=ZOOM), **kw)
    pixels = measure_fossa(img, FIRST, subpixel_tcd=False, **kw)
    for r in (without, with_zoom, pixels):
        assert r.values["tcd_mm"] == pytest.approx(20.0, abs=0.75) and r.values["cisterna_magna_mm"] == pytest.approx(6.0, abs=0.75)
    assert with_zoom.values["tcd_mm"] == pytest.approx(20.0, abs=0.3)  # the crop is finer than the first stage's 192 px head crop


@pytest.fixture(scope="module")
def pool():
    return render_zoom_pool(6, seed=5, render_hw=(120, 160))


def test_zoom_pairs_short_training_loss_falls_resumes_and_loads(pool, tmp_path):
    x, y = zoom_pairs(pool.images[:3], pool.labels[:3], side=32, options=ZoomTrainOptions(), rng=np.random.default_rng(2))
    assert x.shape == y.shape == (3, 1, 32, 32)
    assert all((y[k] == CLASS_NAMES.index("cerebellum")).mean() > 0.05 for k in range(3))  # the cerebellum fills the crop
    opts = ZoomTrainOptions(epochs=6, steps_per_epoch=3, batch_size=4, lr=1e-2, val_images=3, small_weight=2.0)
    first = CerebellumModel(config=TINY, network=build_network(TINY, out_channels=len(CLASS_NAMES)).eval(), path=None)
    r = train_zoom(pool, pool, tmp_path, first_stage=first, config=TINY, options=opts, seed=0)
    assert r.resumed_from_epoch == 0 and r.epochs_done == 6 and np.mean(r.losses[-2:]) < r.losses[0]
    assert [json.loads(s)["epoch"] for s in (tmp_path / METRICS_NAME).read_text().splitlines()] == list(range(1, 7))
    more = train_zoom(pool, pool, tmp_path, first_stage=first, config=TINY, options=ZoomTrainOptions(**{**opts.to_dict(), "epochs": 7}), seed=0)
    assert more.resumed_from_epoch == 6 and more.epochs_done == 7
    zoom = load_zoom_model(tmp_path)
    assert zoom.settings.margin == opts.margin and zoom.config.input_shape_hw == (32, 32)
    save_skull_model(first.network, TINY, tmp_path / "first")
    model = load_cerebellum_model(tmp_path / "first", zoom=tmp_path)
    prob, cls = predict_posterior_fossa(pool.images[0], model)
    assert model.zoom is not None and prob.shape == (len(CLASS_NAMES), 120, 160) and cls.shape == (120, 160)
    assert load_cerebellum_model(tmp_path / "first", zoom=False).zoom is None


def test_missing_or_corrupt_zoom_folder_and_bad_options(tmp_path, capsys):
    with pytest.raises(InputFileError, match="missing"):
        load_zoom_model(tmp_path)
    (tmp_path / ZOOM_NAME).write_text("{not json")
    with pytest.raises(InputFileError, match="zoom model"):
        load_zoom_model(tmp_path)
    (tmp_path / ZOOM_NAME).write_text(json.dumps({"margin": 0.3}))
    with pytest.raises(InputFileError, match="missing"):
        load_zoom_model(tmp_path)  # no config.json / weights.pt
    (tmp_path / "config.json").write_text(json.dumps(TINY.to_dict()))
    (tmp_path / "weights.pt").write_bytes(b"not weights")
    with pytest.raises(InputFileError, match="cannot be loaded"):
        load_zoom_model(tmp_path)
    save_skull_model(build_network(TINY, out_channels=len(CLASS_NAMES)), TINY, tmp_path / "first")
    with pytest.raises(InputFileError):
        load_cerebellum_model(tmp_path / "first", zoom=tmp_path / "nowhere")
    for bad in ({"margin": -0.1}, {"shift_sd": -1.0}, {"epochs": 0}, {"small_weight": 0.0}):
        with pytest.raises(NeocusError):
            ZoomTrainOptions(**bad)
    from neocus.cli import main

    assert main(["fetal", "train", "fossa", "--out", str(tmp_path / "run"), "--cases", "0"]) != 0
    assert main(["fetal", "train", "fossa", "--out", str(tmp_path / "run2"), "--cases", "4", "--margin", "-1"]) != 0
    err = capsys.readouterr().err
    assert "--cases" in err and "--margin" in err and "Traceback" not in err


def test_the_bundled_zoom_stage_is_found_by_default():
    from neocus.fetal.cerebellum import default_cerebellum_dir
    from neocus.fetal.fossa_zoom import default_zoom_dir

    if not (default_zoom_dir() / ZOOM_NAME).is_file():
        pytest.skip("no bundled zoom stage in this tree")
    model = load_cerebellum_model(default_cerebellum_dir())
    assert model.zoom is not None and model.zoom.path == default_zoom_dir()
    assert model.zoom.config.input_shape_hw == (160, 160) and model.zoom.settings.margin == pytest.approx(0.3)
    assert model.zoom.settings.flip_tta  # chosen on the validation pool (docs/fetal.md)


def test_flip_tta_averages_the_four_flipped_passes_and_keeps_the_fossa():
    import dataclasses

    import torch

    from neocus.fetal.fossa_zoom import _flip_averaged_probabilities

    torch.manual_seed(0)
    net = build_network(SkullModelConfig(net="basicunet", features=(4, 4, 8, 8, 16, 4), input_shape_hw=(32, 32)), out_channels=len(CLASS_NAMES)).eval()
    x = np.random.default_rng(0).normal(size=(32, 32)).astype(np.float32)
    with torch.inference_mode():
        by_hand = []
        for dims in ((), (-1,), (-2,), (-2, -1)):
            t = torch.from_numpy(x)[None, None]
            p = torch.softmax(net(t.flip(dims) if dims else t), dim=1)[0]
            by_hand.append(p.flip(dims) if dims else p)
    assert np.allclose(_flip_averaged_probabilities(net, x), torch.stack(by_hand).mean(0).numpy(), atol=1e-5)
    img = _tc_image()
    prob, _ = predict_posterior_fossa(img, FIRST)
    flipped = dataclasses.replace(ZOOM, settings=ZoomSettings(margin=ZOOM.settings.margin, flip_tta=True))
    zoomed = apply_zoom(img, prob, flipped)
    assert np.allclose(zoomed.sum(0), 1.0, atol=1e-4)
    assert (zoomed.argmax(0)[355:375, 365:435] == CLASS_NAMES.index("cerebellum")).all()


def test_the_subpixel_tcd_ignores_a_thin_leak_of_the_cerebellum_mask():
    from neocus.fetal.posterior_fossa import opened_region

    yy, xx = np.mgrid[:200, :200]
    head = (xx - 100) ** 2 / 90**2 + (yy - 100) ** 2 / 60**2 <= 1  # long axis along x: the TCD is measured across y
    cerebellum = (xx - 100) ** 2 + (yy - 100) ** 2 <= 20**2
    leak = cerebellum | ((np.abs(xx - 100) <= 1) & (yy >= 100) & (yy <= 135))  # 3 px wide, 15 px past the disc
    cistern = np.zeros_like(head)
    kw = {"pixel_mm": 1.0}
    assert opened_region(leak, radius_px=3.2).sum() == pytest.approx(cerebellum.sum(), rel=0.02)
    assert (opened_region(leak, radius_px=0.4) == leak).all()  # a radius that rounds to 0: the mask itself
    plain = measure_posterior_fossa(leak, cistern, head, cerebellum_prob=leak.astype(np.float32), open_fraction=0.0, **kw)
    opened = measure_posterior_fossa(leak, cistern, head, cerebellum_prob=leak.astype(np.float32), **kw)
    assert plain.tcd_mm == pytest.approx(41 + 15, abs=1.0)
    assert 40.5 <= opened.tcd_mm <= 41 + 2 + 0.5  # the leak counts only within the iso-line's 2-px search band around the opened mask
