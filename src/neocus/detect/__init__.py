"""Stage 1a: rotated boxes of anatomical structures in every frame (an RT-DETR-family detector).

    from neocus.detect import Detector
    dets = Detector("model.pt").detect_sweep(sweep)   # list[FrameDetections], boxes in source pixels

Modules: ``config`` (configs are files), ``model`` (+ ``encoder``, ``decoder``), ``criterion``
(matching and losses), ``augment`` + ``data`` (phantom recipe, datasets), ``train``, ``evaluate``
(rotated mAP) + ``report``, ``infer`` (the Python API over frames and sweeps), ``export`` (ONNX).
Names are imported lazily, so ``import neocus.detect`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DETECTOR_CLASSES": "neocus.detect.classes",
    "Detection": "neocus.detect.infer",
    "Detector": "neocus.detect.infer",
    "DetectorConfig": "neocus.detect.config",
    "DetectionMetrics": "neocus.detect.evaluate",
    "FrameDetections": "neocus.detect.infer",
    "FramePrediction": "neocus.detect.evaluate",
    "evaluate_detections": "neocus.detect.evaluate",
    "export_onnx": "neocus.detect.export",
    "load_config": "neocus.detect.config",
    "load_model": "neocus.detect.checkpoint",
    "train_detector": "neocus.detect.train",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'neocus.detect' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return __all__
