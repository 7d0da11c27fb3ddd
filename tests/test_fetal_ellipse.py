"""Skull ellipse fit and HC / BPD / OFD against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ellipe

from neocus.errors import NeocusError
from neocus.fetal.ellipse import Ellipse, ellipse_mask, fit_skull_ellipses, measure_head, ramanujan_perimeter


def _exact_perimeter(a: float, b: float) -> float:
    return 4.0 * a * float(ellipe(1.0 - (b / a) ** 2))  # complete elliptic integral of the 2nd kind


def test_ramanujan_matches_circle_and_elliptic_integral():
    assert ramanujan_perimeter(10.0, 10.0) == pytest.approx(2 * math.pi * 10.0, rel=1e-12)
    assert ramanujan_perimeter(2.0, 1.0) == pytest.approx(9.688448220547675, rel=1e-9)  # 4 a E(3/4)
    for a, b in [(100.0, 80.0), (100.0, 60.0), (50.0, 45.0)]:  # head-like eccentricities
        assert ramanujan_perimeter(a, b) == pytest.approx(_exact_perimeter(a, b), rel=1e-9)
    assert ramanujan_perimeter(a=0.0, b=0.0) == 0.0


@pytest.mark.parametrize("angle", [0.0, 30.0, -60.0, 89.0])
def test_fit_recovers_a_drawn_ellipse(angle):
    truth = Ellipse((400.3, 270.6), 200.0, 150.0, angle, 0.0)
    fit = fit_skull_ellipses(ellipse_mask(truth, shape_hw=(540, 800))).outer
    assert fit.center_xy == pytest.approx(truth.center_xy, abs=0.15)
    assert fit.semi_major_px == pytest.approx(200.0, abs=0.25)
    assert fit.semi_minor_px == pytest.approx(150.0, abs=0.25)
    assert (fit.angle_deg - angle + 90) % 180 - 90 == pytest.approx(0.0, abs=0.5)
    assert fit.fit_rms_px < 0.5


def test_measure_head_in_mm_filled_mask():
    a, b, px = 200.0, 150.0, 0.1
    mask = ellipse_mask(Ellipse((400.0, 270.0), a, b, 10.0, 0.0), shape_hw=(540, 800))
    m = measure_head(mask, pixel_mm=px)
    assert m.hc_mm == pytest.approx(_exact_perimeter(a, b) * px, abs=0.2)  # 110.5 mm
    assert m.ofd_mm == pytest.approx(2 * a * px, abs=0.05)
    assert m.bpd_outer_outer_mm == pytest.approx(2 * b * px, abs=0.05)
    assert m.bpd_outer_inner_mm is None and "inner skull border" in m.bpd_outer_inner_reason
    assert m.cephalic_index == pytest.approx(0.75, abs=0.002)


def test_ring_mask_gives_outer_inner_bpd():
    outer = ellipse_mask(Ellipse((300.0, 250.0), 200.0, 150.0, 0.0, 0.0), shape_hw=(500, 600))
    inner = ellipse_mask(Ellipse((300.0, 250.0), 190.0, 140.0, 0.0, 0.0), shape_hw=(500, 600))
    m = measure_head(outer & ~inner, pixel_mm=0.2)
    assert m.ellipses.inner is not None
    # outer-inner = outer semi-minor + inner semi-minor = 150 + 140 px; the hole's contour runs on the
    # pixels just inside the ring, so allow a pixel
    assert m.bpd_outer_inner_mm == pytest.approx((150 + 140) * 0.2, abs=0.25)
    assert m.bpd_outer_outer_mm == pytest.approx(300 * 0.2, abs=0.1)


def test_skull_cut_by_image_edge_is_fitted_from_what_is_seen():
    truth = Ellipse((300.0, 200.0), 200.0, 150.0, 0.0, 0.0)
    mask = ellipse_mask(truth, shape_hw=(400, 460))  # right end of the head is outside the image
    fit = fit_skull_ellipses(mask).outer
    assert fit.semi_major_px == pytest.approx(200.0, abs=1.0)
    assert fit.center_xy[0] == pytest.approx(300.0, abs=1.0)


def test_rgb_annotation_is_read_as_a_mask():
    mask = ellipse_mask(Ellipse((100.0, 80.0), 60.0, 40.0, 0.0, 0.0), shape_hw=(160, 200))
    rgb = np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=2)
    assert measure_head(rgb, pixel_mm=1.0).ofd_mm == pytest.approx(120.0, abs=0.5)


@pytest.mark.parametrize("pixel_mm", [None, 0.0, -0.1, float("nan"), 50.0])
def test_bad_pixel_spacing_is_a_user_error(pixel_mm):
    mask = ellipse_mask(Ellipse((100.0, 80.0), 60.0, 40.0, 0.0, 0.0), shape_hw=(160, 200))
    with pytest.raises(NeocusError, match="pixel"):
        measure_head(mask, pixel_mm=pixel_mm)


def test_empty_or_tiny_mask_is_no_head():
    with pytest.raises(NeocusError, match="empty"):
        measure_head(np.zeros((50, 50), np.uint8), pixel_mm=0.1)
    tiny = np.zeros((50, 50), np.uint8)
    tiny[20:22, 20:22] = 1
    with pytest.raises(NeocusError, match="too small"):
        measure_head(tiny, pixel_mm=0.1)
    with pytest.raises(NeocusError, match="2-D"):
        measure_head(np.zeros((2, 5, 5, 5)), pixel_mm=0.1)


def _soft_ellipse(e: Ellipse, shape_hw: tuple[int, int]) -> np.ndarray:
    """A smooth 'probability' whose 0.5 iso-line is exactly the ellipse ``e``."""
    yy, xx = np.mgrid[0:shape_hw[0], 0:shape_hw[1]].astype(np.float64)
    t = math.radians(e.angle_deg)
    dx, dy = xx - e.center_xy[0], yy - e.center_xy[1]
    u, v = dx * math.cos(t) + dy * math.sin(t), -dx * math.sin(t) + dy * math.cos(t)
    r = np.sqrt((u / e.semi_major_px) ** 2 + (v / e.semi_minor_px) ** 2)
    return 1.0 / (1.0 + np.exp((r - 1.0) * 60.0))


@pytest.mark.parametrize("angle", [0.0, 25.0, -70.0])
def test_iso_contour_fit_is_sub_pixel(angle):
    from neocus.fetal.ellipse import fit_iso_contour

    truth = Ellipse((400.3, 270.6), 200.4, 150.7, angle, 0.0)
    fit = fit_iso_contour(_soft_ellipse(truth, (540, 800)))
    assert fit.center_xy == pytest.approx(truth.center_xy, abs=0.03)
    assert fit.semi_major_px == pytest.approx(200.4, abs=0.05)
    assert fit.semi_minor_px == pytest.approx(150.7, abs=0.05)
    assert (fit.angle_deg - angle + 90) % 180 - 90 == pytest.approx(0.0, abs=0.1)


def test_iso_contour_of_a_mask_runs_half_a_pixel_outside_the_pixel_centres():
    from neocus.fetal.ellipse import fit_iso_contour

    mask = ellipse_mask(Ellipse((300.0, 250.0), 180.0, 120.0, 15.0, 0.0), shape_hw=(500, 640))
    centres = fit_skull_ellipses(mask).outer
    iso = fit_iso_contour(mask.astype(np.float32))
    assert iso.semi_major_px - centres.semi_major_px == pytest.approx(0.5, abs=0.1)
    assert iso.semi_minor_px - centres.semi_minor_px == pytest.approx(0.5, abs=0.1)
    region = np.zeros_like(mask)
    region[:, :50] = True  # a region far from the head: no line there
    with pytest.raises(NeocusError, match="no head region"):
        fit_iso_contour(mask.astype(np.float32), region=region)
    with pytest.raises(NeocusError, match="no head region"):
        fit_iso_contour(np.zeros((50, 60)))


def test_edge_offset_and_measurement_shrunk_by_it():
    from neocus.fetal.ellipse import edge_offset_px, measure_ellipses, offset_ellipse
    from neocus.fetal.ellipse import SkullEllipses

    fitted = Ellipse((100.0, 80.0), 100.0, 80.0, 0.0, 0.0)
    assert edge_offset_px(fitted, perimeter_px=ramanujan_perimeter(97.0, 77.0)) == pytest.approx(3.0, abs=1e-9)
    assert edge_offset_px(fitted, perimeter_px=ramanujan_perimeter(101.5, 81.5)) == pytest.approx(-1.5, abs=1e-9)
    m = measure_ellipses(SkullEllipses(outer=fitted, inner=None), pixel_mm=0.2, edge_offset_px=2.0)
    assert m.hc_mm == pytest.approx(ramanujan_perimeter(98.0, 78.0) * 0.2, rel=1e-12)
    assert m.ofd_mm == pytest.approx(2 * 98.0 * 0.2) and m.bpd_outer_outer_mm == pytest.approx(2 * 78.0 * 0.2)
    assert m.cephalic_index == pytest.approx(78.0 / 98.0) and m.ellipses.outer == fitted and m.edge_offset_px == 2.0
    assert offset_ellipse(fitted, by_px=1.0).semi_minor_px == 81.0
    with pytest.raises(NeocusError, match="leaves no ellipse"):
        offset_ellipse(fitted, by_px=-80.0)
