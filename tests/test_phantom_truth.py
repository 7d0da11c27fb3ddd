"""Ground-truth primitives on hand-made label maps: boxes, windows, findings, deterministic npz."""

import io

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocus.geometry import rbox_to_corners
from neocus.phantom.truth import (
    MIN_BOX_AREA_PX,
    frame_views,
    lesion_boxes,
    mask_box,
    npz_bytes,
    still_findings,
    structure_boxes,
    ventricle_mask,
    view_windows,
    visible_lesion_kinds,
)
from neocus.phantom.types import LESION_KINDS
from neocus.vocab import Finding, LesionKind, Side, Structure, View

# parts: 1 left thalamus, 2 right thalamus, 3 left ventricle (horn), 4 left ventricle (body), 5 untargeted
PART_STRUCTURE = {1: Structure.THALAMUS, 2: Structure.THALAMUS, 3: Structure.LATERAL_VENTRICLE,
                  4: Structure.LATERAL_VENTRICLE, 5: None}
PART_SIDE = {1: Side.LEFT, 2: Side.RIGHT, 3: Side.LEFT, 4: Side.LEFT, 5: Side.MIDLINE}


def _map():
    m = np.zeros((80, 100), np.uint8)
    cv2.ellipse(m, (30, 40), (12, 6), 30, 0, 360, 2, -1)  # right thalamus, tilted
    cv2.ellipse(m, (55, 40), (12, 6), -30, 0, 360, 1, -1)  # left thalamus touching? no: separate
    m[10:14, 60:80] = 3
    m[14:20, 70:80] = 4  # same structure and side: merges with part 3 into one box
    m[70:72, 5:7] = 3  # tiny sliver of the same structure: dropped
    m[0:10, 0:10] = 5  # not a target
    return m


def test_boxes_per_structure_and_side_inside_frame_and_on_structure():
    m = _map()
    boxes = structure_boxes(m, PART_STRUCTURE.get, PART_SIDE.get, (0.3, 0.3))
    keys = sorted((b.structure.value, b.side.value) for b in boxes)
    assert keys == [("lateral_ventricle", "left"), ("thalamus", "left"), ("thalamus", "right")]
    h, w = m.shape
    for b in boxes:
        c = b.box.corners()
        assert (c[:, 0] >= -0.01).all() and (c[:, 0] <= w + 0.01).all()
        assert (c[:, 1] >= -0.01).all() and (c[:, 1] <= h + 0.01).all()
        # the box's centre pixel region overlaps the structure
        cx, cy = int(round(b.box.cx)), int(round(b.box.cy))
        parts = [p for p, s in PART_STRUCTURE.items() if s is b.structure and PART_SIDE[p] is b.side]
        assert np.isin(m[max(cy - 1, 0) : cy + 2, max(cx - 1, 0) : cx + 2], parts).any()
        assert b.box.w >= b.box.h
    thal = {b.side: b for b in boxes if b.structure is Structure.THALAMUS}
    # ellipse 25 x 13 px at +30 / -30 degrees: the box follows the long axis
    assert thal[Side.RIGHT].box.w == pytest.approx(25, abs=2) and thal[Side.RIGHT].box.h == pytest.approx(13, abs=2)
    assert thal[Side.RIGHT].box.angle == pytest.approx(30, abs=4)
    assert thal[Side.LEFT].box.angle == pytest.approx(-30, abs=4)


def test_area_threshold_drops_slivers_by_physical_size():
    m = np.zeros((50, 50), np.uint8)
    m[10:14, 10:14] = 1  # 16 px
    fine = structure_boxes(m, PART_STRUCTURE.get, PART_SIDE.get, (0.2, 0.2))  # 0.64 mm^2 -> dropped
    coarse = structure_boxes(m, PART_STRUCTURE.get, PART_SIDE.get, (0.5, 0.5))  # 4 mm^2 -> kept
    assert fine == [] and len(coarse) == 1
    m[:] = 0
    m[0, 0 : MIN_BOX_AREA_PX - 1] = 1
    assert structure_boxes(m, PART_STRUCTURE.get, PART_SIDE.get, (5.0, 5.0)) == []


def test_mask_box_covers_every_pixel_footprint():
    mask = np.zeros((40, 40), bool)
    mask[5:6, 3:20] = True  # a one-pixel-high line still has a height of one pixel
    b = mask_box(mask)
    assert b.w == pytest.approx(17) and b.h == pytest.approx(1) and b.angle == 0
    assert b.cx == pytest.approx(11) and b.cy == pytest.approx(5)
    poly = rbox_to_corners(b.as_tuple()).astype(np.float32)
    ys, xs = np.nonzero(mask)
    assert all(cv2.pointPolygonTest(poly, (float(x), float(y)), False) >= 0 for x, y in zip(xs, ys))


def test_lesion_boxes_and_visible_kinds():
    lm = np.zeros((60, 60), np.uint8)
    ivh = LESION_KINDS.index(LesionKind.INTRAVENTRICULAR_HAEMORRHAGE) + 1
    cyst = LESION_KINDS.index(LesionKind.CYSTIC_PVL) + 1
    lm[10:20, 10:20] = ivh
    lm[40:42, 40:42] = cyst  # 4 px
    boxes = lesion_boxes(lm, (0.4, 0.4))
    assert [b.kind for b in boxes] == [LesionKind.INTRAVENTRICULAR_HAEMORRHAGE]
    assert visible_lesion_kinds(lm, (0.4, 0.4)) == {LesionKind.INTRAVENTRICULAR_HAEMORRHAGE}
    assert visible_lesion_kinds(lm, (0.8, 0.8)) == {LesionKind.INTRAVENTRICULAR_HAEMORRHAGE, LesionKind.CYSTIC_PVL}


