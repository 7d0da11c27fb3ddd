"""HC / BPD / OFD centiles of one head: nulls with reasons for missing GA and mismatched calipers."""

from __future__ import annotations

import pytest

from neocus.errors import NeocusError
from neocus.fetal.ellipse import Ellipse, ellipse_mask, measure_head
from neocus.fetal.head_centiles import head_centiles
from neocus.fetal.norms import RangeFlag, value_at_centile


def _head(hc_target_mm: float, *, ring: bool, px: float = 0.2):
    # a circle-ish head (b/a = 0.8) scaled so that its HC is about hc_target_mm
    a = hc_target_mm / px / (3.14159 * 1.8)  # perimeter ~ pi (a + b) for mild eccentricity
    shape = (int(2.4 * a), int(2.4 * a))
    c = (shape[1] / 2, shape[0] / 2)
    outer = ellipse_mask(Ellipse(c, a, 0.8 * a, 0.0, 0.0), shape_hw=shape)
    if ring:
        outer &= ~ellipse_mask(Ellipse(c, a - 10, 0.8 * a - 10, 0.0, 0.0), shape_hw=shape)
    return measure_head(outer, pixel_mm=px)


def test_filled_mask_gives_hc_and_ofd_but_no_bpd():
    hc = value_at_centile(50, measure="hc", ga_weeks=24)
    r = head_centiles(_head(hc, ring=False), ga_weeks=24)
    assert r.hc.flag is RangeFlag.NORMAL and abs(r.hc.centile - 50) < 15
    assert r.ofd is not None
    assert r.bpd is None and "outer-inner" in r.reasons["bpd"] and "skull ring" in r.reasons["bpd"]
    assert r.to_dict()["bpd"] is None


def test_ring_mask_gives_bpd_too():
    m = _head(220.0, ring=True)
    r = head_centiles(m, ga_weeks=24)
    assert r.bpd is not None and r.bpd.value_mm == m.bpd_outer_inner_mm < m.bpd_outer_outer_mm
    assert "bpd" not in r.reasons


def test_no_ga_gives_nulls_with_reason_and_bad_ga_raises():
    r = head_centiles(_head(220.0, ring=True), ga_weeks=None)
    assert r.hc is None and r.bpd is None and r.ofd is None
    assert set(r.reasons) == {"hc", "bpd", "ofd"} and "gestational age" in r.reasons["hc"]
    with pytest.raises(NeocusError, match="gestational age"):
        head_centiles(_head(220.0, ring=True), ga_weeks=43)


def test_ga_beyond_the_norm_is_null_with_reason():
    r = head_centiles(_head(330.0, ring=True), ga_weeks=41)
    assert r.hc.centile is None and "14-40" in r.reasons["hc"]
