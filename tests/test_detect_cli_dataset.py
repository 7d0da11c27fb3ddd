"""`neocus train detector --data`, `--resume`, `neocus evaluate detector --data` and `neocus export detector`
on a small hand-written dataset (toy frames as PNG stills with box annotations)."""

import json

import cv2
import pytest
import torch
from _detect_toy import toy_pool

from neocus.cli import main
from neocus.data import BoxAnnotation, CaseRecord, DatasetRecord, FrameAnnotation, Provenance, write_annotations, write_case, write_dataset_json
from neocus.detect.classes import DETECTOR_CLASSES
from neocus.vocab import Plane

torch.set_num_threads(1)


def _dataset(root):
    write_dataset_json(root, DatasetRecord(name="toy", provenance=Provenance(generator="test")))
    for i, s in enumerate(toy_pool(4, seed=5)):
        folder = write_case(root, CaseRecord(case_id=f"c{i}", sweeps={"still.png": Plane.CORONAL}))
        cv2.imwrite(str(folder / "still.png"), s.image)
        boxes = [BoxAnnotation(label=DETECTOR_CLASSES[int(lbl)], **dict(zip(("cx", "cy", "w", "h", "angle"), map(float, b))))
                 for b, lbl in zip(s.boxes, s.labels)]  # toy boxes are long-edge already (w > h, angle in [-90, 90))
        write_annotations(folder, "still.png", [FrameAnnotation(frame=0, boxes=boxes)])
    return root


@pytest.mark.slow
def test_train_resume_evaluate_export_from_a_dataset(tmp_path):
    ds = _dataset(tmp_path / "ds")
    out = tmp_path / "run"
    assert main(["train", "detector", "--data", str(ds), "--config", "tiny", "--steps", "2", "--out", str(out)]) == 0
    assert main(["train", "detector", "--data", str(ds), "--config", "tiny", "--steps", "3", "--out", str(out), "--resume"]) == 0
    steps = [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 3
    ev = tmp_path / "eval"
    assert main(["evaluate", "detector", "--data", str(ds), "--model", str(out / "model.pt"), "--out", str(ev)]) == 0
    m = json.loads((ev / "metrics.json").read_text())
    assert m["sets"]["dataset"]["n_frames"] == 4 and {"map50", "map50_95", "per_class"} <= set(m)
    onnx = tmp_path / "d.onnx"
    assert main(["export", "detector", "--model", str(out / "model.pt"), "--out", str(onnx)]) == 0
    assert main(["evaluate", "detector", "--data", str(ds), "--model", str(onnx), "--out", str(tmp_path / "eval-onnx")]) == 0
    m2 = json.loads((tmp_path / "eval-onnx" / "metrics.json").read_text())
    assert abs(m2["map50"] - m["map50"]) < 1e-6
