"""The two models a screen needs, found and loaded once: the structure detector and the diagnosis bundle.

A models folder (``--models DIR``; None: the bundled ``models/`` of the source tree) holds::

    DIR/detector/model.onnx    the detector exported to ONNX (run under onnxruntime: faster on the CPU), or
    DIR/detector/model.pt      the neocus.detect model file (torch); ``default.onnx`` / ``default.pt`` are also found
    DIR/diagnosis/             a diagnosis bundle (config.json, fold*.pt, calibration.json)

Each file is identified in the result by its name, the version information it carries and its
SHA-256, so a result can be traced to the exact weights that made it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neocus.bundled import BUNDLED_MODELS
from neocus.errors import InputFileError

DETECTOR_FILES = ("model.onnx", "default.onnx", "model.pt", "default.pt")  # onnxruntime first: faster on the CPU (docs/screen.md)


@dataclass(frozen=True)
class ModelInfo:
    """What a result records about one model: where it came from (a path, no patient data), its
    version information and the SHA-256 of its files."""

    kind: str  # "detector" | "diagnosis"
    path: str
    sha256: str  # of the file; for a bundle, of its files' hashes in name order
    version: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ScreenModels:
    """Loaded models: a :class:`neocus.detect.Detector` and a :class:`neocus.diagnose.Bundle`."""

    detector: Any
    bundle: Any
    info: tuple[ModelInfo, ModelInfo]

    def describe(self) -> list[dict[str, Any]]:
        return [{"kind": m.kind, "path": m.path, "sha256": m.sha256, "version": m.version} for m in self.info]


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _missing(kind: str, where: Path, root_given: bool) -> InputFileError:
    if root_given:
        hint = (f"put the {kind} in {where} (see docs/screen.md, Models)")
    else:
        hint = (f"no trained {kind} model is bundled yet: train one with `neocus train {kind}` and pass a folder "
                "holding detector/model.pt and diagnosis/ as `models` (docs/screen.md, Models)")
    return InputFileError(f"no {kind} model found", where=where, hint=hint)


def find_detector(root: Path, *, root_given: bool) -> Path:
    folder = root / "detector"
    for name in DETECTOR_FILES:
        if (folder / name).is_file():
            return folder / name
    raise _missing("detector", folder, root_given)


def _bundle_hash(folder: Path) -> str:
    files = sorted(p for p in folder.iterdir() if p.is_file() and (p.suffix == ".pt" or p.name in ("config.json", "calibration.json")))
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.name}:{file_sha256(p)}\n".encode())
    return h.hexdigest()


def load_models(root: str | Path | None = None, *, detector_threads: int | None = None, device: str = "cpu") -> ScreenModels:
    """Load the detector and the diagnosis bundle from a models folder (None: the bundled ``models/``)
    onto ``device`` (cpu, cuda; an ONNX detector runs under onnxruntime on the CPU).
    A missing model is an :class:`InputFileError` naming it and saying how to get one."""
    from neocus.detect import Detector
    from neocus.diagnose import load_bundle

    given = root is not None
    folder = Path(root) if given else BUNDLED_MODELS
    if given and not folder.is_dir():
        raise InputFileError("no such models folder", where=folder, hint="give a folder holding detector/ and diagnosis/")
    det_path = find_detector(folder, root_given=given)
    if not (folder / "diagnosis" / "config.json").is_file():
        raise _missing("diagnosis", folder / "diagnosis", given)
    backend = "onnx" if det_path.suffix == ".onnx" else "torch"
    detector = Detector(det_path, backend=backend, num_threads=detector_threads, device=device if backend == "torch" else "cpu")
    bundle = load_bundle(folder / "diagnosis", device=device)
    det_version = {"backend": backend, **{k: v for k, v in detector.info.items() if isinstance(v, (str, int, float, bool))}}
    if backend == "torch":
        det_version["config"] = detector.config.name
    diag_version = {"backbone": bundle.config.model.backbone.value, "image_size_hw": list(bundle.config.model.image_size_hw),
                    "folds": list(bundle.config.folds), "tta": bundle.config.tta.value, "calibration": bundle.calibration.method.value}
    info = (ModelInfo("detector", str(det_path), file_sha256(det_path), det_version),
            ModelInfo("diagnosis", str(folder / "diagnosis"), _bundle_hash(folder / "diagnosis"), diag_version))
    return ScreenModels(detector, bundle, info)
