"""Rotated COCO mAP on hand-made cases, and `neocus evaluate detector` on a tiny phantom set."""

import json

import numpy as np
import pytest
import torch

from neocus.cli import main
from neocus.detect.checkpoint import save_model
from neocus.detect.config import load_config
from neocus.detect.evaluate import FramePrediction, evaluate_detections, interpolated_ap
from neocus.detect.model import RotatedRtDetr

GT = (np.array([[50, 50, 40, 10, 30.0], [20, 80, 20, 8, -60.0]]), np.array([0, 1]))


def test_perfect_detections_score_one():
    pred = FramePrediction(GT[0].copy(), np.array([0.9, 0.8]), GT[1].copy())
    m = evaluate_detections([pred], [GT], class_names=["a", "b"])
    assert m.map50 == pytest.approx(1.0) and m.map50_95 == pytest.approx(1.0)


def test_rotation_matters_and_angle_wrap_does_not():
    turned = GT[0].copy()
    turned[0, 4] += 90  # same centre and size, turned a quarter: IoU 0.25
    turned[1, 4] += 180  # the same box written another way
    m = evaluate_detections([FramePrediction(turned, np.array([0.9, 0.8]), GT[1])], [GT], class_names=["a", "b"])
    assert [c.ap50 for c in m.per_class] == [pytest.approx(0.0), pytest.approx(1.0)]


def test_coco_101_point_interpolation_by_hand():
    # detections: TP, FP, TP against 2 true boxes -> precision 1, 0.5, 0.667 at recall 0.5, 0.5, 1
    ap, prec, _ = interpolated_ap(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.7]), 2)
    assert prec[:51].tolist() == [1.0] * 51 and np.allclose(prec[51:], 2 / 3)
    assert ap == pytest.approx((51 * 1.0 + 50 * 2 / 3) / 101)


def test_duplicates_are_false_positives_and_missing_classes_are_skipped():
    boxes = np.vstack([GT[0][:1], GT[0][:1]])
    m = evaluate_detections([FramePrediction(boxes, np.array([0.9, 0.95]), np.array([0, 0]))], [GT], class_names=["a", "b", "c"])
    assert [c.structure for c in m.per_class] == ["a", "b"]  # "c" has no true box
    assert m.per_class[0].ap50 == pytest.approx(1.0) and m.per_class[1].ap50 == 0.0


def test_thin_boxes_are_widened_in_truth_and_training_targets():
    from neocus.detect.augment import Sample
    from neocus.detect.data import MIN_SHORT_SIDE, training_batch, widen_thin_boxes

    img = np.zeros((200, 400), np.uint8)
    thin = Sample(img, np.array([[200, 100, 120, 2, 10.0], [100, 50, 40, 30, 0.0]], np.float32), np.array([0, 1]))
    wide = widen_thin_boxes(thin)
    assert wide.boxes[0, 3] == pytest.approx(MIN_SHORT_SIDE * 400) and np.array_equal(wide.boxes[1], thin.boxes[1])
    assert np.array_equal(widen_thin_boxes(thin, min_short_side=0).boxes, thin.boxes)
    # a prediction in the detector's convention matches the widened truth, not the raw 2-px one
    pred = FramePrediction(wide.boxes.astype(float), np.array([0.9, 0.8]), np.array([0, 1]))
    assert evaluate_detections([pred], [(wide.boxes, wide.labels)], class_names=["a", "b"]).map50 == pytest.approx(1.0)
    assert evaluate_detections([pred], [(thin.boxes, thin.labels)], class_names=["a", "b"]).per_class[0].ap50 == pytest.approx(0.0)
    batch = training_batch([thin], 160, 4, mosaic_prob=0.0, mixup_prob=0.0, rng=np.random.default_rng(0))
    assert all(len(s.boxes) == 0 or s.boxes[:, 2:4].min() >= MIN_SHORT_SIDE * 160 - 1e-4 for s in batch)


def test_cli_evaluates_on_a_tiny_phantom_set(tmp_path):
    torch.manual_seed(0)
    cfg = load_config("tiny")
    model = save_model(tmp_path / "model.pt", RotatedRtDetr(cfg.model).eval(), cfg)
    out = tmp_path / "eval"
    rc = main(["evaluate", "detector", "--model", str(model), "--phantom-frames", "2", "--preset", "internal", "--out", str(out)])
    assert rc == 0
    data = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= data["map50"] <= 1.0 and 0.0 <= data["map50_95"] <= data["map50"]
    assert data["sets"]["internal"]["n_frames"] == 2 and data["per_class"]
    assert (out / "pr_internal.png").is_file()
    assert main(["evaluate", "detector", "--model", str(model), "--phantom-frames", "2", "--preset", "internal", "--out", str(out)]) != 0
