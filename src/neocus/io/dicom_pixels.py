"""DICOM pixel data of an ultrasound file: its presence and length, the transfer syntax, and decoding
frames to uint8 grey (colour models, palette lookup tables, the fast JPEG luma path, windowing of more
than 8 bits). Split out of :mod:`neocus.io.dicom`, whose docstring states the conventions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.pixels import apply_color_lut, iter_pixels
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, MPEGTransferSyntaxes

from neocus.errors import InputFileError
from neocus.io.decode import (
    BT601_RGB,
    DecodeLimits,
    FrameStack,
    human_bytes,
    native_stderr_silenced,
    progress,
    scale_to_uint8,
    to_grey,
)
from neocus.io.dicom_guard import frame_count_error
from neocus.io.dicom_guard import short_reason as _short
from neocus.io.dicom_header import _first, _photometric
from neocus.io.images import jpeg_is_complete

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _check_pixel_data_length(ds: Dataset, path: Path) -> None:
    """Refuse uncompressed pixel data whose declared length runs past the end of the file (found
    without reading it; encapsulated data has no declared length and is checked by pydicom)."""
    for keyword in _PIXEL_KEYWORDS:
        elem = ds.get_item(keyword, keep_deferred=True)  # the raw element: its value stays in the file
        tell, length = getattr(elem, "value_tell", None), getattr(elem, "length", None)
        if tell is None or length is None or length == 0xFFFFFFFF:
            continue
        if tell + length > path.stat().st_size:
            raise _cut_native_pixel_data(path, length)


def _cut_native_pixel_data(path: Path, declared: int) -> InputFileError:
    return InputFileError(
        f"the pixel data is truncated: the file has {human_bytes(path.stat().st_size)}, "
        f"its header declares {human_bytes(declared)} of uncompressed frames",
        where=path,
        hint="the file is truncated; copy or export it again",
    )


_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian


def _pixel_data_tag_in(path: Path, chunk: int = 1 << 20) -> bool:
    """Whether the bytes of the (7FE0,0010) Pixel Data tag occur in the file (a cut-off element)."""
    tail = b""
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            if _PIXEL_DATA_TAG in tail + block:
                return True
            tail = block[-3:]
    return False


def _ensure_transfer_syntax(ds: Dataset, path: Path) -> None:
    """Files without a File Meta header: record how the body was encoded so pixel decoders work.
    An unknown transfer syntax UID (damaged, or private) and MPEG / HEVC video encodings (no decoder
    in pydicom 3.0) are refused."""
    meta = ds.file_meta if hasattr(ds, "file_meta") else None
    if meta is None:
        ds.file_meta = meta = pydicom.dataset.FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        implicit, _little = ds.original_encoding
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    if not isinstance(meta.TransferSyntaxUID, str):  # several values, or bytes: a damaged file meta header
        raise InputFileError("invalid transfer syntax in the file meta header", where=path, hint="the file is corrupt; export it again as standard DICOM")
    if meta.TransferSyntaxUID in MPEGTransferSyntaxes:
        raise InputFileError(
            f"video-compressed DICOM ({meta.TransferSyntaxUID.name}) is not supported",
            where=path,
            hint="export the cine with JPEG, RLE or no compression, or as an MP4 file",
        )
    if not meta.TransferSyntaxUID.is_transfer_syntax:
        raise InputFileError(
            f"unknown transfer syntax {str(meta.TransferSyntaxUID)[:64]!r}",
            where=path,
            hint="the file is corrupt, or uses a private encoding: export it again as standard DICOM",
        )


def _decode_frames(ds: Dataset, path: Path, rows: int, cols: int, n_frames: int, limits: DecodeLimits, show_progress: bool | None, fast_grey: bool) -> np.ndarray:
    photometric = _photometric(ds)
    bits_stored = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    palette_lut = _palette_grey_lut(ds, path) if photometric == "PALETTE COLOR" else None
    wide = palette_lut is None and photometric.startswith("MONOCHROME") and (bits_stored > 8 or int(ds.get("PixelRepresentation") or 0) == 1)

    luma_only = fast_grey and photometric in _LUMA_FIRST and palette_lut is None
    source = _jpeg_luma_frames(ds, n_frames) if luma_only else None
    if source is None:
        # native (uncompressed) data in a standard file: let pydicom read frame by frame from the file
        streamable = not ds.file_meta.TransferSyntaxUID.is_compressed and _has_preamble(path)
        frames_in = iter_pixels(path if streamable else ds, raw=luma_only)
        source = (a[..., 0] if luma_only and a.ndim == 3 else a for a in frames_in)
    stack: FrameStack | None = None
    try:
        for arr in progress(source, total=n_frames, desc=f"decoding {path.name}", enabled=show_progress):
            if palette_lut is not None:
                frame = palette_lut[arr]
            elif arr.ndim == 3:
                frame = to_grey(arr, channel_order="RGB")
                if frame.dtype != np.uint8:
                    frame = scale_to_uint8(frame, 0, 2 ** min(bits_stored, 16) - 1)
            elif wide:
                frame = arr  # windowed below, over the whole sweep
            else:
                frame = arr.astype(np.uint8, copy=False)
                if photometric == "MONOCHROME1":
                    frame = 255 - frame
            if stack is None:
                if wide:
                    limits.check_total(n_frames, rows, cols, where=path, bytes_per_pixel=frame.dtype.itemsize)
                stack = FrameStack(frame.shape[0], frame.shape[1], expected=n_frames, limits=limits, where=path, dtype=frame.dtype)
            stack.append(frame)
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a decoder fails in many ways on damaged input
        ts = ds.file_meta.TransferSyntaxUID
        expected = _native_pixel_bytes(ds, rows, cols, n_frames)
        if expected and path.stat().st_size < expected:
            raise _cut_native_pixel_data(path, expected) from None
        raise InputFileError(
            f"cannot decode the pixel data ({ts.name}): {_short(exc)}",
            where=path,
            hint="the file is truncated or corrupt, or its compression needs a decoder that is not installed",
        ) from None
    if stack is None or stack.count == 0:
        raise InputFileError("the DICOM has no frames", where=path, hint="the pixel data is empty")
    if stack.count != n_frames:
        raise frame_count_error(path, n_frames, stack.count)
    frames = stack.result()
    if wide:
        frames = _window_to_uint8(frames, ds, photometric)
    return frames


def _has_preamble(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(128)
        return fh.read(4) == b"DICM"


#: Colour models whose first component is already BT.601 luma (full range): take it, skip YBR -> RGB -> grey.
_LUMA_FIRST = frozenset({"YBR_FULL", "YBR_FULL_422"})
_JPEG_BASELINE = "1.2.840.10008.1.2.4.50"


def _jpeg_luma_frames(ds: Dataset, n_frames: int) -> Iterator[np.ndarray] | None:
    """8-bit JPEG baseline YBR frames decoded straight to their Y plane by OpenCV (libjpeg-turbo).

    About 10x less CPU than pydicom's decode + colour conversion on cine loops (``python
    benchmarks/bench_io_decode.py --repeats 3`` on color3d_jpeg_baseline.dcm, 120 frames of 640x480, 2 CPUs
    under load: 0.11 vs 1.47 CPU s, median wall 0.45 vs 3.6 s). The two agree to 0.02 grey levels on
    average there, at most 7 apart: exact luma vs luma of gamut-clipped RGB at saturated colours.
    ``None`` when the dataset is not of that kind; a frame OpenCV cannot decode raises, and the caller
    reports it as corrupt pixel data.
    """
    if ds.file_meta.TransferSyntaxUID != _JPEG_BASELINE or int(ds.get("BitsAllocated") or 0) != 8:
        return None
    rows, cols = int(ds.Rows), int(ds.Columns)

    def frames() -> Iterator[np.ndarray]:
        for fragment in generate_frames(ds.PixelData, number_of_frames=n_frames):
            if not jpeg_is_complete(fragment):
                raise ValueError("a JPEG frame is truncated (no end-of-image marker)")
            with native_stderr_silenced():  # libjpeg's own warning lines on a damaged frame
                grey = cv2.imdecode(np.frombuffer(fragment, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
            if grey is None or grey.shape != (rows, cols):
                raise ValueError("a JPEG frame cannot be decoded (truncated or corrupt)")
            yield grey

    return frames()


def _native_pixel_bytes(ds: Dataset, rows: int, cols: int, n_frames: int) -> int | None:
    """Bytes of uncompressed pixel data the header implies (``None`` for compressed transfer syntaxes)."""
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        return None
    samples = int(ds.get("SamplesPerPixel") or 1)
    bits = int(ds.get("BitsAllocated") or 8)
    return rows * cols * samples * n_frames * bits // 8


def _palette_grey_lut(ds: Dataset, path: Path) -> np.ndarray:
    """A ``[2**bits]`` uint8 table: palette index -> BT.601 luma of its colour; refused when the
    header's red, green or blue lookup table is missing or damaged."""
    bits_stored = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    index = np.arange(2 ** min(bits_stored, 16), dtype=np.uint16 if bits_stored > 8 else np.uint8)
    try:
        rgb = apply_color_lut(index.reshape(1, -1), ds)[0]  # [N, 3]
        lut_bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    except Exception as exc:  # noqa: BLE001 - pydicom raises ValueError, KeyError, IndexError... on a damaged table
        raise InputFileError(
            f"the palette colour lookup table is missing or damaged: {_short(exc)}",
            where=path,
            hint="a PALETTE COLOR image needs its red, green and blue tables; export it again",
        ) from None
    grey = rgb.astype(np.float64) @ BT601_RGB
    if lut_bits > 8:
        grey = grey * (255.0 / 65535.0)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def _window_to_uint8(frames: np.ndarray, ds: Dataset, photometric: str) -> np.ndarray:
    """Modality rescale, then the header's first linear window (or the sweep's min..max), to uint8."""
    slope = _first(ds.get("RescaleSlope")) or 1.0
    intercept = _first(ds.get("RescaleIntercept")) or 0.0
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is not None and width is not None and width >= 1:
        # DICOM PS3.3 C.11.2.1.2.1 linear window, expressed in stored values
        low_v = center - 0.5 - (width - 1) / 2
        high_v = center - 0.5 + (width - 1) / 2
        low, high = (low_v - intercept) / slope, (high_v - intercept) / slope
        if slope < 0:
            low, high = high, low
    else:
        low, high = float(frames.min()), float(frames.max())
    out = np.empty(frames.shape, dtype=np.uint8)
    chunk = max(1, (64 * 1024**2) // max(frames[0].nbytes * 4, 1))
    for start in range(0, frames.shape[0], chunk):
        out[start : start + chunk] = scale_to_uint8(frames[start : start + chunk], low, high)
    if photometric == "MONOCHROME1":
        np.subtract(255, out, out=out)
    return out
