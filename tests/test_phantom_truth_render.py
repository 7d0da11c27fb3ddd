"""Ground truth against real renders: boxes inside the frame and on their structure, lesion boxes on
lesions, findings from what the still shows, view windows around the best frame."""

import cv2
import numpy as np
import pytest

from neocus.geometry import rbox_to_corners
from neocus.phantom.api import jittered_neighbours, new_subject, render_sweep, standard_still
from neocus.phantom.parts import part_side
from neocus.phantom.subject import CaseType
from neocus.phantom.truth import VIEW_QUALITY_THRESHOLD, visible_lesion_kinds
from neocus.phantom.types import LESION_KINDS
from neocus.vocab import LESION_FINDING, VIEW_PLANE, Finding, Plane, View, check_findings, views_of_plane

SIZE = (160, 192)  # (H, W)


def _central_region(box, shape) -> np.ndarray:
    """The box shrunk to half its size around its centre (at least 3 px): the 'centre region'."""
    cx, cy, w, h, a = box.as_tuple()
    poly = np.zeros(shape, np.uint8)
    cv2.fillPoly(poly, [np.round(rbox_to_corners((cx, cy, max(w / 2, 3), max(h / 2, 3), a))).astype(np.int32)], 1)
    return poly.astype(bool)


@pytest.fixture(scope="module")
def stills():
    out = []
    for k, ct in enumerate((CaseType.NORMAL, CaseType.IVH_DILATED)):
        subject = new_subject(100 + k, case_type=ct)
        rng = np.random.default_rng(k)
        out.append((subject, {v: standard_still(subject, v, "internal", rng=rng, out_size_hw=SIZE) for v in View}))
    return out


def test_structure_boxes_inside_the_frame_and_on_the_structure(stills):
    h, w = SIZE
    n = 0
    for subject, views in stills:
        for view, still in views.items():
            plane = VIEW_PLANE[view]
            assert still.truth.boxes, f"{view}: no structure boxed"
            for b in still.truth.boxes:
                c = b.box.corners()
                assert c[:, 0].min() >= -0.51 and c[:, 0].max() <= w - 0.49
                assert c[:, 1].min() >= -0.51 and c[:, 1].max() <= h - 0.49
                parts = [p for p in np.unique(still.frame.part) if p and subject.head.part_structure(int(p), plane) is b.structure and part_side(int(p)) is b.side]
                structure = np.isin(still.frame.part, parts)
                assert (structure & _central_region(b.box, SIZE)).any(), f"{view} {b.structure} {b.side}: box off its structure"
                n += 1
    assert n > 40


def test_key_structures_of_each_view_are_boxed(stills):
    from neocus.vocab import VIEW_KEY_STRUCTURES

    for _, views in stills:
        for view, still in views.items():
            found = {b.structure for b in still.truth.boxes}
            key = set(VIEW_KEY_STRUCTURES[view])
            assert len(found & key) >= len(key) / 2, f"{view}: only {sorted(found & key)} of {sorted(key)}"


def test_lesion_boxes_and_findings_follow_the_lesion_map(stills):
    for _subject, views in stills:
        for still in views.values():
            for b in still.truth.lesions:
                code = LESION_KINDS.index(b.kind) + 1
                assert ((still.lesion == code) & _central_region(b.box, SIZE)).any()
            visible = visible_lesion_kinds(still.lesion, still.frame.pixel_spacing_mm)
            expected = {LESION_FINDING[k] for k in visible}
            assert expected <= set(still.findings)
            check_findings(still.findings)
    normal_subject, normal_views = stills[0]
    if not normal_subject.lesions:
        assert all(s.findings == {Finding.NORMAL} for s in normal_views.values())
    severe_subject, severe_views = stills[1]
    assert any(Finding.IVH in s.findings for s in severe_views.values())


def test_stills_are_good_views_and_neighbours_are_worse(stills):
    subject, views = stills[0]
    for view, still in views.items():
        assert still.quality >= 0.75 and still.truth.view is view
    near = jittered_neighbours(subject, View.TVV, "internal", rng=np.random.default_rng(3), n=4, out_size_hw=SIZE)
    assert len(near) == 4 and np.mean([s.quality for s in near]) < views[View.TVV].quality


@pytest.mark.parametrize("plane", list(Plane))
def test_sweep_windows_hold_the_best_frame(plane):
    subject = new_subject(7, case_type=CaseType.NORMAL)
    sweep = render_sweep(subject, plane, "internal", rng=np.random.default_rng(1), n_frames=40, out_size_hw=(96, 112))
    assert sweep.frames.shape[1:] == (96, 112) and sweep.frames.shape[0] == len(sweep.truth)
    quality = sweep.quality
    assert set(quality) == set(views_of_plane(plane))
    found = 0
    for view, win in sweep.windows.items():
        q = quality[view]
        if win is None:
            assert q.max() < VIEW_QUALITY_THRESHOLD
            continue
        found += 1
        assert win.start <= win.best_frame <= win.end and q[win.best_frame] == q.max()
        for i in range(win.start, win.end + 1):
            assert q[i] >= VIEW_QUALITY_THRESHOLD
    assert found >= 2  # a freehand sweep of 40 frames passes most views
    for t in sweep.truth:
        if t.view is not None:
            assert t.quality[t.view] == max(t.quality.values()) >= VIEW_QUALITY_THRESHOLD
