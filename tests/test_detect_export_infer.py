"""ONNX export parity, the Detector API (letterbox and ROI crop mapped back), and model-file errors."""

import numpy as np
import pytest
import torch

from neocus.detect.checkpoint import load_model, save_model
from neocus.detect.config import load_config
from neocus.detect.data import letterbox
from neocus.detect.export import PARITY_BOX_TOL_PX, check_parity, export_onnx, quantize_static_int8
from neocus.detect.infer import Detector, decode, to_source
from neocus.detect.model import RotatedRtDetr
from neocus.errors import InputFileError, NeocusError
from neocus.geometry import rbox_iou
from neocus.io.types import CropRecord

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch.manual_seed(0)
    cfg = load_config("tiny")
    model = RotatedRtDetr(cfg.model).eval()
    return save_model(tmp_path_factory.mktemp("m") / "model.pt", model, cfg)


def test_onnx_matches_torch(tiny_model, tmp_path):
    onnx = export_onnx(tiny_model, out_path=tmp_path / "d.onnx")
    parity = check_parity(tiny_model, onnx_path=onnx, n=3)
    assert parity.within_tolerance and parity.max_box_diff_px <= PARITY_BOX_TOL_PX
    frames = np.random.default_rng(1).integers(0, 255, (3, 120, 150), dtype=np.uint8)
    a = Detector(tiny_model, score_threshold=0.0, max_detections=5).detect_frames(frames)
    b = Detector(onnx, backend="onnx", score_threshold=0.0, max_detections=5).detect_frames(frames)
    for fa, fb in zip(a, b):
        assert [d.structure for d in fa.detections] == [d.structure for d in fb.detections]
        ba, bb = fa.arrays()[0], fb.arrays()[0]
        assert np.allclose(ba[:, :4], bb[:, :4], atol=0.05)
        assert np.all(rbox_iou(ba, bb) > 0.999)


def test_half_precision_file_loads_into_a_float32_network(tiny_model, tmp_path):
    full = load_model(tiny_model)
    half = load_model(save_model(tmp_path / "half.pt", full.model, full.config, half=True))
    assert (tmp_path / "half.pt").stat().st_size < 0.7 * tiny_model.stat().st_size
    assert all(p.dtype == torch.float32 for p in half.model.parameters())
    a, b = full.model.state_dict(), half.model.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), rtol=1e-3, atol=1e-4) for k in a)
    x = torch.rand(2, 1, full.config.model.input_size, full.config.model.input_size)
    with torch.inference_mode():  # (boxes may differ by which near-tied query the top-k picks: random weights)
        assert float((full.model(x)[0] - half.model(x)[0]).abs().max()) < 0.02


def test_static_int8_model_runs_with_the_same_interface(tiny_model, tmp_path):
    import onnxruntime as ort

    onnx = export_onnx(tiny_model, out_path=tmp_path / "d.onnx")
    s = load_model(tiny_model).config.model.input_size
    calib = np.random.default_rng(0).integers(0, 255, (4, s, s), dtype=np.uint8)
    q = quantize_static_int8(onnx, calib, out_path=tmp_path / "d.qdq.onnx")
    ops = {n.op_type for n in __import__("onnx").load(str(q)).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    x = calib[:2, None].astype(np.float32) / 255.0
    scores, boxes = ort.InferenceSession(str(q), providers=["CPUExecutionProvider"]).run(None, {"images": x})
    assert scores.shape[:2] == boxes.shape[:2] == (2, load_model(tiny_model).config.model.num_queries) and np.isfinite(boxes).all()
    with pytest.raises(ValueError, match="uint8"):
        quantize_static_int8(onnx, calib.astype(np.float32), out_path=tmp_path / "bad.onnx")


def test_letterbox_and_crop_map_back_to_source():
    img = np.zeros((100, 200), np.uint8)
    lb = letterbox(img, size=64)
    assert lb.image.shape == (64, 64) and (lb.scale, lb.pad_x, lb.pad_y) == (0.32, 0.0, 16.0)
    frame_box = np.array([[50.0, 40.0, 30.0, 10.0, 20.0]])
    in_input = lb.to_input(frame_box)
    crop = CropRecord(x=10, y=20, w=200, h=100, source_height=300, source_width=400)
    (src,) = to_source(in_input, lb, crop)
    assert np.allclose(src.as_tuple(), (60.0, 60.0, 30.0, 10.0, 20.0))


def test_decode_takes_top_scores_over_queries_and_classes():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.05, 0.01]])
    boxes = np.arange(15, dtype=float).reshape(3, 5)
    b, s, c = decode(scores, boxes, max_detections=3, score_threshold=0.15)
    assert s.tolist() == [0.9, 0.8, 0.2] and c.tolist() == [1, 0, 1] and b[:, 0].tolist() == [0, 5, 5]


def test_missing_corrupt_and_foreign_model_files(tmp_path):
    with pytest.raises(InputFileError, match="no such model file"):
        load_model(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage")
    with pytest.raises(InputFileError, match="cannot read"):
        load_model(tmp_path / "junk.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(InputFileError, match="not a neocus detector"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "bad.onnx").write_bytes(b"nope")
    with pytest.raises(InputFileError, match="onnxruntime cannot load"):
        Detector(tmp_path / "bad.onnx", backend="onnx")
    with pytest.raises(NeocusError, match="frames must be uint8"):
        Detector.__new__(Detector).detect_frames(np.zeros((2, 3, 4, 5)))
