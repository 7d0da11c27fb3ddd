"""The steps of :func:`neocus.screen.screen`, one small function each, joined by plain objects.

Each step calls the stage's own package (io, io.roi, detect, views, diagnose, explain); nothing here
re-implements a stage. Problems with one input are recorded on it and the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import cv2
import numpy as np

from neocus.errors import NeocusError
from neocus.io.types import Sweep
from neocus.screen.inputs import InputItem
from neocus.screen.models import file_sha256
from neocus.screen.result import InputRecord


class StageClock:
    """Wall seconds per stage (``with clock("detect"): ...``), summed when a stage runs more than once."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


@dataclass(frozen=True, eq=False)
class Loaded:
    """One input after decoding (``sweep`` None: unreadable, see ``record.error``) and ROI cropping."""

    item: InputItem
    record: InputRecord
    sweep: Sweep | None = None
    cropped: Sweep | None = None  # ROI-cropped, non-imaging pixels blanked (meta.crop maps back)

    @property
    def is_sweep(self) -> bool:
        return self.sweep is not None and self.sweep.n_frames > 1


def decode(item: InputItem) -> Loaded:
    """Decode one input with :func:`neocus.io.load_sweep`; a refusal is recorded, not raised."""
    from neocus.io import load_sweep

    sha = file_sha256(item.path) if item.path.is_file() else None
    kind = item.kind.value if item.kind is not None else None
    if item.error is not None:
        return Loaded(item, InputRecord(item.name, kind, "unreadable", sha, error=item.error))
    try:
        sweep = load_sweep(item.path, show_progress=False)
    except NeocusError as exc:
        return Loaded(item, InputRecord(item.name, kind, "unreadable", sha, error=exc.what))
    used = "sweep" if sweep.n_frames > 1 else "still"
    record = InputRecord(item.name, kind, used, sha, n_frames=sweep.n_frames, fps=sweep.meta.fps, size_wh=(sweep.width, sweep.height))
    return Loaded(item, record, sweep)


def crop_roi(loaded: Loaded, warnings: list[str]) -> Loaded:
    """Crop to the imaging region (:func:`neocus.io.roi.crop_to_imaging_region`); when none is found the whole frame is used."""
    from neocus.io.roi import crop_to_imaging_region

    if loaded.sweep is None:
        return loaded
    cut = crop_to_imaging_region(loaded.sweep)
    if cut.roi is None:
        warnings.append(f"{loaded.item.name}: no imaging region found ({cut.reason}); the whole frame is used")
        return replace(loaded, cropped=cut.sweep)
    c = cut.roi.crop
    return replace(loaded, cropped=cut.sweep, record=replace(loaded.record, roi_xywh=(c.x, c.y, c.w, c.h)))


def detect(loaded: Loaded, detector) -> tuple:  # noqa: ANN001
    """Per-frame detections of a cropped input, boxes in source pixels."""
    s = loaded.cropped
    return tuple(detector.detect_frames(s.frames, crop=s.meta.crop))


def overlay_picture(picture: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """The heatmap (model resolution) laid over the full-resolution square view picture."""
    from neocus.explain import overlay

    h, w = picture.shape
    return overlay(picture, cv2.resize(heatmap, (w, h), interpolation=cv2.INTER_LINEAR))
