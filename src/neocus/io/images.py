"""PNG / JPEG stills and folders of frames as a :class:`Sweep`.

A still is a one-frame sweep. A folder's frames are its PNG / JPEG files (judged by content) in natural
name order (``f2`` before ``f10``); they must share one size and be named as one numbered sequence
(``frame1.png``, ``frame2.png``...: the same name once the numbers are set aside), so a folder of
unrelated stills (``COR1.png``, ``SAG1.png``) is refused rather than read as a sweep. Other files are
not read; their names are kept in ``SweepMeta.ignored_files`` (hidden files are skipped silently). Colour is converted to BT.601 luma; 16-bit images are scaled linearly from 0..65535 to 0..255.
The frame size is read from the file header and checked against the limits before decoding. Stills
have no frame rate: ``fps`` is ``None`` and ``timestamps_s`` are frame indices.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

from neocus.errors import InputFileError
from neocus.io.decode import (
    DecodeLimits,
    FrameStack,
    native_stderr_silenced,
    progress,
    scale_to_uint8,
    timestamps_from_fps,
    to_grey,
)
from neocus.io.sniff import Kind, kind_of_bytes, list_frame_files, natural_key, read_head
from neocus.io.types import Sweep, SweepInfo, SweepMeta

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(path: Path) -> tuple[int, int] | None:
    """``(height, width)`` from a PNG's IHDR or a JPEG's SOF marker, without decoding; ``None`` if not found."""
    try:
        with open(path, "rb") as fh:
            return _size_from_stream(fh)
    except OSError:
        return None


def _size_from_stream(fh: BinaryIO) -> tuple[int, int] | None:
    """:func:`image_size` of the stream ``fh``, read from its start."""
    head = fh.read(32)
    kind = kind_of_bytes(head)
    if kind == Kind.PNG:
        if head[12:16] != b"IHDR":
            return None
        return int.from_bytes(head[20:24], "big"), int.from_bytes(head[16:20], "big")
    if kind == Kind.JPEG:
        fh.seek(2)
        return _jpeg_size(fh)
    return None


def jpeg_is_complete(data: bytes | bytearray | memoryview) -> bool:
    """Whether a JPEG stream ends with its end-of-image marker ``FFD9`` (trailing zero padding allowed)."""
    end = bytes(data[-64:]).rstrip(b"\x00")
    return end.endswith(b"\xff\xd9")


def _jpeg_size(fh: BinaryIO) -> tuple[int, int] | None:
    while True:
        byte = fh.read(1)
        while byte and byte != b"\xff":
            byte = fh.read(1)
        while byte == b"\xff":
            byte = fh.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        length_bytes = fh.read(2)
        if len(length_bytes) < 2:
            return None
        length = int.from_bytes(length_bytes, "big")
        if marker in _JPEG_SOF:
            data = fh.read(5)
            if len(data) < 5:
                return None
            return int.from_bytes(data[1:3], "big"), int.from_bytes(data[3:5], "big")
        if marker == 0xD9 or length < 2:
            return None
        fh.seek(length - 2, 1)


_COLOUR_MODELS = {1: "MONOCHROME", 3: "RGB", 4: "RGBA"}


def colour_model(image: np.ndarray) -> str:
    """``MONOCHROME``, ``RGB`` or ``RGBA`` for a decoded ``[H, W(, C)]`` image."""
    return _COLOUR_MODELS.get(1 if image.ndim == 2 else image.shape[2], "MONOCHROME")


def _checked_header(path: Path, limits: DecodeLimits, data: bytes | None = None) -> tuple[int, int] | None:
    """``(height, width)`` from the header (``None`` if not found), after the checks that need no decoding:
    the size against ``limits``, and a JPEG's end-of-image marker. ``data``: the file's bytes when the
    caller has read them already (else only the header and the last bytes are read)."""
    try:
        with io.BytesIO(data) if data is not None else open(path, "rb") as fh:
            size = _size_from_stream(fh)
            fh.seek(0)
            kind = kind_of_bytes(fh.read(16))
            end = fh.seek(0, io.SEEK_END)
            fh.seek(max(end - 64, 0))
            tail = fh.read()
            damage = _png_chunk_damage(fh, end) if kind == Kind.PNG else None
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror or exc}", where=path) from None
    is_jpeg = kind == Kind.JPEG
    if size is not None:
        limits.check_frame(*size, where=path)
    if damage:
        raise InputFileError(f"the PNG is truncated or corrupt: {damage}", where=path, hint="copy or export the image again")
    if is_jpeg and not jpeg_is_complete(tail):
        raise InputFileError("the JPEG is truncated (no end-of-image marker)", where=path, hint="copy or export the image again")
    return size


#: PNG's largest chunk length (2**31 - 1, PNG spec 5.3).
_PNG_MAX_CHUNK = 0x7FFFFFFF


def _png_chunk_damage(fh: BinaryIO, end: int) -> str | None:
    """What is wrong with a PNG's chunk layout (a length past the end of the file, no IEND), from the
    chunk headers alone; ``None`` when it holds together. Checked before decoding because OpenCV
    allocates a chunk's declared length before it reads it (a 2 GB lie costs 2 GB)."""
    at = 8
    while at + 12 <= end:
        fh.seek(at)
        head = fh.read(8)
        length, name = int.from_bytes(head[:4], "big"), head[4:8].decode("latin-1")
        if length > _PNG_MAX_CHUNK or at + 12 + length > end:
            return f"chunk {name!r} at byte {at} declares {length} bytes, past the end of the file ({end} bytes)"
        if name == "IEND":
            return None
        at += 12 + length
    return "the file ends before its IEND chunk"


