"""Decode MP4 / AVI / MOV / MKV sweeps with OpenCV (FFmpeg backend) to uint8 greyscale ``[T, H, W]``.

The container's frame count is only a hint (it can be wrong): frames are decoded to the end, and a
shortfall beyond a small tolerance is reported as a truncated file.

Decoding goes straight to greyscale when it can: OpenCV is asked for the raw luma plane (``Y`` of
YUV, which *is* BT.601 luma) instead of a BGR picture, saving the YUV->BGR->grey round trip. The luma range
(limited 16-235 or full 0-255) is found by comparing the first frame with OpenCV's own BGR->grey, and
the raw path is only used when the two agree (mean difference < 1 grey level); otherwise decoding
falls back to BGR -> grey. On the real GE sweep (118 frames, 1442x898, MPEG-4 part 2) the two paths
differ by 0.19 grey levels on average (at most 2). The raw path skips two colour conversions: in
bare decode loops it took ~0.32-0.41 s CPU against ~0.48-0.56 s; end to end, on this shared 2-core
machine under load, the gain is between nothing and ~20 % depending on the run
(benchmarks/bench_io_decode.py alternates both paths and reports frames/s and CPU time).
Timestamps come from the container's per-frame presentation times.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# FFmpeg's own log lines ("[mpeg4 @ 0x...] ac-tex damaged") would break neocus's one-line error output;
# quiet unless the user asked for a level (read when OpenCV first starts FFmpeg; 24 shows warnings).
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # after the environment variable above (ruff: E402 not enabled here)
import numpy as np

from neocus.errors import InputFileError
from neocus.io.decode import DecodeLimits, FrameStack, progress, timestamps_from_fps, to_grey
from neocus.io.sniff import Kind, detect_kind
from neocus.io.types import Sweep, SweepInfo, SweepMeta

#: The largest mean difference (grey levels) between raw luma and BGR->grey that allows the fast path.
RAW_LUMA_TOLERANCE = 1.0

#: A video that decodes fewer frames than its container lists, by more than
#: max(TRUNCATION_TOLERANCE_FRAMES, TRUNCATION_TOLERANCE_FRACTION * listed), is reported as truncated.
#: (Listed counts estimated from duration x fps can be off by a frame or two; more means lost data.)
TRUNCATION_TOLERANCE_FRAMES = 2
TRUNCATION_TOLERANCE_FRACTION = 0.02

_LIMITED_TO_FULL = np.clip(np.rint((np.arange(256) - 16) * 255.0 / 219.0), 0, 255).astype(np.uint8)
_IDENTITY = np.arange(256, dtype=np.uint8)


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log lines (e.g. FFmpeg's 'unsupported picture format', 'Could not find decoder
    for codec_id=0') inside the block: neocus reports what went wrong in its own one line."""
    logging = cv2.utils.logging
    previous = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(previous)


def mp4_top_level_boxes(path: Path, *, limit: int = 64) -> list[tuple[str, int]]:
    """``(type, size)`` of an ISO base media file's top-level boxes, up to the first damaged one."""
    boxes: list[tuple[str, int]] = []
    try:
        file_size = path.stat().st_size
        with open(path, "rb") as fh:
            offset = 0
            while offset + 8 <= file_size and len(boxes) < limit:
                fh.seek(offset)
                header = fh.read(16)
                size, kind = int.from_bytes(header[:4], "big"), header[4:8].decode("latin-1")
                if size == 1 and len(header) == 16:
                    size = int.from_bytes(header[8:16], "big")
                elif size == 0:
                    size = file_size - offset
                if size < 8 or offset + size > file_size:
                    boxes.append((kind, -1))  # cut off
                    break
                boxes.append((kind, size))
                offset += size
    except OSError:
        pass
    return boxes


def _why_not_open(path: Path) -> str:
    """A specific reason an MP4/MOV does not open, from its box structure; a generic one otherwise."""
    boxes = mp4_top_level_boxes(path) if path.is_file() else []
    kinds = {kind: size for kind, size in boxes}
    if boxes and boxes[0][0] == "ftyp":
        if any(size < 0 for _kind, size in boxes) or "moov" not in kinds:
            return "the video is truncated: its 'moov' index is missing or cut off (the recording was not finalised)"
        if kinds.get("mdat", 8) <= 8:
            return "the video has no frames (empty media data)"
    return "cannot open the video: corrupt, truncated or an unsupported codec"


def _open(path: Path, *, raw: bool) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise InputFileError(_why_not_open(path), where=path, hint="check that the file plays; re-export it as MP4 (H.264) if needed")
    if raw:
        cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)
    return cap


def _luma_lut(path: Path, raw_first: np.ndarray) -> np.ndarray | None:
    """The LUT mapping raw luma to BGR->grey values for this video, or ``None`` when raw luma is unusable."""
    if raw_first.dtype != np.uint8 or raw_first.ndim != 2:
        return None
    cap = _open(path, raw=False)
    try:
        ok, bgr = cap.read()
    finally:
        cap.release()
    if not ok or bgr is None or bgr.shape[:2] != raw_first.shape:
        return None
    grey = to_grey(bgr, channel_order="BGR")
    if int(grey.max()) - int(grey.min()) < 32:  # too flat to tell limited from full range
        return None
    best, best_err = None, RAW_LUMA_TOLERANCE
    for lut in (_LIMITED_TO_FULL, _IDENTITY):
        err = float(np.mean(np.abs(cv2.LUT(raw_first, lut).astype(np.int16) - grey.astype(np.int16))))
        if err < best_err:
            best, best_err = lut, err
    return best


def _sane_fps(value: float) -> float | None:
    return float(value) if np.isfinite(value) and 0.0 < value <= 1000.0 else None


