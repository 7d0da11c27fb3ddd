"""Recognisability: local contrasts of rendered views (label maps) and of the real stills (ROI boxes).

Thresholds come from the real GE captures measured with the hand-placed boxes of
docs/real_contrast_rois.json (medians over the stills: ventricle -19.6 dB / CNR -2.9, choroid plexus
+5.4 dB / CNR +1.7; see docs/phantom-rendering.md). A normal term subject's ventricles are slit-like,
narrower than those of the (partly abnormal) real exams, so the phantom must reach half the real
ventricle contrast; the choroid plexus must be at least as bright as half the real excess; the
thalamus must not be brighter than the white matter around it.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from neocus.phantom.anatomy import AnatomyParams, NeonatalHead
from neocus.phantom.bmode import render_plane
from neocus.phantom.image_stats import ge_capture_region
from neocus.phantom.presets import get_preset
from neocus.phantom.probe_geometry import ProbeGeometry
from neocus.phantom.recognisability import (
    CONTRASTS,
    frame_contrasts,
    load_real_rois,
    region_contrast,
    roi_contrasts,
    summarise,
)
from neocus.phantom.standard_views import standard_views
from neocus.vocab import View

REPO = Path(__file__).resolve().parents[1]
ROIS = REPO / "docs" / "real_contrast_rois.json"
REAL = REPO.parent / "shared" / "data" / "real" / "ncls-examples"

# medians measured on the real stills (see the module docstring)
REAL_VENTRICLE_DB, REAL_VENTRICLE_CNR = -19.6, -2.9
REAL_CHOROID_DB, REAL_CHOROID_CNR = 5.4, 1.7


def test_region_contrast_sign_and_scale():
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(100, 20, (80, 80)), 0, 255).astype(np.uint8)
    img[30:50, 30:50] = np.clip(rng.normal(10, 5, (20, 20)), 0, 255).astype(np.uint8)
    dark = np.zeros(img.shape, bool)
    dark[32:48, 32:48] = True
    ref = np.zeros(img.shape, bool)
    ref[:20] = True
    c = region_contrast(img, dark, ref)
    assert c is not None
    assert c.contrast_db == pytest.approx(20 * np.log10(11 / 101), abs=1.0)
    assert c.cnr < -3.5
    same = region_contrast(img, ref[::-1].copy(), ref)  # two background regions: no contrast
    assert same is not None and abs(same.cnr) < 0.2 and abs(same.contrast_db) < 0.5
    assert region_contrast(img, np.zeros_like(ref), ref) is None  # empty region


def test_roi_file_is_well_formed():
    rois = load_real_rois(ROIS)
    assert rois and "placed BY EYE" in json.loads(ROIS.read_text())["note"]
    for r in rois:
        assert set(r.boxes) <= set(CONTRASTS)
        for a, b in r.boxes.values():
            for x0, y0, x1, y1 in a + b:
                assert 0 <= x0 < x1 <= 1100 and 0 <= y0 < y1 <= 790


@pytest.mark.real_data
@pytest.mark.skipif(not REAL.is_dir(), reason=f"real captures not found at {REAL}")
def test_real_stills_give_the_documented_contrasts():
    per = []
    for r in load_real_rois(ROIS):
        crop, mask, _ = ge_capture_region(cv2.imread(str(REAL / r.exam / f"{r.still}.png"), cv2.IMREAD_GRAYSCALE))
        for a, b in r.boxes.values():  # every box lies inside the imaging region
            for x0, y0, x1, y1 in a + b:
                assert mask[y0:y1, x0:x1].mean() > 0.95
        per.append(roi_contrasts(crop, r))
    s = summarise(per)
    assert s["ventricle"]["contrast_db"] == pytest.approx(REAL_VENTRICLE_DB, abs=0.2)
    assert s["ventricle"]["cnr"] == pytest.approx(REAL_VENTRICLE_CNR, abs=0.1)
    assert s["choroid"]["contrast_db"] == pytest.approx(REAL_CHOROID_DB, abs=0.2)
    assert s["choroid"]["cnr"] == pytest.approx(REAL_CHOROID_CNR, abs=0.1)


@pytest.fixture(scope="module")
def term_views():
    preset = get_preset("internal")
    head = NeonatalHead(AnatomyParams.typical(40.0))
    views = standard_views(head)
    spacing = 0.3  # mm per pixel (coarser than the captures' 0.115, to keep the test quick)
    x0, x1, d0, d1 = ProbeGeometry.of(preset).bounds()
    size = (round((d1 - d0) / spacing) + 1, round((x1 - x0) / spacing) + 1)
    out = {}
    for k, view in enumerate((View.TVV, View.BV, View.RPSV)):
        out[view] = frame_contrasts(render_plane(head, views[view].plane, preset, rng=np.random.default_rng(k), out_size_hw=size))
    return out


def test_ventricles_stand_out_in_the_third_ventricle_view(term_views):
    c = term_views[View.TVV]["ventricle"]
    assert c.contrast_db < 0.5 * REAL_VENTRICLE_DB
    assert c.cnr < 0.5 * REAL_VENTRICLE_CNR


def test_choroid_plexus_is_bright_and_thalamus_is_not(term_views):
    for view in (View.BV, View.RPSV):
        ch = term_views[view]["choroid"]
        assert ch.contrast_db > 0.5 * REAL_CHOROID_DB and ch.cnr > 0.5 * REAL_CHOROID_CNR
        assert term_views[view]["ventricle"].contrast_db < -3.0
    for view in (View.TVV, View.RPSV):
        assert term_views[view]["thalamus"].contrast_db < 0.0
