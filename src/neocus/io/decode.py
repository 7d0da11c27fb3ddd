"""Helpers every reader shares: decode limits, colour to greyscale, frame accumulation, progress.

Conventions: frames are ``uint8`` greyscale ``[H, W]``; colour is converted once, here, with the
ITU-R BT.601 luma weights (``0.299 R + 0.587 G + 0.114 B``, what OpenCV's ``*2GRAY`` uses).
"""

from __future__ import annotations

import contextlib
import locale
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from neocus.errors import InputFileError

T = TypeVar("T")

#: ITU-R BT.601 luma weights of R, G, B.
BT601_RGB = np.array([0.299, 0.587, 0.114])

#: Environment variable that overrides :attr:`DecodeLimits.max_bytes` (an integer number of bytes).
MAX_BYTES_ENV = "NEOCUS_MAX_DECODE_BYTES"


@dataclass(frozen=True)
class DecodeLimits:
    """What a reader refuses before it allocates.

    ``max_side``: largest frame width or height in pixels (default 8192; ultrasound screens are
    ~1-2 k). ``max_bytes``: largest decoded sweep in bytes, counted as uint8 greyscale ``T*H*W``
    (default 4 GiB, or the value of ``$NEOCUS_MAX_DECODE_BYTES``).
    """

    max_side: int = 8192
    max_bytes: int = 4 * 1024**3

    @classmethod
    def default(cls) -> DecodeLimits:
        env = os.environ.get(MAX_BYTES_ENV)
        if env:
            try:
                return cls(max_bytes=int(env))
            except ValueError:
                raise InputFileError(f"${MAX_BYTES_ENV} must be an integer number of bytes, got {env!r}") from None
        return cls()

    def check_frame(self, height: int, width: int, *, where: str | Path) -> None:
        """Refuse a frame size outside ``1..max_side`` on either side."""
        if height <= 0 or width <= 0:
            raise InputFileError(f"frame size {width}x{height} is empty", where=where, hint="the file is corrupt or truncated")
        if height > self.max_side or width > self.max_side:
            raise InputFileError(
                f"frame size {width}x{height} exceeds the limit of {self.max_side} px a side",
                where=where,
                hint="neocus reads ultrasound screens; pass DecodeLimits(max_side=...) if this is intended",
            )

    def check_total(self, n_frames: int, height: int, width: int, *, where: str | Path, bytes_per_pixel: int = 1) -> None:
        """Refuse a sweep whose decoded size ``n_frames*height*width*bytes_per_pixel`` exceeds ``max_bytes``."""
        total = int(n_frames) * int(height) * int(width) * int(bytes_per_pixel)
        if total > self.max_bytes:
            raise InputFileError(
                f"{n_frames} frames of {width}x{height} need {human_bytes(total)} decoded, "
                f"above the limit of {human_bytes(self.max_bytes)}",
                where=where,
                hint=f"raise DecodeLimits(max_bytes=...) or ${MAX_BYTES_ENV}, or split the sweep",
            )


def human_bytes(n: int) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def to_grey(frame: np.ndarray, *, channel_order: str = "RGB") -> np.ndarray:
    """Convert one frame ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` to greyscale (BT.601).

    ``channel_order`` is ``"RGB"`` (pydicom, PIL) or ``"BGR"`` (OpenCV). Alpha is dropped. The dtype
    is kept (uint8 in, uint8 out; uint16 in, uint16 out); use :func:`to_uint8` afterwards.
    """
    if frame.ndim == 2:
        return frame
    if frame.ndim != 3:
        raise ValueError(f"a frame must be [H, W] or [H, W, C], got shape {frame.shape}")
    channels = frame.shape[2]
    if channels == 1:
        return frame[:, :, 0]
    if channels not in (3, 4):
        raise ValueError(f"cannot convert {channels} channels to greyscale")
    rgb = frame[:, :, :3]
    if rgb.dtype in (np.uint8, np.uint16, np.float32):
        code = cv2.COLOR_RGB2GRAY if channel_order == "RGB" else cv2.COLOR_BGR2GRAY
        return cv2.cvtColor(np.ascontiguousarray(rgb), code)
    weights = BT601_RGB if channel_order == "RGB" else BT601_RGB[::-1]
    return (rgb.astype(np.float64) @ weights).astype(frame.dtype)