def read_video(path: str | Path, *, limits: DecodeLimits | None = None, show_progress: bool | None = None, fast_grey: bool = True) -> Sweep:
    """Decode a video file to a :class:`Sweep`.

    ``fps`` is the container's frame rate (``None`` if it reports none); ``timestamps_s`` are the
    frames' presentation times in seconds from the first frame (or ``index / fps`` when the container
    gives none). ``fast_grey=False`` forces the BGR -> grey path.
    """
    path = Path(path)
    limits = limits or DecodeLimits.default()
    with quiet_opencv():
        return _read(path, limits=limits, show_progress=show_progress, fast_grey=fast_grey)


@dataclass(frozen=True)
class _Listed:
    """What a video's container lists: frame size, frame count (0 = none listed) and rate (``None`` = none)."""

    width: int
    height: int
    frames: int
    fps: float | None


def _open_checked(path: Path, limits: DecodeLimits, *, raw: bool) -> tuple[cv2.VideoCapture, _Listed]:
    """Open a video and read what its container lists; a listed size beyond ``limits`` is refused."""
    cap = _open(path, raw=raw)
    listed = _Listed(
        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        frames=max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0),
        fps=_sane_fps(cap.get(cv2.CAP_PROP_FPS)),
    )
    try:
        if listed.width > 0 and listed.height > 0:
            limits.check_frame(listed.height, listed.width, where=path)
            if listed.frames:
                limits.check_total(listed.frames, listed.height, listed.width, where=path)
    except InputFileError:
        cap.release()
        raise
    return cap, listed


def _first_frame(cap: cv2.VideoCapture, path: Path) -> np.ndarray:
    ok, first = cap.read()
    if not ok or first is None:
        raise InputFileError("the video has no frames that can be decoded", where=path, hint="the file is empty, truncated or corrupt")
    return first


def probe_video(path: str | Path, *, limits: DecodeLimits | None = None, kind: Kind | None = None) -> SweepInfo:
    """Frame count, size and rate of a video from its container, with :func:`read_video`'s checks on them.

    The count is the container's (see :class:`SweepInfo` for how exact it is). Only a container that
    lists no count or no frame size has its first frame decoded, to learn the size and to refuse a
    video without frames as :func:`read_video` does; damage further in shows only when decoding.
    """
    path = Path(path)
    limits = limits or DecodeLimits.default()
    with quiet_opencv():
        cap, listed = _open_checked(path, limits, raw=False)
        try:
            height, width = listed.height, listed.width
            if not (listed.frames and height > 0 and width > 0):
                height, width = _first_frame(cap, path).shape[:2]
                limits.check_frame(height, width, where=path)
        finally:
            cap.release()
    return SweepInfo(
        source=str(path), kind=kind or detect_kind(path), format="video", frames=listed.frames or None, height=int(height), width=int(width), fps=listed.fps
    )


def _read(path: Path, *, limits: DecodeLimits, show_progress: bool | None, fast_grey: bool) -> Sweep:
    cap, listed = _open_checked(path, limits, raw=fast_grey)
    reported, fps = listed.frames, listed.fps
    try:
        first = _first_frame(cap, path)
        lut = _luma_lut(path, first) if fast_grey else None
        if fast_grey and lut is None:  # raw luma unusable here: start again in BGR mode
            cap.release()
            cap = _open(path, raw=False)
            first = _first_frame(cap, path)

        def grey_of(frame: np.ndarray) -> np.ndarray:
            return cv2.LUT(frame, lut) if lut is not None else to_grey(frame, channel_order="BGR")

        grey = grey_of(first)
        limits.check_frame(*grey.shape, where=path)
        stack = FrameStack(grey.shape[0], grey.shape[1], expected=reported or 64, limits=limits, where=path)
        stack.append(grey)
        times = [cap.get(cv2.CAP_PROP_POS_MSEC)]

        def frames() -> Iterator[np.ndarray]:
            while True:
                ok, frame = cap.read()
                if not ok or frame is None:
                    return
                yield frame

        for frame in progress(frames(), total=(reported - 1) if reported else None, desc=f"decoding {path.name}", enabled=show_progress):
            stack.append(grey_of(frame))
            times.append(cap.get(cv2.CAP_PROP_POS_MSEC))
    finally:
        cap.release()

    n = stack.count
    if reported and reported - n > max(TRUNCATION_TOLERANCE_FRAMES, TRUNCATION_TOLERANCE_FRACTION * reported):
        raise InputFileError(
            f"the video ends early: decoded {n} of the {reported} frames its container lists",
            where=path,
            hint="the file is truncated or corrupt",
        )
    frames_arr = stack.result()
    timestamps = _timestamps(np.asarray(times, dtype=np.float64) / 1000.0, n, fps)
    meta = SweepMeta(
        source=str(path),
        format="video",
        fps=fps,
        spacing_mm=None,
        timestamps_s=timestamps,
        source_height=int(frames_arr.shape[1]),
        source_width=int(frames_arr.shape[2]),
        photometric="YUV" if lut is not None else None,  # OpenCV does not report the source's pixel format
        kept_tags={"container_frame_count": reported, "decoded_frame_count": n, "grey_from": "luma plane" if lut is not None else "BGR"},
    )
    return Sweep(frames=frames_arr, meta=meta)


def _timestamps(pts_s: np.ndarray, n: int, fps: float | None) -> np.ndarray:
    """Container presentation times relative to the first frame when usable, else ``index / fps``."""
    if len(pts_s) == n and n > 1:
        rel = pts_s - pts_s[0]
        if np.all(np.isfinite(rel)) and np.all(np.diff(rel) > 0):
            return rel
    return timestamps_from_fps(n, fps)
