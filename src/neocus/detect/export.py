"""ONNX export of the detector (fixed input size, dynamic batch) and a parity check against torch,
plus INT8 quantisation for onnxruntime: dynamic (weights only) or static QDQ (weights and
activations, calibrated on letterboxed frames)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neocus.atomic import atomic_target
from neocus.detect.checkpoint import load_model
from neocus.results import AsDict

OPSET = 17
PARITY_BOX_TOL_PX = 0.05
PARITY_SCORE_TOL = 1e-3


class _Inference(torch.nn.Module):
    """The eval-mode forward with one input, as the exporter wants it."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(images)


@dataclass(frozen=True)
class ParityResult(AsDict):
    max_box_diff_px: float
    max_score_diff: float
    within_tolerance: bool


def export_onnx(model_path: str | Path | None, *, out_path: str | Path) -> Path:
    """Write the model (eval mode, EMA weights) to ``out_path`` as ONNX: input ``images`` float
    ``[B, 1, S, S]`` in [0, 1]; outputs ``scores [B, Q, C]`` and ``boxes [B, Q, 5]`` (input pixels, degrees)."""
    loaded = load_model(model_path)
    model, s = loaded.model, loaded.config.model.input_size
    x = torch.zeros(2, 1, s, s)
    out = Path(out_path)
    with atomic_target(out, make_parents=True) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Inference(model).eval(), (x,), str(tmp), input_names=["images"], output_names=["scores", "boxes"],
                          dynamic_axes={"images": {0: "batch"}, "scores": {0: "batch"}, "boxes": {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
    return out


def check_parity(model_path: str | Path | None, *, onnx_path: str | Path, n: int = 2, seed: int = 0) -> ParityResult:
    """Run torch and onnxruntime on the same random frames and compare the outputs."""
    import onnxruntime as ort

    loaded = load_model(model_path)
    model, s = loaded.model, loaded.config.model.input_size
    x = torch.from_numpy(np.random.default_rng(seed).random((n, 1, s, s), dtype=np.float32))
    with torch.inference_mode():
        ts, tb = model(x)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    os_, ob = sess.run(None, {"images": x.numpy()})
    db = float(np.abs(ob - tb.numpy()).max())
    ds = float(np.abs(os_ - ts.numpy()).max())
    return ParityResult(max_box_diff_px=db, max_score_diff=ds, within_tolerance=db <= PARITY_BOX_TOL_PX and ds <= PARITY_SCORE_TOL)


def quantize_int8(onnx_path: str | Path, *, out_path: str | Path) -> Path:
    """Dynamic INT8 quantisation (weights of MatMul / Gemm) with onnxruntime's quantiser."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = Path(out_path)
    with atomic_target(out, make_parents=True) as tmp:
        quantize_dynamic(str(onnx_path), str(tmp), weight_type=QuantType.QInt8)
    return out


class _Frames:
    """onnxruntime's calibration data reader over letterboxed uint8 frames ``[N, S, S]``, a few at a time."""

    def __init__(self, frames: np.ndarray, batch: int):
        self._batches = iter([frames[i:i + batch] for i in range(0, len(frames), batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        b = next(self._batches, None)
        return None if b is None else {"images": b.astype(np.float32)[:, None] / 255.0}


def quantize_static_int8(onnx_path: str | Path, calibration: np.ndarray, *, out_path: str | Path, batch: int = 4) -> Path:
    """Static QDQ INT8 (per-channel weights, activations calibrated on ``calibration``: letterboxed uint8
    frames ``[N, S, S]`` at the model's input size) for the convolutions and matrix products; the
    attention's softmax, layer norms and ``grid_sample`` stay in float."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    frames = np.asarray(calibration)
    if frames.ndim != 3 or frames.dtype != np.uint8 or not len(frames):
        raise ValueError(f"calibration must be uint8 frames [N, S, S], got {frames.dtype} {frames.shape}")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = Path(out_path)
    with atomic_target(out, make_parents=True) as tmp:
        pre = Path(str(tmp) + ".pre.onnx")
        try:
            quant_pre_process(str(onnx_path), str(pre), skip_symbolic_shape=True)
        except Exception:  # noqa: BLE001 - the optimiser is optional; quantise the model as exported
            pre = Path(onnx_path)
        quantize_static(str(pre), str(tmp), _Frames(frames, batch), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=["Conv", "MatMul", "Gemm"], per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, extra_options={"ActivationSymmetric": True})
        if pre != Path(onnx_path):
            pre.unlink(missing_ok=True)
    return out
