"""B-mode renderer: determinism, geometry, and the physics that a reader would notice."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _bmode_toy_head import ToyHead, coronal_plane

from neocus.errors import NeocusError
from neocus.phantom.bmode import RenderedFrame, output_grid, pixel_to_head, render_plane
from neocus.phantom.image_stats import depth_profile, speckle_fwhm_mm
from neocus.phantom.presets import PRESETS, ProbeKind, get_preset
from neocus.phantom.probe_geometry import ProbeGeometry
from neocus.phantom.tissues import Tissue

SIZE = (160, 200)


def _render(model=None, preset="internal", seed=0, size=SIZE, **updates) -> RenderedFrame:
    p = get_preset(preset)
    if updates:
        p = p.model_copy(update=updates)
    return render_plane(model or ToyHead(), coronal_plane(), p, rng=np.random.default_rng(seed), out_size_hw=size)


def test_same_seed_same_bytes_other_seed_differs():
    a = _render(seed=3)
    b = _render(seed=3)
    c = _render(seed=4)
    assert a.image.tobytes() == b.image.tobytes()
    assert not np.array_equal(a.image, c.image)
    # the labels do not depend on the seed
    assert np.array_equal(a.part, c.part) and np.array_equal(a.tissue, c.tissue)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_renders_uint8_frames_with_labels_inside_the_region(name):
    f = _render(preset=name)
    assert f.image.dtype == np.uint8 and f.image.shape == SIZE
    for lab in (f.part, f.lesion, f.tissue):
        assert lab.dtype == np.uint8 and lab.shape == SIZE
        assert not lab[~f.mask].any()
    assert not f.image[~f.mask].any()
    assert f.image[f.mask].mean() > 10  # something is shown
    assert f.mask.mean() > 0.3
    sy, sx = f.pixel_spacing_mm
    assert sy == pytest.approx(sx)  # "contain": square pixels


def _region_area_mm2(g: ProbeGeometry, n: int = 1500) -> float:
    x0, x1, d0, d1 = g.bounds()
    xx, dd = np.meshgrid(np.linspace(x0, x1, n), np.linspace(d0, d1, n))
    return float(g.contains(xx, dd).mean() * (x1 - x0) * (d1 - d0))


@pytest.mark.parametrize("name", list(PRESETS))
def test_region_mask_matches_the_probe_geometry(name):
    p = get_preset(name)
    grid = output_grid(p, out_size_hw=SIZE)
    g = ProbeGeometry.of(p)
    sy, sx = grid.spacing_mm
    # area of the mask = analytic area of the region (to within the pixel edge band)
    mask_area = grid.mask.sum() * sy * sx
    assert mask_area == pytest.approx(_region_area_mm2(g), rel=0.04)
    # the region fills the frame's width or height and touches the top row
    rows, cols = np.nonzero(grid.mask)
    assert rows.min() <= 1  # (a sector apex is a single point, between pixel centres)
    assert cols.max() - cols.min() >= SIZE[1] - 3 or rows.max() >= SIZE[0] - 3
    # the kind's shape: the image widens with depth except for a linear probe
    top_w = grid.mask[2].sum() * sx
    mid_w = grid.mask[SIZE[0] // 2].sum() * sx
    if p.probe_kind is ProbeKind.LINEAR:
        assert mid_w == pytest.approx(top_w, abs=2 * sx)
    else:
        assert mid_w > top_w + 5
    if p.probe_kind is ProbeKind.TRAPEZOID:  # a flat face as wide as the footprint
        expected = p.footprint_mm + 2 * grid.d_mm[2, 0] * math.tan(math.radians(p.angle_deg / 2))
        assert top_w == pytest.approx(expected, abs=2.5 * sx)
        half = math.degrees(math.atan((mid_w - top_w) / 2 / (SIZE[0] // 2 * sy - 2 * sy)))
        assert half == pytest.approx(p.angle_deg / 2, abs=2.0)
    if p.probe_kind is ProbeKind.SECTOR:
        assert top_w <= 4 * sx  # beams fan out from one point


def test_labels_are_sampled_at_exactly_the_pixels_of_the_image():
    model = ToyHead()
    f = _render(model)
    rng = np.random.default_rng(0)
    rows, cols = np.nonzero(f.mask)
    pick = rng.choice(len(rows), 300, replace=False)
    pts = f.pixel_to_head(cols[pick], rows[pick])
    ts = model.sample(pts)
    assert np.array_equal(ts.tissue, f.tissue[rows[pick], cols[pick]])
    assert np.array_equal(ts.part, f.part[rows[pick], cols[pick]])
    # the module-level function agrees with the frame's method; pixel (centre col, row 0) is the probe face
    same = pixel_to_head(f.plane, f.preset, cols[pick], rows[pick], out_size_hw=SIZE)
    assert np.allclose(same, pts)
    centre = f.pixel_to_head((SIZE[1] - 1) / 2, 0)
    assert np.allclose(centre, f.plane.apex, atol=1e-6)


def _homogeneous_profile(**updates) -> tuple[np.ndarray, np.ndarray]:
    f = _render(ToyHead(homogeneous=True), size=(200, 260), reverb_strength=0.0, **updates)
    d, m = depth_profile(f.image, f.mask, f.pixel_spacing_mm, bin_mm=10.0)
    keep = (d > 10) & (d < 80)
    return d[keep], m[keep]


def test_deeper_tissue_is_darker_without_tgc_and_flat_with_matching_tgc():
    flat_tgc = (0.0,) * 8
    # at 5 MHz the uncompensated echo stays above the display floor over the whole 10-80 mm range
    d, raw = _homogeneous_profile(tgc_db=flat_tgc, tgc_db_per_cm=0.0, gain_db=25.0, frequency_mhz=5.0)
    assert np.all(np.diff(raw) < 0)
    assert raw[-1] < 0.5 * raw[0]
    # TGC that compensates the round trip through white matter (2 * alpha * f dB/cm)
    comp = 2 * 0.7 * 5.0
    _, tgc = _homogeneous_profile(tgc_db=flat_tgc, tgc_db_per_cm=comp, frequency_mhz=5.0)
    slope_raw = np.polyfit(d, raw, 1)[0]
    slope_tgc = np.polyfit(d, tgc, 1)[0]
    assert abs(slope_tgc) < 0.25 * abs(slope_raw)
    assert tgc.max() - tgc.min() < 0.25 * tgc.mean()


def test_higher_frequency_gives_finer_speckle():
    sizes = {}
    for f_mhz in (3.0, 9.0):
        # a shallow, narrow image so that pixels (0.12 mm) resolve the speckle at both frequencies
        f = _render(
            ToyHead(homogeneous=True), size=(320, 480), frequency_mhz=f_mhz, reverb_strength=0.0, speckle_smoothing=0.0,
            tissue_texture_db=0.0, focus_mm=20.0, depth_mm=40.0, angle_deg=20.0,
        )
        sy, _ = f.pixel_spacing_mm
        r0 = int(12 / sy)
        patch = f.image[r0 : r0 + 120, 150:330]
        sizes[f_mhz] = speckle_fwhm_mm(patch, np.ones(patch.shape, bool), f.pixel_spacing_mm, highpass_mm=1.0)
    (ax3, lat3), (ax9, lat9) = sizes[3.0], sizes[9.0]
    assert ax9 < 0.6 * ax3
    assert lat9 < 0.6 * lat3


def test_csf_is_darker_than_parenchyma_at_the_same_depth():
    f = _render(size=(240, 300))
    csf = f.tissue == Tissue.CSF
    rows = np.nonzero(csf.any(axis=1))[0]
    band = np.zeros_like(csf)
    band[rows.min() : rows.max() + 1] = True
    wm = band & (f.tissue == Tissue.WHITE_MATTER) & (np.abs(f.grid.x_mm) < 20)  # under the fontanelle
    assert csf.sum() > 50 and wm.sum() > 200
    assert f.image[csf].mean() < 0.5 * f.image[wm].mean()


def test_skull_shadows_what_lies_beyond_the_bone():
    # a bone plate under the +x half of the image, 20 mm deep, in otherwise homogeneous tissue
    f = _render(ToyHead(homogeneous=True, bone_plate=True), size=(200, 260), reverb_strength=0.0)
    pts_x = f.grid.x_mm
    depth = f.grid.d_mm
    beyond = f.mask & (depth > 28) & (depth < 60)
    shadow = beyond & (pts_x > 12)
    clear = beyond & (pts_x < -12)
    assert shadow.sum() > 100 and clear.sum() > 100
    assert f.image[shadow].mean() < 0.4 * f.image[clear].mean()
    # and the bone itself is bright
    plate = f.tissue == Tissue.SKULL
    assert f.image[plate].mean() > 1.5 * f.image[clear].mean()


def test_fontanelle_window_lets_sound_through_the_skull():
    # the probe on the vertex of a head with a skull: the brain under the fontanelle is brighter than
    # the brain under the bone at the same depth
    wide = _render(ToyHead(fontanelle_mm=40.0), size=(200, 260))
    narrow = _render(ToyHead(fontanelle_mm=6.0), size=(200, 260))
    band = wide.mask & (wide.grid.d_mm > 25) & (wide.grid.d_mm < 45) & (np.abs(wide.grid.x_mm) < 12) & (wide.tissue == Tissue.WHITE_MATTER)
    assert band.sum() > 100
    assert narrow.image[band].mean() < 0.75 * wide.image[band].mean()


def _corr(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> float:
    return float(np.corrcoef(a[m].astype(float), b[m].astype(float))[0, 1])


def _speckle_corr(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> float:
    """Correlation of the speckle: each image minus its mean brightness at that depth (row) inside ``m``
    (the depth profile from attenuation and TGC is shared by any two frames of one plane geometry)."""

    def resid(img: np.ndarray) -> np.ndarray:
        x = np.where(m, img.astype(float), 0.0)
        mean = x.sum(1, keepdims=True) / np.maximum(m.sum(1, keepdims=True), 1)
        return (x - mean)[m]

    return float(np.corrcoef(resid(a), resid(b))[0, 1])


def test_frozen_scatterers_keep_speckle_with_the_tissue():
    model = ToyHead(homogeneous=True)
    p = get_preset("internal")

    def frame(seed: int, y: float = 0.0, speckle_seed: int | None = 11) -> RenderedFrame:
        return render_plane(model, coronal_plane(y), p, rng=np.random.default_rng(seed), out_size_hw=SIZE, speckle_seed=speckle_seed)

    a = frame(0)
    m = a.mask & (a.grid.d_mm > 15) & (a.grid.d_mm < 60)
    # same plane, other frame generator: only the electronic noise differs
    assert _corr(a.image, frame(1).image, m) > 0.97
    # a plane 0.02 mm away shares most scatterers; 3 mm away shares none
    assert _corr(a.image, frame(1, y=0.02).image, m) > 0.8
    assert abs(_speckle_corr(a.image, frame(1, y=3.0).image, m)) < 0.2
    # per-frame speckle (no seed) is independent between frames, and the statistics agree
    b, c = frame(0, speckle_seed=None), frame(1, speckle_seed=None)
    assert abs(_corr(b.image, c.image, m)) < 0.3
    assert a.image[m].mean() == pytest.approx(b.image[m].mean(), rel=0.1)
    assert a.image[m].std() == pytest.approx(b.image[m].std(), rel=0.15)


def test_slice_thickness_fills_in_a_structure_that_ends_near_the_plane():
    # the toy ventricles end at y = +-25 mm; a plane at y = 24 cuts only their tips
    p = get_preset("internal")
    thin = render_plane(ToyHead(), coronal_plane(24.0), p.model_copy(update={"elevation_fwhm_mm": 0.0}), rng=np.random.default_rng(0), out_size_hw=SIZE)
    thick = render_plane(ToyHead(), coronal_plane(24.0), p.model_copy(update={"elevation_fwhm_mm": 3.0}), rng=np.random.default_rng(0), out_size_hw=SIZE)
    csf = thin.tissue == Tissue.CSF
    assert csf.sum() > 10 and np.array_equal(csf, thick.tissue == Tissue.CSF)  # labels: the plane itself
    assert thick.image[csf].mean() > 1.5 * thin.image[csf].mean()


def test_an_unknown_fit_is_a_user_error_naming_the_choices():
    with pytest.raises(NeocusError, match="contain, stretch"):
        output_grid(get_preset("internal"), out_size_hw=(64, 64), fit="zoom")


def test_stretch_fit_fills_the_frame_and_reports_its_spacing():
    p = get_preset("internal")
    f = render_plane(ToyHead(), coronal_plane(), p, rng=np.random.default_rng(0), out_size_hw=(128, 128), fit="stretch")
    sy, sx = f.pixel_spacing_mm
    x0, x1, d0, d1 = ProbeGeometry.of(p).bounds()
    assert sx == pytest.approx((x1 - x0) / 127) and sy == pytest.approx((d1 - d0) / 127)
    rows, cols = np.nonzero(f.mask)
    assert rows.min() == 0 and rows.max() >= 126 and cols.min() <= 1 and cols.max() >= 126
    # corner pixels map to the corners of the region's bounding box
    assert np.allclose(f.pixel_to_head(127, 127), f.plane.points(x1, d1))
