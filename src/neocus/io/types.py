"""Plain typed objects that the io stage hands to the rest of neocus."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neocus.io.sniff import Kind
from neocus.results import AsDict


@dataclass(frozen=True)
class CropRecord(AsDict):
    """Where a crop came from, so that any coordinate maps back to the source frame.

    The crop is the rectangle ``x, y, w, h`` of the source frame (pixels, x right, y down), optionally
    resized by ``scale`` afterwards (1.0 = no resize). ``to_source`` / ``from_source`` convert points.
    """

    x: int
    y: int
    w: int
    h: int
    source_height: int
    source_width: int
    scale: float = 1.0

    def to_source(self, points: np.ndarray) -> np.ndarray:
        """Map ``[..., 2]`` (x, y) points of the cropped image to the source frame."""
        pts = np.asarray(points, dtype=np.float64)
        return pts / self.scale + np.array([self.x, self.y], dtype=np.float64)

    def from_source(self, points: np.ndarray) -> np.ndarray:
        """Map ``[..., 2]`` (x, y) points of the source frame into the cropped image."""
        pts = np.asarray(points, dtype=np.float64)
        return (pts - np.array([self.x, self.y], dtype=np.float64)) * self.scale


@dataclass(frozen=True)
class SweepMeta(AsDict):
    """What is known about a decoded sweep. Holds no patient identifiers (see neocus.io.deid)."""

    source: str  # file or folder name the frames came from (a path as the user gave it, no PHI)
    format: str  # "video", "dicom", "image", "image_folder"
    fps: float | None  # frames per second when known
    spacing_mm: tuple[float, float] | None  # (row, column) pixel spacing in mm, when known
    timestamps_s: np.ndarray  # [T] seconds from the first frame (from frame times, fps, or frame index)
    source_height: int
    source_width: int
    modality: str | None = None  # DICOM modality, e.g. "US"
    photometric: str | None = None  # the source's colour model before conversion to greyscale
    transfer_syntax: str | None = None
    kept_tags: dict[str, str | float | int] = field(default_factory=dict)  # de-identified header fields kept
    crop: CropRecord | None = None  # set by neocus.io.roi.apply_roi: where these frames sit in the source frame
    ignored_files: tuple[str, ...] = ()  # a folder of frames: names of the other files in it, not read


@dataclass(frozen=True)
class SweepInfo(AsDict):
    """What :func:`neocus.io.probe` reads from a sweep's header or container, without decoding pixels.

    ``frames``: DICOM Number of Frames; the number of stills of a folder (1 for a still); for a video,
    the count its container lists (OpenCV's ``CAP_PROP_FRAME_COUNT``: the sample count of an MP4/MOV,
    the index length of an AVI, an estimate from duration x fps for Matroska). :func:`load_sweep`
    decodes to the end and may find fewer (it accepts up to max(2, 2 %) fewer; more is reported as a
    truncated file); ``None`` when the container lists no count.
    ``height`` / ``width``: pixels of a frame as stored. ``fps``: frames per second when known (DICOM
    frame time / cine rate, the container's rate), else ``None``. ``spacing_mm``: (row, column) mm per
    pixel when the header gives it (DICOM only, as :func:`load_sweep` reads it), else ``None``.
    Holds no patient identifiers.
    """

    source: str  # file or folder as the user gave it
    kind: Kind  # what the content was sniffed to be (mp4, avi, dicom, png, image_folder, ...)
    format: str  # as SweepMeta.format: "video", "dicom", "image", "image_folder"
    frames: int | None
    height: int
    width: int
    fps: float | None = None
    spacing_mm: tuple[float, float] | None = None
    modality: str | None = None  # DICOM modality, e.g. "US"


@dataclass(frozen=True)
class Sweep:
    """Greyscale frames ``[T, H, W]`` (uint8) with their metadata."""

    frames: np.ndarray
    meta: SweepMeta

    def __post_init__(self) -> None:
        f = self.frames
        if not (isinstance(f, np.ndarray) and f.dtype == np.uint8 and f.ndim == 3):
            raise TypeError(f"Sweep.frames must be a uint8 array [T, H, W], got {getattr(f, 'dtype', type(f))} {getattr(f, 'shape', '')}")

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def source_path(self) -> Path:
        return Path(self.meta.source)
