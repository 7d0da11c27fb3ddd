"""Ultrasound ROI: synthetic screens with known geometry, the real GE captures, pydicom's ultrasound files."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from io_testdata import dicom_test_file, ncls_file

from neocus.io import CropRecord, Sweep, SweepMeta, load_sweep
from neocus.io.overlay import draw_roi, representative_frame
from neocus.errors import NeocusError
from neocus.io.roi import (
    Roi,
    RoiMethod,
    RoiShape,
    UltrasoundRegion,
    apply_roi,
    choose_region,
    classify_shape,
    crop_to_imaging_region,
    detect_roi,
    detect_sweep_roi,
    fit_side_line,
)

# ----------------------------------------------------------------------------------------------------
# Synthetic screens: an imaging region filled with speckle, burned-in text, a greyscale bar, a depth scale.

H, W = 360, 560
TRAPEZOID = np.array([[200, 40], [360, 40], [480, 320], [80, 320]])  # (x, y), clockwise from top-left
RECTANGLE = np.array([[110, 50], [450, 50], [450, 310], [110, 310]])


def _fan(apex: tuple[int, int], r0: float, r1: float, half_angle_deg: float) -> np.ndarray:
    """Polygon of a fan: radii r0..r1 around ``apex`` within +-half_angle of straight down."""
    a = np.deg2rad(np.linspace(-half_angle_deg, half_angle_deg, 61))
    outer = np.stack([apex[0] + r1 * np.sin(a), apex[1] + r1 * np.cos(a)], 1)
    inner = np.stack([apex[0] + r0 * np.sin(a[::-1]), apex[1] + r0 * np.cos(a[::-1])], 1)
    return np.concatenate([outer, inner]).round().astype(np.int32)


PHASED = _fan((280, 30), 0, 300, 40)  # apex at the top: a phased-array sector
CONVEX = _fan((280, -60), 110, 370, 35)  # curved top: a convex probe


def region_mask(polygon: np.ndarray) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    cv2.fillPoly(m, [polygon.reshape(-1, 1, 2).astype(np.int32)], 1)
    return m.astype(bool)


def screen(polygon: np.ndarray, n_frames: int, seed: int = 0) -> tuple[np.ndarray, dict[str, tuple[int, int, int, int]]]:
    """Frames ``[T, H, W]`` of a scanner screen, and the boxes (x0, y0, x1, y1) of its overlays."""
    rng = np.random.default_rng(seed)
    inside = region_mask(polygon)
    frames = np.zeros((n_frames, H, W), np.uint8)
    depth = np.linspace(1.0, 0.5, H)[:, None]  # attenuation with depth
    for t in range(n_frames):
        speckle = rng.rayleigh(1.0, (H, W)) * 70 * depth + 15
        speckle = cv2.GaussianBlur(speckle.astype(np.float32), (3, 3), 0)
        frame = np.where(inside, np.clip(speckle, 0, 255), 0).astype(np.uint8)
        frames[t] = frame
    boxes = {}
    for t in range(n_frames):
        f = frames[t]
        cv2.putText(f, "23/01/04 13:31:12 ADM", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 230, 1, cv2.LINE_AA)
        cv2.putText(f, "9L Renal MI 1.3", (420, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 230, 1, cv2.LINE_AA)
        f[120:250, 10:30] = np.linspace(255, 0, 130, dtype=np.float32)[:, None].astype(np.uint8)  # greyscale bar
        for y in range(40, 330, 30):  # depth scale ticks
            f[y : y + 2, 528:538] = 200
        cv2.putText(f, "5", (540, 195), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 220, 1, cv2.LINE_AA)
    boxes["text_top"] = (0, 0, 560, 20)
    boxes["bar"] = (10, 120, 30, 250)
    boxes["scale"] = (526, 40, 560, 330)
    return frames, boxes


def put_label(frames: np.ndarray, text: str, org: tuple[int, int]) -> np.ndarray:
    """Burn a label into every frame; returns the mask of its pixels."""
    label = np.zeros((H, W), np.uint8)
    cv2.putText(label, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
    on = label > 100
    frames[:, on] = 220
    return on


def box_of(polygon: np.ndarray) -> tuple[int, int, int, int]:
    x, y, w, h = cv2.boundingRect(polygon.reshape(-1, 1, 2).astype(np.int32))
    return x, y, w, h


def assert_box_close(roi_box: dict[str, int], expected: tuple[int, int, int, int], tol: int) -> None:
    x, y, w, h = expected
    got = (roi_box["x"], roi_box["y"], roi_box["x"] + roi_box["w"], roi_box["y"] + roi_box["h"])
    want = (x, y, x + w, y + h)
    assert np.abs(np.subtract(got, want)).max() <= tol, f"ROI {got} vs truth {want}"


def assert_outside(roi, box: tuple[int, int, int, int]) -> None:
    """No pixel of ``box`` (x0, y0, x1, y1) is an imaging pixel of ``roi``."""
    full = roi.source_mask()
    x0, y0, x1, y1 = box
    assert not full[y0:y1, x0:x1].any(), f"imaging mask reaches into {box}"


# ----------------------------------------------------------------------------------------------------
# Synthetic screens


@pytest.fixture(scope="module")
def trapezoid_sweep():
    frames, boxes = screen(TRAPEZOID, 12)
    logo = put_label(frames, "LOGIQ", (95, 62))  # inside the bounding rectangle, outside the sector
    edge = put_label(frames, "E8", (140, 152))  # drawn across the sector's left edge
    return frames, boxes, logo, edge


def test_sweep_roi_matches_the_drawn_trapezoid(trapezoid_sweep):
    frames, boxes, logo, edge = trapezoid_sweep
    roi = detect_roi(frames)
    assert roi.method is RoiMethod.TEMPORAL
    assert roi.shape is RoiShape.TRAPEZOID
    assert_box_close(roi.box(), box_of(TRAPEZOID), tol=3)
    for box in boxes.values():
        assert_outside(roi, box)
    full = roi.source_mask()
    truth = region_mask(TRAPEZOID)
    assert (full & truth).sum() >= 0.97 * truth.sum()  # nearly all of the sector is kept (labels excepted)
    assert (full & ~truth).sum() <= 0.02 * truth.sum()  # and hardly anything else
    assert not full[logo].any(), "a label inside the crop but outside the sector is not imaging"
    assert not full[edge].any(), "a label drawn over the sector's edge is blanked"
    assert roi.confidence > 0.8


def test_still_roi_matches_the_drawn_trapezoid(trapezoid_sweep):
    frames, boxes, logo, _ = trapezoid_sweep
    roi = detect_roi(frames[3])  # one [H, W] frame
    assert roi.method is RoiMethod.STILL
    assert roi.shape is RoiShape.TRAPEZOID
    assert_box_close(roi.box(), box_of(TRAPEZOID), tol=4)
    for box in boxes.values():
        assert_outside(roi, box)
    full = roi.source_mask()
    assert not full[logo].any()


@pytest.mark.parametrize(
    ("polygon", "shape"),
    [(PHASED, RoiShape.SECTOR), (CONVEX, RoiShape.SECTOR), (RECTANGLE, RoiShape.RECTANGLE), (TRAPEZOID, RoiShape.TRAPEZOID)],
    ids=["phased", "convex", "linear", "trapezoid"],
)
@pytest.mark.parametrize("n_frames", [1, 8], ids=["still", "sweep"])
def test_shapes_and_boxes(polygon, shape, n_frames):
    frames, boxes = screen(polygon, n_frames, seed=n_frames)
    roi = detect_roi(frames)
    assert roi.shape is shape
    assert_box_close(roi.box(), box_of(polygon), tol=4)
    for box in boxes.values():
        assert_outside(roi, box)



def dark_edged_still(polygon: np.ndarray, seed: int = 5) -> tuple[np.ndarray, dict[str, tuple[int, int, int, int]]]:
    """A still whose field echoes only near the probe face and in a central blob reaching the far end.

    The rest of the field -- the side edges below the near field -- is as dark as the screen, as in a
    real still of a head whose edges give no echo.
    """
    frames, boxes = screen(polygon, 1, seed=seed)
    truth = region_mask(polygon)
    ys, xs = np.nonzero(truth)
    top, bottom = ys.min(), ys.max()
    echo = np.zeros((H, W), np.uint8)
    echo[: top + round(0.3 * (bottom - top))] = 1  # the near field echoes across the whole width
    cx, cy = int(xs.mean()), (top + bottom) // 2
    cv2.ellipse(echo, (cx, cy), (int(0.22 * np.ptp(xs)), (bottom - top) // 2 + 2), 0, 0, 360, 1, -1)
    frames[0][truth & (echo == 0)] = 0
    return frames[0], boxes


def _virtual_convex(apex: tuple[int, int], top: int, radius: float, half_angle_deg: float) -> np.ndarray:
    """A linear probe's steered field: flat top at row ``top``, straight sides from a virtual ``apex``
    above it, far end the arc of ``radius`` about the apex (the GE LOGIQ 9L trapezoid)."""
    t = np.tan(np.deg2rad(half_angle_deg)) * (top - apex[1])
    a = np.deg2rad(np.linspace(half_angle_deg, -half_angle_deg, 41))
    arc = np.stack([apex[0] + radius * np.sin(a), apex[1] + radius * np.cos(a)], 1)
    return np.concatenate([[[apex[0] - t, top], [apex[0] + t, top]], arc]).round().astype(np.int32)


VIRTUAL_CONVEX = _virtual_convex((280, -150), 40, 470, 25)


@pytest.mark.parametrize(
    ("polygon", "tol", "kept"),
    [(VIRTUAL_CONVEX, 6, 0.95), (PHASED, 6, 0.95), (CONVEX, 6, 0.95), (RECTANGLE, 6, 0.95),
     (TRAPEZOID, 20, 0.9)],  # a flat far end: its dark lower corners cannot be known from one still
    ids=["virtual-convex", "phased", "convex", "linear", "flat-trapezoid"],
)
def test_still_with_dark_edges_recovers_the_whole_field(polygon, tol, kept):
    frame, boxes = dark_edged_still(polygon)
    roi = detect_roi(frame)
    assert roi.method is RoiMethod.STILL
    assert "outline extended to the fitted side edges" in roi.notes
    assert_box_close(roi.box(), box_of(polygon), tol=tol)
    full = roi.source_mask()
    truth = region_mask(polygon)
    assert (full & truth).sum() >= kept * truth.sum()  # the dark sides are recovered
    hull = region_mask(cv2.convexHull(polygon.reshape(-1, 1, 2)).reshape(-1, 2))  # outlines are convex
    assert (full & ~hull).sum() <= 0.01 * truth.sum()  # and the fit does not spill past the field
    for box in boxes.values():
        assert_outside(roi, box)


def test_fit_side_line_follows_the_edge_not_the_inner_points():
    ys = np.arange(100, 400)
    edge = 300 - 0.5 * ys  # the left edge
    xs = edge.copy()
    xs[150:] += np.random.default_rng(0).uniform(5, 80, 150)  # deeper rows stop short of the edge
    line = fit_side_line(ys, xs.round(), outward=-1)
    assert line is not None
    assert abs(line.b + 0.5) < 0.01 and abs(line.x_at(399) - edge[-1]) < 3
    assert line.y_high == 100 and line.y_span >= 140
    assert fit_side_line(ys[:2], xs[:2], outward=-1) is None

def test_classify_shape_on_plain_masks():
    assert classify_shape(region_mask(PHASED)) is RoiShape.SECTOR
    assert classify_shape(region_mask(CONVEX)) is RoiShape.SECTOR
    assert classify_shape(region_mask(RECTANGLE)) is RoiShape.RECTANGLE
    assert classify_shape(region_mask(TRAPEZOID)) is RoiShape.TRAPEZOID
    assert classify_shape(np.zeros((10, 10), bool)) is RoiShape.UNKNOWN


def test_frozen_sweep_is_read_as_a_still(trapezoid_sweep):
    frames, _, _, _ = trapezoid_sweep
    frozen = np.repeat(frames[:1], 6, axis=0)  # a cine of one repeated frame: nothing changes
    roi = detect_roi(frozen)
    assert roi.method is RoiMethod.STILL and roi.shape is RoiShape.TRAPEZOID
    assert_box_close(roi.box(), box_of(TRAPEZOID), tol=4)


def test_blank_screen_gives_the_whole_frame_and_zero_confidence():
    roi = detect_roi(np.zeros((3, 64, 80), np.uint8))
    assert roi.method is RoiMethod.NONE and roi.shape is RoiShape.UNKNOWN
    assert roi.box() == {"x": 0, "y": 0, "w": 80, "h": 64} and roi.confidence == 0.0


def test_image_filling_the_frame_is_the_whole_frame():
    rng = np.random.default_rng(1)
    frames = rng.integers(20, 230, (4, 60, 90), dtype=np.uint8)
    roi = detect_roi(frames)
    assert roi.box() == {"x": 0, "y": 0, "w": 90, "h": 60}
    assert roi.shape is RoiShape.RECTANGLE


def test_detect_roi_refuses_wrong_arrays():
    with pytest.raises(NeocusError, match="uint8 frames"):
        detect_roi(np.zeros((2, 3, 4, 5), np.uint8))
    with pytest.raises(NeocusError, match="uint8 frames"):
        detect_roi(np.zeros((2, 30, 40), np.float32))


# ----------------------------------------------------------------------------------------------------
# Crop records and applying the ROI


def _sweep(frames: np.ndarray) -> Sweep:
    t, h, w = frames.shape
    meta = SweepMeta(source="synthetic", format="video", fps=20.0, spacing_mm=(0.1, 0.1),
                     timestamps_s=np.arange(t) / 20.0, source_height=h, source_width=w)
    return Sweep(frames=frames, meta=meta)


def test_apply_roi_crops_blanks_and_maps_points_back(trapezoid_sweep):
    frames, _, logo, _ = trapezoid_sweep
    sweep = _sweep(frames.copy())
    roi = detect_roi(frames)
    cropped = apply_roi(sweep, roi)
    c = cropped.meta.crop
    assert c == roi.crop and cropped.frames.shape == (frames.shape[0], c.h, c.w)
    assert cropped.meta.spacing_mm == sweep.meta.spacing_mm and cropped.meta.fps == sweep.meta.fps
    # every imaging pixel of the crop is the source pixel that to_source names
    rng = np.random.default_rng(0)
    ys, xs = np.nonzero(roi.mask)
    pick = rng.choice(len(xs), 200, replace=False)
    pts = np.stack([xs[pick], ys[pick]], 1)
    src = c.to_source(pts).round().astype(int)
    assert np.array_equal(cropped.frames[5, pts[:, 1], pts[:, 0]], frames[5, src[:, 1], src[:, 0]])
    assert np.allclose(c.from_source(c.to_source(pts)), pts)
    # the label outside the sector is blanked in the cropped frames
    logo_in_crop = logo[c.y : c.y + c.h, c.x : c.x + c.w]
    assert logo_in_crop.any() and not cropped.frames[:, logo_in_crop].any()


def test_crop_to_imaging_region_is_apply_roi_or_the_whole_sweep_with_a_reason(trapezoid_sweep, monkeypatch):
    frames = trapezoid_sweep[0]
    sweep = _sweep(frames.copy())
    cut = crop_to_imaging_region(sweep)
    assert cut.roi is not None and cut.reason is None
    assert cut.roi.crop == detect_sweep_roi(sweep).crop
    assert np.array_equal(cut.sweep.frames, apply_roi(sweep, cut.roi).frames)

    def no_region(_sweep):
        raise NeocusError("no imaging pixels", where="frames")

    monkeypatch.setattr("neocus.io.roi.detect_sweep_roi", no_region)
    whole = crop_to_imaging_region(sweep)
    assert whole.roi is None and whole.sweep is sweep and whole.reason == "no imaging pixels"


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_crop_maps_every_pixel_back(data):
    h, w = data.draw(st.integers(2, 40)), data.draw(st.integers(2, 40))
    x, y = data.draw(st.integers(0, w - 1)), data.draw(st.integers(0, h - 1))
    cw, ch = data.draw(st.integers(1, w - x)), data.draw(st.integers(1, h - y))
    frames = np.random.default_rng(h * 41 + w).integers(0, 256, (2, h, w), dtype=np.uint8)
    crop = CropRecord(x=x, y=y, w=cw, h=ch, source_height=h, source_width=w)
    roi = Roi(crop=crop, shape=RoiShape.RECTANGLE, mask=np.ones((ch, cw), bool), outline=np.zeros((0, 2), np.int32),
              method=RoiMethod.STILL, confidence=1.0)
    out = apply_roi(_sweep(frames), roi)
    yy, xx = np.mgrid[0:ch, 0:cw]
    src = out.meta.crop.to_source(np.stack([xx.ravel(), yy.ravel()], 1)).astype(int)
    assert np.array_equal(out.frames[:, yy.ravel(), xx.ravel()], frames[:, src[:, 1], src[:, 0]])


def test_apply_roi_twice_composes_crops(trapezoid_sweep):
    frames, _, _, _ = trapezoid_sweep
    sweep = _sweep(frames.copy())
    first = apply_roi(sweep, detect_roi(frames))
    inner = detect_roi(first.frames)
    second = apply_roi(first, inner, blank=False)
    c2 = second.meta.crop
    assert (c2.source_height, c2.source_width) == (H, W)
    p = np.array([[5, 7], [inner.crop.w - 1, inner.crop.h - 1]])
    src = c2.to_source(p).astype(int)
    assert np.array_equal(second.frames[0, p[:, 1], p[:, 0]], frames[0, src[:, 1], src[:, 0]])


def test_apply_roi_refuses_a_roi_of_another_size(trapezoid_sweep):
    frames, _, _, _ = trapezoid_sweep
    roi = detect_roi(frames[:, :300, :500])
    with pytest.raises(NeocusError, match="ROI was detected on 500x300 frames"):
        apply_roi(_sweep(frames), roi)


def test_overlay_picture_dims_the_non_imaging_pixels(trapezoid_sweep):
    frames, boxes, _, _ = trapezoid_sweep
    roi = detect_roi(frames)
    frame = representative_frame(frames)
    pic = draw_roi(frame, roi)
    assert pic.shape == (H, W, 3) and pic.dtype == np.uint8
    x0, y0, x1, y1 = boxes["bar"]
    assert pic[y0 + 5 : y1 - 5, x0 + 2 : x1 - 2].max() < frame[y0 + 5 : y1 - 5, x0 + 2 : x1 - 2].max()
    c = roi.crop
    assert tuple(pic[c.y + c.h // 2, c.x]) != tuple(np.repeat(frame[c.y + c.h // 2, c.x], 3))  # crop edge drawn


# ----------------------------------------------------------------------------------------------------
# DICOM ultrasound regions


def test_choose_region_prefers_2d_tissue_and_distrusts_regions_off_the_frame():
    tissue = UltrasoundRegion(10, 20, 109, 99, spatial_format=1, data_type=1)
    bigger_other = UltrasoundRegion(0, 0, 199, 149, spatial_format=1, data_type=2)
    waveform = UltrasoundRegion(0, 150, 199, 199, spatial_format=4, data_type=10)
    assert choose_region([waveform, bigger_other, tissue], 200, 200)[0] == (10, 20, 100, 80)
    assert choose_region([waveform], 200, 200)[0] is None
    # Philips-style inclusive max one past the last column: clipped
    box, note = choose_region([UltrasoundRegion(120, 60, 800, 518, 1, 1)], 600, 800)
    assert box == (120, 60, 680, 459) and "clipped" in note
    # a region written for a twice larger frame (the file was resized later): ignored
    box, note = choose_region([UltrasoundRegion(84, 31, 595, 414, 1, 1)], 240, 320)
    assert box is None and "does not fit" in note


def test_dicom_region_sets_the_crop_of_a_sonosite_cine():
    sweep = load_sweep(dicom_test_file("color3d_jpeg_baseline.dcm"))
    roi = detect_sweep_roi(sweep)
    assert roi.method is RoiMethod.DICOM_REGION
    assert roi.box() == {"x": 84, "y": 31, "w": 512, "h": 384}
    assert roi.shape is RoiShape.SECTOR  # phased-array echo: the fan found inside the region


def test_dicom_region_clipped_to_a_cropped_palette_file():
    sweep = load_sweep(dicom_test_file("examples_palette.dcm"))
    roi = detect_sweep_roi(sweep)
    assert roi.method is RoiMethod.DICOM_REGION
    assert roi.box() == {"x": 120, "y": 60, "w": 680, "h": 290}  # the header's region, cut at the last row
    assert_outside(roi, (0, 0, 800, 55))  # the PHILIPS / patient banner and date line


def test_convex_probe_region_is_a_sector():
    sweep = load_sweep(dicom_test_file("OBXXXX1A_rle_2frame.dcm"))
    roi = detect_sweep_roi(sweep)
    assert roi.shape is RoiShape.SECTOR
    assert roi.box() == {"x": 120, "y": 60, "w": 680, "h": 459}
    assert 0.4 < roi.mask.mean() < 0.9  # the fan, not the whole region


def test_region_of_a_resized_cine_is_ignored_and_the_image_found():
    sweep = load_sweep(dicom_test_file("examples_ybr_color.dcm"))  # 320x240; header region is for 640x480
    roi = detect_sweep_roi(sweep)
    assert roi.method is RoiMethod.TEMPORAL and any("does not fit" in n for n in roi.notes)
    assert roi.shape is RoiShape.SECTOR
    b = roi.box()
    # the header's region halved (the file is the 640x480 cine at half size) is x 42-297, y 15-207
    assert 36 <= b["x"] <= 50 and 290 <= b["x"] + b["w"] <= 306 and 12 <= b["y"] <= 30 and 198 <= b["y"] + b["h"] <= 212
    assert_outside(roi, (0, 0, 36, 30))  # the "PLA / Gen THI" label


@pytest.mark.parametrize("name", ["US1_UNCR.dcm", "US1_J2KR.dcm"])
def test_ge_linear_still_excludes_header_text(name):
    sweep = load_sweep(dicom_test_file(name))
    roi = detect_sweep_roi(sweep)
    assert roi.method is RoiMethod.STILL and roi.shape is RoiShape.RECTANGLE
    b = roi.box()
    # text rows at y 24-102 above the image, "LYMPH NODE" at y 360-377 and the scale at y 450-470 below
    assert 102 < b["y"] <= 112 and 330 <= b["y"] + b["h"] <= 345
    assert b["w"] >= 600


# ----------------------------------------------------------------------------------------------------
# The real GE LOGIQ captures: sector top edge near y 43, between x ~200 and ~1250;
# text at y < 30, greyscale bar at x < 60, depth scale at x > 1380.

GE_OVERLAYS = {"text": (0, 0, 1442, 30), "bar": (0, 0, 60, 898), "scale": (1380, 0, 1442, 898)}


@pytest.fixture(scope="module")
def coronal():
    return load_sweep(ncls_file("20221223027", "coronal_sweep.mp4"))


@pytest.fixture(scope="module")
def parasagittal():
    return load_sweep(ncls_file("20221231069", "parasagittal_sweep.mp4"))


def _check_ge(roi, x_range: tuple[int, int] = (190, 1260)) -> None:
    c = roi.crop
    assert (c.source_height, c.source_width) == (898, 1442)
    assert 40 <= c.y <= 47, f"top edge at y {c.y}"
    assert c.x >= x_range[0] and c.x + c.w <= x_range[1] and c.y + c.h <= 840
    for box in GE_OVERLAYS.values():
        x0, y0, x1, y1 = box
        assert c.x >= x1 or c.x + c.w <= x0 or c.y >= y1 or c.y + c.h <= y0, f"crop overlaps {box}"
    assert roi.shape is RoiShape.TRAPEZOID
    # the middle of the sector's top (the probe face) is imaging, the LOGIQ logo at its corner is not
    assert roi.mask[55 - c.y, 700 - c.x]
    full = roi.source_mask()
    assert not full[48:58, 480:500].any(), "the logo's 'LOGIQ' lettering is not imaging"


@pytest.mark.real_data
def test_real_coronal_sweep_roi(coronal):
    roi = detect_sweep_roi(coronal)
    assert roi.method is RoiMethod.TEMPORAL and roi.confidence > 0.9
    _check_ge(roi)
    c = roi.crop
    assert c.x <= 230 and c.x + c.w >= 1210, "the coronal sector spans x ~210-1230"
    cropped = apply_roi(coronal, roi)
    assert cropped.frames.shape == (118, c.h, c.w)


@pytest.mark.real_data
def test_real_parasagittal_sweep_roi(parasagittal):
    roi = detect_sweep_roi(parasagittal)
    assert roi.method is RoiMethod.TEMPORAL
    _check_ge(roi)
    c = roi.crop
    assert c.x <= 360 and c.x + c.w >= 1100  # the echoing part of this sweep spans x ~340-1125


# The coronal sweep's changing pixels span x 205-1240: where echoes stop. One still's outline follows
# the sector's straight sides to the arc about their virtual apex, which meets them some 25-30 px
# further out (x ~177-1265 on these stills); within 40 px of the sweep's edges either way.
SWEEP_LEFT, SWEEP_RIGHT = 205, 1240


@pytest.mark.real_data
@pytest.mark.parametrize(
    "still",
    ["20221223027/COR1.png", "20221223027/COR2.png", "20221223027/COR3.png", "20221223027/SAG2.png",
     "20221224035/COR1.png", "20221224035/COR3.png", "20221231069/SAG1.png"],
)
def test_real_still_roi(still):
    sweep = load_sweep(ncls_file(*still.split("/")))
    roi = detect_sweep_roi(sweep)
    assert roi.method is RoiMethod.STILL
    assert "outline extended to the fitted side edges" in roi.notes
    _check_ge(roi, x_range=(SWEEP_LEFT - 40, SWEEP_RIGHT + 40))
    c = roi.crop
    assert abs(c.x - SWEEP_LEFT) <= 40 and abs(c.x + c.w - SWEEP_RIGHT) <= 40, f"still spans x {c.x}-{c.x + c.w}"
    # the dark flanks of the sector (echo-free on these stills) are imaging; just outside the sides is not
    assert roi.mask[600 - c.y, 270 - c.x] and roi.mask[600 - c.y, 1170 - c.x]
    full = roi.source_mask()
    assert not full[100:300, 150:330].any() and not full[100:300, 1110:1290].any()


def test_meta_crop_defaults_to_none():
    frames, _ = screen(RECTANGLE, 1)
    sweep = _sweep(frames)
    assert sweep.meta.crop is None
    assert dataclasses.replace(sweep.meta).crop is None
