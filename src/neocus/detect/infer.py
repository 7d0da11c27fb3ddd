"""The detector's Python API: typed per-frame detections for frames and whole sweeps.

    from neocus.detect import Detector
    det = Detector()                       # bundled default model (models/detector/default.pt)
    dets = det.detect_sweep(sweep)         # ROI crop -> letterbox -> batched model -> source pixels
    dets[12].detections[0].structure, .score, .box   # RotatedBox in pixels of the source frame

The model runs under torch or, from an exported ``.onnx`` file, under onnxruntime (same outputs
within the tolerance stated in docs/detector.md). Decoding is RT-DETR's: the top scores over
queries x classes, no NMS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import torch

from neocus.detect.checkpoint import load_model
from neocus.detect.classes import DETECTOR_CLASSES
from neocus.detect.data import Letterbox, letterbox
from neocus.errors import InputFileError, NeocusError, parse_choice
from neocus.geometry.rotated import RotatedBox
from neocus.io.types import CropRecord, Sweep
from neocus.results import AsDict
from neocus.vocab import Structure


class Backend(StrEnum):
    TORCH = "torch"
    ONNX = "onnx"


@dataclass(frozen=True)
class Detection(AsDict):
    structure: Structure
    score: float
    box: RotatedBox  # pixels of the source frame


@dataclass(frozen=True)
class FrameDetections(AsDict):
    frame: int
    detections: tuple[Detection, ...]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``boxes [N, 5]``, ``scores [N]``, class indices ``[N]`` (for evaluation)."""
        idx = {s: i for i, s in enumerate(DETECTOR_CLASSES)}
        return (np.array([d.box.as_tuple() for d in self.detections], np.float64).reshape(-1, 5),
                np.array([d.score for d in self.detections], np.float64), np.array([idx[d.structure] for d in self.detections], np.int64))


def decode(scores: np.ndarray, boxes: np.ndarray, *, max_detections: int, score_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One frame's raw outputs (``[Q, C]`` scores, ``[Q, 5]`` input-pixel boxes) -> top boxes, scores, classes."""
    flat = scores.reshape(-1)
    k = min(max_detections, flat.size)
    top = np.argpartition(-flat, k - 1)[:k]
    top = top[np.argsort(-flat[top], kind="stable")]
    top = top[flat[top] >= score_threshold]
    q, c = np.divmod(top, scores.shape[1])
    return boxes[q].astype(np.float64), flat[top].astype(np.float64), c.astype(np.int64)


def to_source(boxes: np.ndarray, lb: Letterbox, crop: CropRecord | None) -> list[RotatedBox]:
    """Input-pixel boxes -> frame pixels (undo the letterbox) -> source pixels (undo the ROI crop)."""
    b = lb.to_frame(boxes)
    if crop is not None:
        b[:, :2] = crop.to_source(b[:, :2])
        b[:, 2:4] /= crop.scale
    return [RotatedBox.from_any(*row) for row in b]


class Detector:
    """A loaded detector (torch ``model.pt`` or onnxruntime ``.onnx``)."""

    def __init__(self, model_path: str | Path | None = None, *, backend: Backend | str = Backend.TORCH, score_threshold: float = 0.3,
                 max_detections: int = 30, batch_size: int = 8, num_threads: int | None = None, device: str = "cpu"):
        self.backend = parse_choice(Backend, backend, what="backend")
        self.score_threshold, self.max_detections, self.batch_size = score_threshold, max_detections, batch_size
        self.device = torch.device(device)
        if self.backend is Backend.TORCH:
            loaded = load_model(model_path)
            self.model, self.config, self.info = loaded.model.to(self.device), loaded.config, loaded.info
            self.input_size = self.config.model.input_size
            self.session = None
        else:
            self.model, self.info = None, {}
            self.session, self.input_size = _ort_session(model_path, num_threads)

    def raw(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model outputs for letterboxed uint8 inputs ``[B, S, S]``: scores ``[B, Q, C]``, boxes ``[B, Q, 5]``."""
        x = batch.astype(np.float32)[:, None] / 255.0
        if self.session is not None:
            s, b = self.session.run(None, {"images": x})
            return s, b
        with torch.inference_mode():
            s, b = self.model(torch.from_numpy(x).to(self.device))
        return s.float().cpu().numpy(), b.float().cpu().numpy()

    def _batches(self, frames: np.ndarray) -> Iterator[tuple[int, np.ndarray, list[Letterbox]]]:
        for start in range(0, len(frames), self.batch_size):
            boxed = [letterbox(f, size=self.input_size) for f in frames[start:start + self.batch_size]]
            yield start, np.stack([b.image for b in boxed]), boxed

    def detect_frames(self, frames: np.ndarray, *, crop: CropRecord | None = None) -> list[FrameDetections]:
        """Detections in uint8 frames ``[T, H, W]`` (or one ``[H, W]``); ``crop`` maps them to source pixels."""
        frames = np.asarray(frames)
        if frames.ndim == 2:
            frames = frames[None]
        if frames.ndim != 3 or frames.dtype != np.uint8:
            raise NeocusError(f"frames must be uint8 [T, H, W], got {frames.dtype} {frames.shape}", where="frames",
                              hint="decode with neocus.io.load_sweep")
        out = []
        for start, batch, lbs in self._batches(frames):
            scores, boxes = self.raw(batch)
            for i, lb in enumerate(lbs):
                b, s, c = decode(scores[i], boxes[i], max_detections=self.max_detections, score_threshold=self.score_threshold)
                dets = tuple(Detection(structure=DETECTOR_CLASSES[int(ci)], score=float(si), box=bx)
                             for bx, si, ci in zip(to_source(b, lb, crop), s, c))
                out.append(FrameDetections(frame=start + i, detections=dets))
        return out

    def detect_sweep(self, sweep: Sweep, *, roi: bool = True) -> list[FrameDetections]:
        """Detections in every frame of a sweep, ROI-cropped first (boxes in source-frame pixels); a sweep
        without a detectable imaging region is read whole (:func:`neocus.io.roi.crop_to_imaging_region`)."""
        if roi:
            from neocus.io.roi import crop_to_imaging_region

            sweep = crop_to_imaging_region(sweep).sweep
        return self.detect_frames(sweep.frames, crop=sweep.meta.crop)


def _ort_session(path: str | Path | None, num_threads: int | None):  # noqa: ANN202
    import onnxruntime as ort

    if path is None or not Path(path).is_file():
        raise InputFileError("no such ONNX model file", where=path or "model", hint="export one with `neocus export detector`")
    opts = ort.SessionOptions()
    if num_threads:
        opts.intra_op_num_threads = num_threads
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for bad files
        raise InputFileError(f"onnxruntime cannot load it ({type(exc).__name__})", where=path, hint="export the model again") from None
    shape = session.get_inputs()[0].shape
    if not isinstance(shape[-1], int):
        raise InputFileError("the ONNX model has no fixed input size", where=path, hint="export it with `neocus export detector`")
    return session, int(shape[-1])
