"""The eye-checked boxes on the real NCLS stills (docs/real_still_boxes.json) name vocab structures the
detector has, lie inside each still's imaging region, and hold dark fluid."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from io_testdata import ncls_file

from neocus.detect.classes import CLASS_INDEX
from neocus.geometry import RotatedBox
from neocus.io import load_sweep
from neocus.io.roi import detect_sweep_roi
from neocus.vocab import Structure

BOXES = json.loads((Path(__file__).resolve().parents[1] / "docs" / "real_still_boxes.json").read_text())


def test_labels_are_detector_classes_in_the_convention():
    assert sum(len(v) for v in BOXES.values()) >= 10
    for boxes in BOXES.values():
        for b in boxes:
            assert Structure(b["label"]) in CLASS_INDEX
            RotatedBox(b["cx"], b["cy"], b["w"], b["h"], b["angle"])  # long-edge convention or ValueError


@pytest.mark.real_data
@pytest.mark.parametrize("key", sorted(BOXES))
def test_boxes_lie_on_dark_fluid_inside_the_roi(key):
    sweep = load_sweep(ncls_file(*key.split("/")[:-1], key.split("/")[-1] + ".png"))
    roi = detect_sweep_roi(sweep)
    inside = roi.source_mask()
    frame = sweep.frames[0].astype(float)
    tissue = np.median(frame[inside])
    for b in BOXES[key]:
        box = RotatedBox(b["cx"], b["cy"], b["w"], b["h"], b["angle"])
        mask = np.zeros(frame.shape, np.uint8)
        cv2.fillPoly(mask, [box.corners().round().astype(np.int32)], 1)
        mask = mask.astype(bool)
        assert inside[mask].mean() > 0.95  # within the imaging region
        # the box holds fluid: its darkest tenth is darker than the region's median (0.0-0.70 of it for
        # these boxes; 0.73-5.6 for the same boxes moved 120 px down onto tissue)
        assert np.percentile(frame[mask], 10) < 0.75 * tissue, (key, b["label"], np.percentile(frame[mask], 10), tissue)
