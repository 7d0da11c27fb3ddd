"""Scanner-screen capture: the sector lands where the crop record says, overlays stay outside it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from _bmode_toy_head import ToyHead, coronal_plane

from neocus.phantom.bmode import render_plane
from neocus.phantom.presets import PRESETS, get_preset
from neocus.phantom.screen import GE_LIKE, compose_screen


@pytest.mark.parametrize("name", ["internal", "external"])
def test_screen_puts_the_frame_where_its_crop_record_says(name):
    frame = render_plane(ToyHead(), coronal_plane(), get_preset(name), rng=np.random.default_rng(0), out_size_hw=(150, 220))
    cap = compose_screen(frame, rng=np.random.default_rng(1))
    c = cap.crop
    assert (c.source_height, c.source_width) == cap.image.shape
    assert 0 <= c.x and c.x + c.w <= c.source_width and 0 <= c.y and c.y + c.h <= c.source_height
    # cutting the crop out and scaling it back gives the frame (inside the imaging region)
    cut = cap.image[c.y : c.y + c.h, c.x : c.x + c.w]
    back = cv2.resize(cut, frame.image.shape[::-1], interpolation=cv2.INTER_AREA)
    inner = cv2.erode(frame.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert np.abs(back[inner].astype(int) - frame.image[inner]).mean() < 6
    # a frame pixel maps through the crop record onto the screen's region mask
    rows, cols = np.nonzero(inner)
    pts = c.to_source(np.stack([cols, rows], 1).astype(float) + 0.5) - 0.5
    xi, yi = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
    assert cap.region_mask[yi, xi].mean() > 0.99
    # burned-in text, bar and scale exist, and only outside the imaging region
    outside = cap.image[~cap.region_mask]
    assert (outside > 100).sum() > 500
    assert np.array_equal(cap.image[cap.region_mask], cv2.resize(frame.image, (c.w, c.h), interpolation=cv2.INTER_LINEAR)[cap.region_mask[c.y : c.y + c.h, c.x : c.x + c.w]])


def test_internal_screen_imitates_the_ge_layout_and_is_deterministic():
    frame = render_plane(ToyHead(), coronal_plane(), PRESETS["internal"], rng=np.random.default_rng(0), out_size_hw=(120, 190))
    a = compose_screen(frame, rng=np.random.default_rng(5))
    b = compose_screen(frame, rng=np.random.default_rng(5))
    assert a.image.tobytes() == b.image.tobytes()
    assert a.image.shape == GE_LIKE.size_hw
    assert a.crop.y == GE_LIKE.image_top
    bx, by, bw, bh = GE_LIKE.bar_box
    bar = a.image[by : by + bh, bx + bw // 2]
    assert bar[0] > 200 and bar[-1] < 30  # greyscale bar, white on top


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_roi_step_finds_the_sector_on_composed_screens(name):
    """End to end: neocus.io.roi on a few composed screens recovers the region's bounding box."""
    from neocus.io.roi import detect_roi

    frames = []
    for i in range(4):
        f = render_plane(ToyHead(homogeneous=True), coronal_plane(), PRESETS[name], rng=np.random.default_rng(i), out_size_hw=(150, 220))
        cap = compose_screen(f, rng=np.random.default_rng(0))
        frames.append(cap.image)
    roi = detect_roi(np.stack(frames))
    ys, xs = np.nonzero(cap.region_mask)
    truth = np.zeros(cap.region_mask.shape, bool)
    truth[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    found = np.zeros_like(truth)
    c = roi.crop
    found[c.y : c.y + c.h, c.x : c.x + c.w] = True
    assert (truth & found).sum() / (truth | found).sum() > 0.9
