"""The coronal views' anatomy of issue #14: skull base (orbits, petrous parts, no black under the
cerebrum), the Sylvian fissure's "T" and the presets' image regions (no pointed sector)."""

from __future__ import annotations

import numpy as np
import pytest

from neocus.phantom import get_preset, new_subject, standard_still
from neocus.phantom.anatomy import AnatomyParams, NeonatalHead
from neocus.phantom.anatomy_skullbase import interocular_distance_mm, ocular_diameter_mm
from neocus.phantom.parts import Part
from neocus.phantom.presets import PRESETS, ProbeKind
from neocus.phantom.tissues import Tissue
from neocus.vocab import View

HW = (150, 200)


@pytest.fixture(scope="module")
def stills():
    """AHV, TVV and BV of two term-ish subjects (internal preset, exact planes)."""
    out = {}
    for seed in (140000, 140001):
        subject = new_subject(seed, population="internal")
        rng = np.random.default_rng(seed)
        for view in (View.AHV, View.TVV, View.BV):
            out[seed, view] = standard_still(subject, view=view, preset=get_preset("internal"), error=None, min_quality=None, out_size_hw=HW, rng=rng)
    return out


def _cols(still, parts):
    return np.nonzero(np.isin(still.frame.part, [int(p) for p in parts]))


def test_orbits_lie_under_the_anterior_horns_on_their_side(stills):
    for seed in (140000, 140001):
        st = stills[seed, View.AHV]
        centre = st.frame.image.shape[1] / 2  # image +x = head +x = the patient's left
        rows_l, cols_l = _cols(st, [Part.ORBIT_LEFT])
        rows_r, cols_r = _cols(st, [Part.ORBIT_RIGHT])
        assert len(cols_l) > 30 and len(cols_r) > 30
        assert np.median(cols_l) > centre > np.median(cols_r)
        # at the bottom of the view, below every lateral ventricle pixel
        vent_rows, _ = np.nonzero((st.frame.tissue == Tissue.CSF) & np.isin(st.frame.part, [int(Part.LV_FRONTAL_LEFT), int(Part.LV_FRONTAL_RIGHT)]))
        assert np.median(rows_l) > vent_rows.max() and np.median(rows_r) > vent_rows.max()
        # a bony rim (bright) and softer contents (the plane cuts the orbits' cones obliquely, so the
        # rim can be most of it)
        orbit = np.isin(st.frame.part, [int(Part.ORBIT_LEFT), int(Part.ORBIT_RIGHT)])
        rim = orbit & (st.frame.tissue == Tissue.SKULL)
        assert rim.sum() > 5 and (orbit & ~rim).sum() > 5
    for seed in (140000, 140001):  # the orbits are anterior: not in the posterior coronal view
        assert not np.isin(stills[seed, View.BV].frame.part, [int(Part.ORBIT_LEFT), int(Part.ORBIT_RIGHT)]).any()


def test_posterior_views_show_a_skull_base_with_petrous_parts_on_their_side(stills):
    for seed in (140000, 140001):
        st = stills[seed, View.BV]
        centre = st.frame.image.shape[1] / 2
        _, cols_l = _cols(st, [Part.PETROUS_LEFT])
        _, cols_r = _cols(st, [Part.PETROUS_RIGHT])
        assert len(cols_l) and len(cols_r)
        assert np.median(cols_l) > centre > np.median(cols_r)
        assert (st.frame.part == Part.SKULL_BASE).any() or len(cols_l) > 50


@pytest.mark.parametrize("view", [View.AHV, View.TVV, View.BV])
def test_no_black_hourglass_under_the_cerebrum(stills, view):
    """Under the brain, within the head's width, the bottom of a coronal view is tissue, not background
    (the old model ended at a thin floor: black below and an hourglass outline in the BV)."""
    for seed in (140000, 140001):
        f = stills[seed, view].frame
        brain = np.isin(f.tissue, [int(Tissue.WHITE_MATTER), int(Tissue.GREY_MATTER)])
        rows, cols = np.nonzero(brain)
        lo, hi = np.percentile(cols, 5), np.percentile(cols, 95)
        bottom = f.mask[-HW[0] // 6 :, int(lo) : int(hi)]
        bg = (f.tissue[-HW[0] // 6 :, int(lo) : int(hi)] == Tissue.BACKGROUND) & bottom
        assert bg.sum() <= 0.05 * max(bottom.sum(), 1)


@pytest.mark.parametrize("ga", [28.0, 40.0])
def test_globe_size_and_spacing_follow_the_norms(ga):
    head = NeonatalHead(AnatomyParams.typical(ga))
    g_l, g_r = head.skull_base.globe[1], head.skull_base.globe[-1]
    # measure on the model: the vitreous along the line through both globe centres
    x = np.linspace(-40, 40, 3201, dtype=np.float32)
    pts = np.stack([x, np.full_like(x, g_l.centre[1]), np.full_like(x, g_l.centre[2])], axis=1)
    s = head.sample(pts)
    vit = (s.tissue == Tissue.CSF) & np.isin(s.part, [int(Part.ORBIT_LEFT), int(Part.ORBIT_RIGHT)])
    step = float(x[1] - x[0])
    left, right = vit & (x > 0), vit & (x < 0)
    od = ocular_diameter_mm(ga)
    for side in (left, right):
        assert side.sum() * step == pytest.approx(od, rel=0.1)
    inner = float(x[left].min() - x[right].max())
    assert inner == pytest.approx(interocular_distance_mm(ga), rel=0.1)
    assert g_l.centre[0] > 0 > g_r.centre[0]
    assert 8.0 < od < 18.0 and ocular_diameter_mm(40.0) > ocular_diameter_mm(28.0)


def test_sylvian_fissure_is_an_echogenic_t_on_both_sides(stills):
    """At term the fissure (part SYLVIAN_*) runs in from the convexity and ends on the insula, whose
    echogenic pial line runs up and down from its medial end (the "T" of a real coronal view)."""
    for seed in (140000, 140001):
        f = stills[seed, View.TVV].frame
        centre = f.image.shape[1] / 2
        mm_row = f.pixel_spacing_mm[0]
        for part, sign in ((Part.SYLVIAN_FISSURE_LEFT, 1), (Part.SYLVIAN_FISSURE_RIGHT, -1)):
            rows, cols = np.nonzero(f.part == part)
            assert len(rows) > 5
            assert np.all(np.sign(cols - centre) == sign)
            end = cols[np.argmin(np.abs(cols - centre))]  # the fissure's medial end
            r0 = int(np.median(rows))
            span = int(12 / mm_row)
            lo_c, hi_c = sorted((end, end - sign * 3))
            win = f.tissue[max(r0 - span, 0) : r0 + span, lo_c : hi_c + 1] == Tissue.SULCUS
            lit = np.flatnonzero(win.any(axis=1))
            assert len(lit) and (lit.max() - lit.min()) * mm_row > 3.0


def test_no_preset_has_a_pointed_sector():
    for p in PRESETS.values():
        assert p.probe_kind is not ProbeKind.SECTOR, p.name
    for name in ("external", "blind"):
        mask = standard_still(new_subject(3, population="internal"), view=View.TVV, preset=get_preset(name), out_size_hw=(96, 128), rng=np.random.default_rng(3)).frame.mask
        rows = np.flatnonzero(mask.any(axis=1))
        near_top = mask[rows[0] + int(0.08 * len(rows))].sum()
        # a face, not a point: 8 % down, the region is over a quarter of its widest (a pointed
        # 75-90 degree sector: about a tenth)
        assert near_top > 0.25 * mask.sum(axis=1).max(), name