def test_ventricle_mask_selects_parts():
    m = _map()
    v = ventricle_mask(m, [3, 4])
    assert v.sum() == np.isin(m, [3, 4]).sum()


def test_view_window_holds_best_frame_and_stops_at_threshold():
    q = {View.AHV: [0.1, 0.5, 0.7, 0.9, 0.8, 0.4, 0.65, 0.7], View.TVV: [0.2] * 8, View.BV: [0, 0, 0, 0, 0, 0.3, 0.95, 0.5]}
    w = view_windows(q, threshold=0.6)
    assert (w[View.AHV].start, w[View.AHV].best_frame, w[View.AHV].end) == (2, 3, 4)
    assert w[View.TVV] is None  # never good enough: missing
    assert (w[View.BV].start, w[View.BV].end) == (6, 6) and 6 in w[View.BV]
    fv = frame_views(q, threshold=0.6)
    assert [v for v, _ in fv] == [None, None, View.AHV, View.AHV, View.AHV, None, View.BV, View.AHV]


@pytest.mark.parametrize("seed", range(5))
def test_view_window_property_random(seed):
    rng = np.random.default_rng(seed)
    q = {View.MSV: rng.random(30), View.LPSV: np.convolve(rng.random(34), np.ones(5) / 5, "valid")}
    for view, win in view_windows(q, threshold=0.5).items():
        arr = np.asarray(q[view])
        if win is None:
            assert arr.max() < 0.5
        else:
            assert win.start <= win.best_frame <= win.end and arr[win.best_frame] == arr.max()
            assert (arr[win.start : win.end + 1] >= 0.5).all()


def test_still_findings_follow_lesions_and_ventricular_state():
    assert still_findings([], [], True) == {Finding.NORMAL}
    assert still_findings([LesionKind.GERMINAL_MATRIX_HAEMORRHAGE], [], True) == {Finding.IVH}
    assert still_findings([LesionKind.PVL_FLARE, LesionKind.EPENDYMAL_CYST], [], False) == {Finding.PVL, Finding.EPENDYMAL_CYST}
    dil = [Finding.VENTRICULAR_DILATION]
    assert still_findings([], dil, True) == {Finding.VENTRICULAR_DILATION}
    assert still_findings([], dil, False) == {Finding.NORMAL}  # no ventricle in the image
    assert still_findings([], [Finding.PVL], True) == {Finding.NORMAL}  # state only speaks for ventricles


def test_npz_bytes_deterministic_and_loadable():
    arrays = {"lesion": np.arange(24, dtype=np.uint8).reshape(2, 3, 4), "ventricles": np.eye(3, dtype=bool)}
    a, b = npz_bytes(arrays), npz_bytes(dict(reversed(list(arrays.items()))))
    assert a == b
    with np.load(io.BytesIO(a)) as z:
        assert np.array_equal(z["lesion"], arrays["lesion"]) and z["ventricles"].dtype == bool


@settings(max_examples=60, deadline=None)
@given(
    st.integers(4, 40), st.integers(2, 12), st.floats(-89.0, 89.0), st.integers(10, 50), st.integers(10, 50)
)
def test_mask_box_is_tight_and_covers_random_rotated_bars(length, width, angle, cx, cy):
    mask = np.zeros((64, 64), np.uint8)
    rect = ((float(cx), float(cy)), (float(length), float(width)), float(angle))
    cv2.fillPoly(mask, [np.round(cv2.boxPoints(rect)).astype(np.int32)], 1)
    mask = mask.astype(bool)
    box = mask_box(mask)
    assert box.w >= box.h and -90 <= box.angle < 90
    poly = rbox_to_corners(box.as_tuple()).astype(np.float32)
    ys, xs = np.nonzero(mask)
    # every pixel centre inside (or on) the box, and the box no bigger than the pixels' axis-aligned footprint
    assert all(cv2.pointPolygonTest(poly, (float(x), float(y)), True) >= -1e-3 for x, y in zip(xs, ys))
    assert box.area <= (np.ptp(xs) + 1) * (np.ptp(ys) + 1) * (1 + 1e-4)
    assert box.area >= mask.sum() * (1 - 1e-4)  # cv2.minAreaRect works in float32


@settings(max_examples=80, deadline=None)
@given(st.integers(10, 60), st.integers(3, 14), st.floats(-89.0, 89.0), st.integers(-5, 45), st.integers(-5, 45))
def test_boxes_stay_inside_the_frame_at_its_border(length, width, angle, cx, cy):
    mask = np.zeros((40, 40), np.uint8)
    cv2.fillPoly(mask, [np.round(cv2.boxPoints(((float(cx), float(cy)), (float(length), float(width)), float(angle)))).astype(np.int32)], 1)
    if mask.sum() < 8:
        return
    n, labels = cv2.connectedComponents(mask, connectivity=8)
    comp = labels == 1
    box = mask_box(comp, frame_hw=comp.shape)
    c = box.corners()
    assert c.min() >= -0.5 - 1e-3 and c[:, 0].max() <= 39.5 + 1e-3 and c[:, 1].max() <= 39.5 + 1e-3
    poly = c.astype(np.float32)
    ys, xs = np.nonzero(comp)
    assert all(cv2.pointPolygonTest(poly, (float(x), float(y)), True) >= -1e-3 for x, y in zip(xs, ys))