def _undecodable(path: Path) -> InputFileError:
    return InputFileError("cannot decode the image: truncated or corrupt", where=path, hint="check that the file opens in an image viewer")


def _decode_still(path: Path, limits: DecodeLimits) -> tuple[np.ndarray, str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror or exc}", where=path) from None
    _checked_header(path, limits, data)
    with native_stderr_silenced():  # libpng / OpenCV print their own warnings on damaged files
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if image is None:
        raise _undecodable(path)
    limits.check_frame(image.shape[0], image.shape[1], where=path)
    model = colour_model(image)
    grey = to_grey(image, channel_order="BGR")
    if grey.dtype == np.uint8:
        return grey, model
    if grey.dtype == np.uint16:
        return scale_to_uint8(grey, 0, 65535), model
    return scale_to_uint8(grey, float(grey.min()), float(grey.max())), model


def read_image(path: str | Path, *, limits: DecodeLimits | None = None) -> Sweep:
    """One PNG / JPEG still as a one-frame :class:`Sweep`."""
    path = Path(path)
    limits = limits or DecodeLimits.default()
    frame, model = _decode_still(path, limits)
    return Sweep(frames=frame[None], meta=_meta(path, "image", frame.shape, 1, model))


def probe_image(path: str | Path, *, limits: DecodeLimits | None = None) -> SweepInfo:
    """Size of a PNG / JPEG still from its header, with :func:`read_image`'s checks that need no decoding."""
    path = Path(path)
    limits = limits or DecodeLimits.default()
    size = _header_or_decoded_size(path, limits)
    kind = Kind.PNG if kind_of_bytes(read_head(path, n=16)) == Kind.PNG else Kind.JPEG
    return SweepInfo(source=str(path), kind=kind, format="image", frames=1, height=size[0], width=size[1])


def probe_image_folder(folder: str | Path, *, limits: DecodeLimits | None = None) -> SweepInfo:
    """Frame count and size of a folder of stills from their headers (every file's size is read and
    compared, as :func:`read_image_folder` does after decoding)."""
    folder = Path(folder)
    limits = limits or DecodeLimits.default()
    files = _checked_frame_files(folder, limits)
    first: tuple[int, int] | None = None
    for file in files:
        size = _header_or_decoded_size(file, limits)
        first = first or size
        _check_same_size(folder, files[0], first, file, size)
    assert first is not None
    return SweepInfo(source=str(folder), kind=Kind.IMAGE_FOLDER, format="image_folder", frames=len(files), height=first[0], width=first[1])


def frame_name_patterns(files: list[Path]) -> dict[str, list[str]]:
    """The frame files' names grouped by pattern: the name without its suffix, each number as ``#``
    (``frame12.png`` -> ``frame#``). One sweep's frames share one pattern that holds a number."""
    patterns: dict[str, list[str]] = {}
    for file in files:
        patterns.setdefault(re.sub(r"\d+", "#", file.stem), []).append(file.name)
    return patterns


