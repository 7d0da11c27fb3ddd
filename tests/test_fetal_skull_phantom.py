"""Phantom images for skull pretraining: the mid-skull head target against a hand-made label map, the
HC18-like framing, determinism per seed, and the randomised training pair."""

from __future__ import annotations

import numpy as np
import pytest

from neocus.fetal.phantom_anatomy import LABEL_IDS
from neocus.fetal.skull_phantom import HEAD_WIDTH_FRACTION, head_target, phantom_sample, render_skull_pool
from neocus.vocab import FetalStructure


def _ring_labels(shape_hw=(200, 260), centre=(130.0, 100.0), r_in=50.0, r_out=60.0) -> np.ndarray:
    yy, xx = np.mgrid[0:shape_hw[0], 0:shape_hw[1]]
    r = np.hypot(xx - centre[0], yy - centre[1])
    lab = np.full(shape_hw, LABEL_IDS[FetalStructure.AMNIOTIC_FLUID], np.uint8)
    lab[r < r_out] = LABEL_IDS[FetalStructure.SKULL]
    lab[r < r_in] = LABEL_IDS[FetalStructure.BRAIN]
    lab[(np.abs(xx - centre[0]) < 1) & (r < r_in)] = LABEL_IDS[FetalStructure.MIDLINE]
    return lab


def test_head_target_runs_along_the_middle_of_the_skull():
    target = head_target(_ring_labels())
    assert target.sum() == pytest.approx(np.pi * 55.0**2, rel=0.02)  # radius halfway between 50 and 60
    assert target[100, 130] and not target[100, 130 + 58] and target[100, 130 + 52]
    assert not head_target(np.zeros((20, 30), np.uint8)).any()
    cut = _ring_labels(centre=(130.0, 30.0))  # the head cut by the top edge is still filled
    assert head_target(cut)[5, 130]


def test_pool_is_deterministic_framed_like_hc18_and_sampled_standardised():
    a = render_skull_pool(3, seed=4, out_hw=(88, 128), render_hw=(162, 240))
    b = render_skull_pool(3, seed=4, out_hw=(88, 128), render_hw=(162, 240))
    c = render_skull_pool(3, seed=5, out_hw=(88, 128), render_hw=(162, 240))
    assert a.images.shape == (3, 88, 128) and np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)
    for lab in a.labels:
        xs = np.nonzero(head_target(lab))[1]
        assert HEAD_WIDTH_FRACTION[0] - 0.05 <= (xs.max() - xs.min() + 1) / 128 <= HEAD_WIDTH_FRACTION[1] + 0.05
    x, y = phantom_sample(a.images[0], a.labels[0], rng=np.random.default_rng(0))
    assert x.shape == y.shape == (1, 88, 128) and x.dtype == np.float32
    assert abs(float(x.mean())) < 1e-3 and float(x.std()) == pytest.approx(1.0, abs=1e-2)
    assert np.array_equal(y[0] > 0.5, head_target(a.labels[0]))