def scale_to_uint8(frames: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map ``[low, high]`` linearly onto ``0..255`` (clipping outside) and round to uint8."""
    if high <= low:
        return np.zeros(frames.shape, dtype=np.uint8)
    scaled = (frames.astype(np.float32) - np.float32(low)) * np.float32(255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


class FrameStack:
    """Collect frames of one size into a growing ``[T, H, W]`` buffer without re-stacking.

    Capacity starts at ``expected`` frames (a hint; it may be wrong, e.g. a video's reported frame
    count) and doubles when full; :meth:`result` trims it. ``limits`` is checked as frames arrive.
    """

    def __init__(self, height: int, width: int, *, expected: int, limits: DecodeLimits, where: str | Path, dtype: np.dtype = np.uint8):
        self.height, self.width = int(height), int(width)
        self.limits, self.where = limits, where
        self.dtype = np.dtype(dtype)
        bytes_per_frame = self.height * self.width * self.dtype.itemsize
        self._max_frames = max(1, limits.max_bytes // max(bytes_per_frame, 1))
        cap = int(min(max(expected, 1), self._max_frames))
        self._buf = np.empty((cap, self.height, self.width), dtype=self.dtype)
        self.count = 0

    def append(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width):
            raise InputFileError(
                f"frame {self.count} is {frame.shape[1]}x{frame.shape[0]}, the first was {self.width}x{self.height}",
                where=self.where,
                hint="all frames of a sweep must have one size",
            )
        if self.count == self._buf.shape[0]:
            self.limits.check_total(self.count + 1, self.height, self.width, where=self.where, bytes_per_pixel=self.dtype.itemsize)
            grown = np.empty((min(2 * self.count, self._max_frames), self.height, self.width), dtype=self.dtype)
            grown[: self.count] = self._buf[: self.count]
            self._buf = grown
        self._buf[self.count] = frame
        self.count += 1

    def result(self) -> np.ndarray:
        if self.count == self._buf.shape[0]:
            return self._buf
        return self._buf[: self.count].copy()


def progress(items: Iterable[T], *, total: int | None, desc: str, enabled: bool | None) -> Iterator[T]:
    """Wrap ``items`` in a tqdm bar on stderr: shown when ``enabled`` is True, or (``None``) when stderr is a TTY."""
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, total=total, desc=desc, unit="frame", leave=False, file=sys.stderr)


def timestamps_from_fps(n_frames: int, fps: float | None) -> np.ndarray:
    """Seconds from the first frame at a constant ``fps``; the frame index when ``fps`` is unknown."""
    idx = np.arange(n_frames, dtype=np.float64)
    return idx / fps if fps else idx


_STDERR_LOCK = threading.RLock()


@contextlib.contextmanager
def process_locale_kept() -> Iterator[None]:
    """Restore the process locale after a native library changed it. GDCM (under SimpleITK's DICOM series
    reader and writer) sets the C locale, which turns Python's default text encoding into ASCII for the
    rest of the process, so a later ``read_text()`` of UTF-8 would fail."""
    saved = locale.setlocale(locale.LC_ALL)
    try:
        yield
    finally:
        if locale.setlocale(locale.LC_ALL) != saved:
            locale.setlocale(locale.LC_ALL, saved)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Discard what C libraries write straight to file descriptor 2 inside the block (libpng's
    ``libpng warning: ...``, OpenCV's ``[ WARN:0@...]`` lines), so a damaged file gives the user
    neocus's one line and nothing else. Python's own ``sys.stderr`` is flushed first; keep the block
    around the native call only (a progress bar drawn inside it would vanish too)."""
    with _STDERR_LOCK:
        sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no file descriptor 2 (a detached service): nothing to silence
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
