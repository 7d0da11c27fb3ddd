"""The internal preset still looks like the real GE captures (grey levels, speckle size).

Reads ../shared/data/real/ncls-examples (skipped when absent). Both sides are measured by the same
code at the same pixel spacing (half the captures' resolution, to keep the test quick).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from neocus.phantom.anatomy import AnatomyParams, NeonatalHead
from neocus.phantom.bmode import render_plane
from neocus.phantom.image_stats import ge_capture_region, grey_histogram, look_stats
from neocus.phantom.presets import get_preset
from neocus.phantom.probe_geometry import ProbeGeometry
from neocus.phantom.standard_views import standard_views
from neocus.vocab import View

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "ncls-examples" / "20221224035"

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(not (REAL / "COR2.png").exists(), reason=f"real captures not found at {REAL}"),
]


def _stats(img: np.ndarray, mask: np.ndarray, s: float):
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return look_stats(img, inner, (s, s)), grey_histogram(img, inner)


def test_internal_preset_matches_the_real_captures():
    real, phantom = [], []
    spacing = None
    for name in ("COR2", "SAG1"):
        crop, mask, s = ge_capture_region(cv2.imread(str(REAL / f"{name}.png"), cv2.IMREAD_GRAYSCALE))
        half = (crop.shape[1] // 2, crop.shape[0] // 2)
        img = cv2.resize(crop, half, interpolation=cv2.INTER_AREA)
        m = cv2.resize(mask.astype(np.uint8), half, interpolation=cv2.INTER_NEAREST).astype(bool)
        spacing = 2 * s
        real.append(_stats(img, m, spacing))
    preset = get_preset("internal")
    head = NeonatalHead(AnatomyParams.typical(39.0))
    views = standard_views(head)
    x0, x1, d0, d1 = ProbeGeometry.of(preset).bounds()
    size = (round((d1 - d0) / spacing) + 1, round((x1 - x0) / spacing) + 1)
    for view in (View.TVV, View.MSV):
        f = render_plane(head, views[view].plane, preset, rng=np.random.default_rng(0), out_size_hw=size)
        phantom.append(_stats(f.image, f.mask, f.pixel_spacing_mm[0]))

    def mean(items, key):
        return float(np.mean([getattr(st, key) for st, _ in items]))

    assert mean(phantom, "p50") == pytest.approx(mean(real, "p50"), abs=25)
    assert mean(phantom, "mean") == pytest.approx(mean(real, "mean"), abs=20)
    for key in ("speckle_axial_mm", "speckle_lateral_mm"):
        assert mean(phantom, key) == pytest.approx(mean(real, key), rel=0.5)
    h_real = np.mean([h for _, h in real], axis=0)
    h_ph = np.mean([h for _, h in phantom], axis=0)
    emd = float(np.abs(np.cumsum(h_real - h_ph)).sum() * 256 / len(h_real))
    assert emd < 15
