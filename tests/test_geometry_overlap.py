"""Rotated IoU, NMS and rotated losses checked against shapely polygons on random boxes."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

shapely = pytest.importorskip("shapely")
from shapely.geometry import Polygon  # noqa: E402

from neocus.geometry import (  # noqa: E402
    kld,
    probiou,
    rbox_iou,
    rbox_iou_matrix,
    rbox_iou_t,
    rbox_to_corners,
    rotated_box_loss,
    rotated_nms,
)


def shapely_iou(a, b) -> float:
    pa, pb = Polygon(rbox_to_corners(a)), Polygon(rbox_to_corners(b))
    # snap-rounding overlay: GEOS's default overlay returns an empty intersection for some boxes with
    # nearly collinear edges (e.g. a box inside a longer copy of itself turned -117.0625 degrees)
    inter = shapely.intersection(pa, pb, grid_size=1e-9).area
    union = pa.area + pb.area - inter
    return inter / union if union > 0 else 0.0


box = st.tuples(
    st.floats(-20, 20), st.floats(-20, 20), st.floats(0.5, 30), st.floats(0.5, 30), st.floats(-180, 180)
)


@settings(max_examples=300, deadline=None)
@given(a=box, b=box)
def test_iou_matches_shapely(a, b):
    got = rbox_iou(np.array([a]), np.array([b]))[0]
    assert got == pytest.approx(shapely_iou(a, b), abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(a=box, da=st.floats(-3, 3), dw=st.floats(0.7, 1.3))
def test_iou_matches_shapely_for_near_boxes(a, da, dw):
    # Nearly coincident boxes have parallel and overlapping edges: the hard case for clipping.
    b = (a[0] + da * 0.1, a[1], a[2] * dw, a[3], a[4] + da)
    assert rbox_iou(np.array([a]), np.array([b]))[0] == pytest.approx(shapely_iou(a, b), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(boxes=st.lists(box, min_size=1, max_size=8), others=st.lists(box, min_size=1, max_size=6))
def test_all_pairs_matrix_matches_shapely(boxes, others):
    m = rbox_iou_matrix(np.array(boxes), np.array(others))
    want = np.array([[shapely_iou(a, b) for b in others] for a in boxes])
    assert np.allclose(m, want, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(a=box)
def test_same_box_after_wrap_and_swap(a):
    cx, cy, w, h, t = a
    same = np.array([[cx, cy, w, h, t], [cx, cy, w, h, t + 180], [cx, cy, h, w, t + 90], [cx, cy, w, h, t - 180]])
    assert np.allclose(rbox_iou(np.repeat([a], 4, 0), same), 1.0, atol=1e-6)
    tt = torch.tensor(same)
    for fn in (probiou,):
        assert torch.allclose(fn(tt[:1].expand(4, 5), tt), torch.ones(4, dtype=tt.dtype), atol=1e-3)
    assert torch.allclose(kld(tt[:1].expand(4, 5), tt), torch.zeros(4, dtype=tt.dtype), atol=1e-4)


def test_square_box_any_angle_is_same_box():
    sq = np.array([[0, 0, 10, 10, 0.0]] * 3)
    turned = np.array([[0, 0, 10, 10, 90.0], [0, 0, 10, 10, -90.0], [0, 0, 10, 10, 45.0]])
    iou = rbox_iou(sq, turned)
    assert np.allclose(iou[:2], 1.0)
    assert iou[2] == pytest.approx(shapely_iou(sq[2], turned[2]), abs=1e-9) and iou[2] < 0.9
    loss = rotated_box_loss(torch.tensor(sq[:2]), torch.tensor(turned[:2]), kind="probiou")
    assert torch.all(loss < 1e-3)


def test_disjoint_and_contained():
    assert rbox_iou(np.array([[0, 0, 2, 2, 0]]), np.array([[10, 0, 2, 2, 30]]))[0] == 0
    assert rbox_iou(np.array([[0, 0, 10, 4, 20]]), np.array([[0, 0, 5, 2, 20]]))[0] == pytest.approx(0.25)


@pytest.mark.parametrize("kind", ["probiou", "kld", "iou"])
def test_losses_fall_when_box_improves_and_have_gradients(kind):
    target = torch.tensor([[10.0, 10.0, 20.0, 6.0, 80.0]])
    pred = torch.tensor([[11.0, 9.0, 16.0, 7.0, -85.0]], requires_grad=True)  # across the +-90 wrap
    opt = torch.optim.Adam([pred], lr=0.2)
    first = None
    for _ in range(150):
        opt.zero_grad()
        loss = rotated_box_loss(pred, target, kind=kind).sum()
        loss.backward()
        assert torch.isfinite(pred.grad).all()
        first = first if first is not None else float(loss.detach())
        opt.step()
    assert float(loss.detach()) < 0.3 * first
    assert rbox_iou(pred.detach().numpy(), target.numpy())[0] > 0.8


def test_unknown_loss_is_a_neocus_error():
    from neocus.errors import NeocusError

    with pytest.raises(NeocusError, match="probiou"):
        rotated_box_loss(torch.zeros(1, 5), torch.zeros(1, 5), kind="giou")


def test_iou_gradient_matches_finite_differences():
    a = torch.tensor([[0.0, 0.0, 10.0, 4.0, 20.0]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([[1.0, 0.5, 8.0, 5.0, -10.0]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: rbox_iou_t(x, b), (a,), eps=1e-6, atol=1e-5)


def test_nms_keeps_best_and_separates_classes():
    boxes = np.array([[0, 0, 10, 4, 0], [0.5, 0, 10, 4, 5], [30, 30, 10, 4, 0], [0, 0, 10, 4, 0]])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert rotated_nms(boxes, scores, iou_threshold=0.5).tolist() == [0, 2]
    assert rotated_nms(boxes, scores, iou_threshold=0.5, classes=np.array([0, 0, 0, 1])).tolist() == [0, 2, 3]
    assert rotated_nms(boxes, scores, iou_threshold=0.5, max_det=1).tolist() == [0]
    assert rotated_nms(np.zeros((0, 5)), np.zeros(0)).tolist() == []


@settings(max_examples=40, deadline=None)
@given(boxes=st.lists(box, min_size=1, max_size=12), thr=st.floats(0.1, 0.9))
def test_nms_result_has_no_overlap_above_threshold(boxes, thr):
    b = np.array(boxes)
    s = np.linspace(1, 0.1, len(b))
    keep = rotated_nms(b, s, iou_threshold=thr)
    for i in keep:
        for j in keep:
            if i != j:
                assert shapely_iou(b[i], b[j]) <= thr + 1e-6
    # every dropped box overlaps a kept, better box
    for d in set(range(len(b))) - set(keep.tolist()):
        assert any(shapely_iou(b[d], b[k]) > thr - 1e-6 and s[k] >= s[d] for k in keep)