def _check_one_sequence(folder: Path, files: list[Path]) -> None:
    """Refuse stills that are not one numbered sequence (different series, or names without numbers)."""
    patterns = frame_name_patterns(files)
    if len(files) < 2 or (len(patterns) == 1 and "#" in next(iter(patterns))):
        return
    if len(patterns) == 1:
        what = f"its {len(files)} stills are not numbered frames ({', '.join(files[i].name for i in range(min(3, len(files))))})"
    else:
        groups = ", ".join(f"{names[0]}... ({len(names)})" if len(names) > 1 else names[0] for names in patterns.values())
        what = f"its {len(files)} stills are not one sweep: their names follow {len(patterns)} patterns: {groups}"
    others = ignored_files(folder, files)
    also = f"; the folder also holds {', '.join(others)}, not read" if others else ""
    hint = f"give one still at a time, or a folder that holds only one sweep's numbered frames such as frame1.png, frame2.png{also}"
    raise InputFileError(what, where=folder, hint=hint)


def ignored_files(folder: Path, frames: list[Path]) -> tuple[str, ...]:
    """Names of the entries of ``folder`` that are not among ``frames`` (hidden ones left out), in natural order."""
    taken = {f.name for f in frames}
    names = [e.name + ("/" if _is_dir(e) else "") for e in os.scandir(folder) if not e.name.startswith(".") and e.name not in taken]
    return tuple(sorted(names, key=natural_key))


def _is_dir(entry: os.DirEntry) -> bool:
    """Whether a folder entry is a folder; False for a link that cannot be followed (a loop, a dangling link)."""
    try:
        return entry.is_dir()
    except OSError:
        return False

def _header_or_decoded_size(path: Path, limits: DecodeLimits) -> tuple[int, int]:
    """``(height, width)`` from the header; decoded when the header does not say (a JPEG whose
    segments the header walk cannot follow, which the decoder still reads), so probe refuses
    nothing that :func:`read_image` reads."""
    size = _checked_header(path, limits)
    if size is None:
        frame, _model = _decode_still(path, limits)
        size = (int(frame.shape[0]), int(frame.shape[1]))
    return size


def _checked_frame_files(folder: Path, limits: DecodeLimits) -> list[Path]:
    """The folder's frame files; refused when there are none, when they are not one numbered sequence,
    or when the first one's size times their number is beyond ``limits``."""
    files = list_frame_files(folder)
    if not files:
        raise InputFileError("folder holds no PNG or JPEG frames", where=folder, hint="give a video, a DICOM, an image or a folder of images")
    _check_one_sequence(folder, files)
    first_size = image_size(files[0])
    if first_size is not None:
        limits.check_frame(*first_size, where=files[0])
        limits.check_total(len(files), *first_size, where=folder)
    return files


def _check_same_size(folder: Path, first: Path, first_size: tuple[int, int], file: Path, size: tuple[int, ...]) -> None:
    if tuple(size) != tuple(first_size):
        raise InputFileError(
            f"{file.name} is {size[1]}x{size[0]}, {first.name} is {first_size[1]}x{first_size[0]}",
            where=folder,
            hint="all frames of a folder must have one size",
        )


def read_image_folder(folder: str | Path, *, limits: DecodeLimits | None = None, show_progress: bool | None = None) -> Sweep:
    """The PNG / JPEG frames of ``folder`` (natural name order) as one :class:`Sweep`."""
    folder = Path(folder)
    limits = limits or DecodeLimits.default()
    files = _checked_frame_files(folder, limits)
    stack: FrameStack | None = None
    model = "MONOCHROME"
    for file in progress(files, total=len(files), desc=f"reading {folder.name}", enabled=show_progress):
        frame, model = _decode_still(file, limits)
        if stack is None:
            stack = FrameStack(frame.shape[0], frame.shape[1], expected=len(files), limits=limits, where=folder)
        _check_same_size(folder, files[0], (stack.height, stack.width), file, frame.shape)
        stack.append(frame)
    assert stack is not None
    frames = stack.result()
    meta = _meta(folder, "image_folder", frames.shape[1:], frames.shape[0], model)
    return Sweep(frames=frames, meta=dataclasses.replace(meta, ignored_files=ignored_files(folder, files)))


def _meta(path: Path, fmt: str, shape: tuple[int, ...], n: int, model: str) -> SweepMeta:
    return SweepMeta(
        source=str(path),
        format=fmt,
        fps=None,
        spacing_mm=None,
        timestamps_s=timestamps_from_fps(n, None),
        source_height=int(shape[0]),
        source_width=int(shape[1]),
        photometric=model,
    )
