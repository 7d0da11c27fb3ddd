"""Read single- and multi-frame ultrasound DICOM with pydicom 3 into a :class:`Sweep`.

Pixel data: uncompressed, RLE, JPEG baseline / extended / lossless, JPEG-LS and JPEG 2000 through the
installed pydicom plugins (pylibjpeg, pylibjpeg-openjpeg, pylibjpeg-rle, pyjpegls). Colour models:
MONOCHROME2 as is, MONOCHROME1 inverted, YBR_FULL / YBR_FULL_422 by their Y component (which is
BT.601 luma; 8-bit JPEG baseline frames are decoded straight to Y by OpenCV), RGB / YBR_RCT / YBR_ICT
to RGB (by the decoder) then BT.601 luma, PALETTE COLOR through its lookup table then luma.
More than 8 bits stored: Modality LUT (rescale), then the first VOI window when the header has one,
else the sweep's own min..max, mapped linearly to 0..255 (a VOI LUT Sequence or a non-linear
VOI LUT Function is not applied).

Timing: ``FrameTimeVector`` (per-frame increments, ms) > ``FrameTime`` (ms) > ``CineRate`` >
``RecommendedDisplayFrameRate``. Spacing: the largest 2-D tissue region of the Sequence of Ultrasound
Regions with physical units in cm (converted to mm) that fits the frame, else ``PixelSpacing`` (mm),
else ``None``. A region reaching beyond the frame was written for another image size (the file was
resized or cropped after its header was written): its physical deltas may not describe these pixels.

Header fields leave this module only through :func:`neocus.io.deid.kept_tags`, an allow-list.

Size: over 500 lines while issue #8 edits this module (palette LUT, NumberOfFrames); split it as a
pure move (header reading / pixel decoding / regions) once that work has merged.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.pixels import apply_color_lut, iter_pixels
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    MPEGTransferSyntaxes,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
)

from neocus.errors import InputFileError
from neocus.io.decode import (
    BT601_RGB,
    DecodeLimits,
    FrameStack,
    human_bytes,
    native_stderr_silenced,
    progress,
    scale_to_uint8,
    timestamps_from_fps,
    to_grey,
)
from neocus.io.deid import kept_tags
from neocus.io.dicom_guard import BoundedFile, check_frame_count, frame_count_error, refuse_values_past_the_end
from neocus.io.dicom_guard import short_reason as _short
from neocus.io.images import jpeg_is_complete
from neocus.io.sniff import Kind
from neocus.io.types import Sweep, SweepInfo, SweepMeta

log = logging.getLogger(__name__)

#: Ultrasound (Multi-frame) Image Storage and their retired predecessors.
ULTRASOUND_SOP_CLASSES = frozenset({UltrasoundImageStorage, UltrasoundMultiFrameImageStorage, "1.2.840.10008.5.1.4.1.1.6", "1.2.840.10008.5.1.4.1.1.3"})
#: Region Spatial Format 1 = 2-D; Region Data Type 1 = tissue; Physical Units 3 = cm (DICOM PS3.3 C.8.5.5).
REGION_2D, REGION_TISSUE, UNITS_CM = 1, 1, 3
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def read_dicom_header(path: Path) -> Dataset:
    """The dataset without its pixel data (also for files without the 128-byte preamble)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # damage shows up as errors below, in one line
            # large values stay in the file: a damaged length field (say 2 GB) must not become an allocation
            with BoundedFile(path) as fh:
                header = pydicom.dcmread(fh, stop_before_pixels=True, force=True, defer_size=DEFER_BYTES)
            refuse_values_past_the_end(header, path)
            header.walk(lambda _ds, _elem: None)  # pydicom converts values lazily: surface bad ones here
            return header
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - pydicom raises many kinds on damaged input
        raise InputFileError(f"cannot parse the DICOM header: {_short(exc)}", where=path, hint="the file is truncated or corrupt") from None


def read_dicom(
    path: str | Path,
    *,
    limits: DecodeLimits | None = None,
    show_progress: bool | None = None,
    allow_any_modality: bool = False,
    fast_grey: bool = True,
) -> Sweep:
    """Decode a DICOM file to a :class:`Sweep` (see the module docstring for the conventions).

    A non-ultrasound DICOM (modality other than US and not an ultrasound SOP class) is refused unless
    ``allow_any_modality``; a DICOM without pixel data is refused always. ``fast_grey=False`` takes
    pydicom's full-colour decode for YBR data too (the reference the fast luma paths are tested against).
    """
    path = Path(path)
    limits = limits or DecodeLimits.default()
    with _pydicom_quieted(path):
        return _read_dicom(path, limits, show_progress, allow_any_modality, fast_grey)


def probe_dicom(path: str | Path, *, limits: DecodeLimits | None = None, allow_any_modality: bool = False) -> SweepInfo:
    """Frames, size, timing, spacing and modality of a DICOM from its header, without decoding pixels.

    Runs every check :func:`read_dicom` makes before decoding (modality, image attributes, limits, pixel
    data present and not cut off, transfer syntax), with the same errors; damage inside compressed
    frames shows only when they are decoded.
    """
    path = Path(path)
    limits = limits or DecodeLimits.default()
    with _pydicom_quieted(path):
        header, rows, cols, n_frames = _checked_header(path, limits, allow_any_modality)
        check_frame_count(_open_with_pixel_data(path), path, n_frames)
    return SweepInfo(
        source=str(path),
        kind=Kind.DICOM,
        format="dicom",
        frames=n_frames,
        height=rows,
        width=cols,
        fps=frame_timing(header, n_frames)[0],
        spacing_mm=spacing_mm(header)[0],
        modality=_modality(header),
    )


@contextlib.contextmanager
def _pydicom_quieted(path: Path) -> Iterator[None]:
    """pydicom's warnings and log records quote header values (PHI): count them, never repeat them."""
    with warnings.catch_warnings(record=True) as caught, _pydicom_log_silenced():
        warnings.simplefilter("always")
        yield
    if caught:
        log.debug("%s: pydicom reported %d problems with header values (not shown: they may quote PHI)", path, len(caught))


@contextlib.contextmanager
def _pydicom_log_silenced() -> Iterator[None]:
    """pydicom logs what it warns about, quoting header values; a host application's logging
    configuration must not pick those up. Silences the ``pydicom`` logger inside the block."""
    logger = logging.getLogger("pydicom")
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


def _checked_header(path: Path, limits: DecodeLimits, allow_any_modality: bool) -> tuple[Dataset, int, int, int]:
    """``(header, rows, columns, frames)`` after the checks that need no pixel data (modality, image attributes, limits)."""
    header = read_dicom_header(path)
    _check_modality(header, path, allow_any_modality)
    rows, cols = _image_int(header, "Rows", 0, path), _image_int(header, "Columns", 0, path)
    for keyword in ("BitsAllocated", "BitsStored", "SamplesPerPixel", "PixelRepresentation"):
        _image_int(header, keyword, 0, path)  # validated once here; read plainly below
    n_frames = _n_frames(header, path)
    if not rows or not cols:
        raise InputFileError("the DICOM has no image (no Rows / Columns)", where=path, hint="give an image or cine DICOM, not a report or structured document")
    limits.check_frame(rows, cols, where=path)
    limits.check_total(n_frames, rows, cols, where=path)
    if _photometric(header) == "PALETTE COLOR":
        _palette_grey_lut(header, path)  # the lookup table is header data: a missing or damaged one is refused here
    return header, rows, cols, n_frames


def _open_with_pixel_data(path: Path) -> Dataset:
    """The whole dataset, large values (the pixel data) left in the file until used; refused when the
    pixel data is missing or cut off, or its transfer syntax cannot be decoded."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # large values (the pixel data) are read when used: uncompressed frames stream from the file
            with BoundedFile(path) as fh:
                ds = pydicom.dcmread(fh, force=True, defer_size=DEFER_BYTES)
        for warning in caught:
            warnings.warn(warning.message, warning.category, stacklevel=1)  # on to the caller's count
    except Exception as exc:  # noqa: BLE001 - a decoder fails in many ways on damaged input
        raise InputFileError(f"cannot read the DICOM: {_short(exc)}", where=path, hint="the file is truncated or corrupt") from None
    if not any(k in ds for k in _PIXEL_KEYWORDS):
        if any("End of file" in str(w.message) for w in caught) or _pixel_data_tag_in(path):
            raise InputFileError("the pixel data is truncated: the file ends inside it", where=path, hint="the file is truncated; copy or export it again")
        raise InputFileError("the DICOM has no pixel data", where=path, hint="give an image or cine DICOM")
    _check_pixel_data_length(ds, path)
    _ensure_transfer_syntax(ds, path)
    return ds


def _read_dicom(path: Path, limits: DecodeLimits, show_progress: bool | None, allow_any_modality: bool, fast_grey: bool) -> Sweep:
    _header, rows, cols, n_frames = _checked_header(path, limits, allow_any_modality)
    ds = _open_with_pixel_data(path)
    check_frame_count(ds, path, n_frames)
    frames = _decode_frames(ds, path, rows, cols, n_frames, limits, show_progress, fast_grey)
    fps, timestamps = frame_timing(ds, frames.shape[0])
    spacing, region = spacing_mm(ds)
    tags = kept_tags(ds)
    if region is not None:
        tags.update({"us_region_x0": region[0], "us_region_y0": region[1], "us_region_x1": region[2], "us_region_y1": region[3]})
    meta = SweepMeta(
        source=str(path),
        format="dicom",
        fps=fps,
        spacing_mm=spacing,
        timestamps_s=timestamps,
        source_height=rows,
        source_width=cols,
        modality=_modality(ds),
        photometric=str(ds.get("PhotometricInterpretation") or "") or None,
        transfer_syntax=str(ds.file_meta.TransferSyntaxUID.name),
        kept_tags=tags,
    )
    return Sweep(frames=frames, meta=meta)


def _modality(ds: Dataset) -> str | None:
    return str(ds.get("Modality") or "") or None


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


def _check_modality(ds: Dataset, path: Path, allow_any: bool) -> None:
    modality = str(ds.get("Modality") or "").strip().upper()
    sop = str(ds.get("SOPClassUID") or "")
    if not modality and not sop and "PixelData" not in ds and not ds.get("Rows"):
        raise InputFileError("not a DICOM image: no modality, SOP class or image attributes", where=path, hint="the file is corrupt or not DICOM")
    if allow_any or modality == "US" or sop in ULTRASOUND_SOP_CLASSES:
        return
    what = modality or (pydicom.uid.UID(sop).name if sop else "unknown modality")
    raise InputFileError(
        f"not an ultrasound DICOM (modality {what})",
        where=path,
        hint="neocus reads ultrasound (US); pass allow_any_modality=True to read other images anyway",
    )


def _image_int(ds: Dataset, keyword: str, default: int, path: Path) -> int:
    """A single integer image attribute, or a clear error when the header holds something else."""
    value = ds.get(keyword)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, pydicom.multival.MultiValue | list | tuple | bytes):
            raise TypeError
        return int(value)
    except (TypeError, ValueError):
        raise InputFileError(f"invalid {keyword} value {str(value)[:40]!r}", where=path, hint="the DICOM header is corrupt") from None


def _n_frames(ds: Dataset, path: Path) -> int:
    """NumberOfFrames (1 when absent); a value below 1 is refused, never read as one frame."""
    n_frames = _image_int(ds, "NumberOfFrames", 1, path)
    if n_frames < 1:
        raise InputFileError(
            f"the header declares {n_frames} frames (NumberOfFrames)", where=path, hint="the DICOM header is corrupt; export the sweep again"
        )
    return n_frames


def _photometric(ds: Dataset) -> str:
    return str(ds.get("PhotometricInterpretation") or "MONOCHROME2").strip().upper()


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


#: Elements larger than this are read from the file only when used (see pydicom.dcmread defer_size).
DEFER_BYTES = 256 * 1024


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


def _first(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, pydicom.multival.MultiValue | list | tuple):
        value = value[0] if len(value) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


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


def frame_timing(ds: Dataset, n_frames: int) -> tuple[float | None, np.ndarray]:
    """``(fps, timestamps_s)`` from the header (see module docstring); ``timestamps`` are frame indices if unknown."""
    vector = ds.get("FrameTimeVector")
    frame_time = _first(ds.get("FrameTime"))
    fps: float | None = None
    if frame_time and frame_time > 0:
        fps = 1000.0 / frame_time
    else:
        for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
            rate = _first(ds.get(keyword))
            if rate and rate > 0:
                fps = rate
                break
    if vector is not None:
        try:
            increments = np.asarray([float(v) for v in (vector if isinstance(vector, pydicom.multival.MultiValue | list) else [vector])])
        except (TypeError, ValueError):
            increments = np.empty(0)
        with np.errstate(over="ignore", invalid="ignore"):  # damaged increments (1e308 ms) sum to inf: refused below
            times = np.cumsum(increments) / 1000.0
        if len(increments) == n_frames and n_frames > 1 and np.all(increments[1:] > 0) and np.all(np.isfinite(times)):
            times -= times[0]
            if fps is None:
                fps = float((n_frames - 1) / times[-1])
            return fps, times
    return fps, timestamps_from_fps(n_frames, fps)


def spacing_mm(ds: Dataset) -> tuple[tuple[float, float] | None, tuple[int, int, int, int] | None]:
    """``((row_mm, col_mm), region)``: pixel spacing and the header's imaging region.

    Spacing comes from the largest 2-D tissue ultrasound region in cm that fits the frame (see
    :func:`region_fits`), else from PixelSpacing, else it is ``None``. ``region`` (``(x0, y0, x1, y1)``
    pixels, inclusive) is the region the spacing came from; when none fits, the largest one all the
    same, for :func:`neocus.io.roi.choose_region` to judge as a crop (it clips the region of a cropped
    file); ``None`` when the header has none.
    """
    rows, cols = int(_first(ds.get("Rows")) or 0), int(_first(ds.get("Columns")) or 0)
    regions = _cm_regions(ds)
    for row_mm, col_mm, box in regions:
        if region_fits(box, rows, cols):
            return (row_mm, col_mm), box
    largest = regions[0][2] if regions else None
    for holder in (ds, *_shared_pixel_measures(ds)):
        spacing = holder.get("PixelSpacing")
        if isinstance(spacing, pydicom.multival.MultiValue | list | tuple) and len(spacing) == 2:  # one value: damaged
            try:
                row_mm, col_mm = float(spacing[0]), float(spacing[1])
            except (TypeError, ValueError):
                continue
            if row_mm > 0 and col_mm > 0:
                return (row_mm, col_mm), largest
    return None, largest


def _cm_regions(ds: Dataset) -> list[tuple[float, float, tuple[int, int, int, int]]]:
    """``(row_mm, col_mm, box)`` of the 2-D ultrasound regions with physical units in cm: tissue
    regions first, then by area, largest first."""
    ranked: list[tuple[int, int, float, float, tuple[int, int, int, int]]] = []
    for region in ds.get("SequenceOfUltrasoundRegions") or []:
        try:
            if int(region.get("RegionSpatialFormat", 0)) != REGION_2D:
                continue
            if int(region.get("PhysicalUnitsXDirection", 0)) != UNITS_CM or int(region.get("PhysicalUnitsYDirection", 0)) != UNITS_CM:
                continue
            dx, dy = float(region.PhysicalDeltaX), float(region.PhysicalDeltaY)
            box = (int(region.RegionLocationMinX0), int(region.RegionLocationMinY0), int(region.RegionLocationMaxX1), int(region.RegionLocationMaxY1))
        except (AttributeError, TypeError, ValueError):
            continue
        if not (dx > 0 and dy > 0):
            continue
        is_tissue = int(region.get("RegionDataType", 0)) == REGION_TISSUE
        area = max(box[2] - box[0] + 1, 0) * max(box[3] - box[1] + 1, 0)
        ranked.append((int(is_tissue), area, dy * 10.0, dx * 10.0, box))
    ranked.sort(key=lambda c: (c[0], c[1]), reverse=True)
    return [(row_mm, col_mm, box) for _tissue, _area, row_mm, col_mm, box in ranked]


def region_fits(box: tuple[int, int, int, int], rows: int, cols: int) -> bool:
    """Whether an ultrasound region's inclusive pixel box ``(x0, y0, x1, y1)`` lies in a ``rows x cols`` frame.

    One pixel of slack past the last column / row is allowed: some scanners write the exclusive end
    (:func:`neocus.io.roi.choose_region` clips it). Anything larger was written for another frame: a
    resized file (pydicom's examples_ybr_color.dcm is a 640x480 cine at half size, its region the
    full-size one) or a cropped one (examples_palette.dcm is the top 350 rows of a 600-row frame).
    The header cannot tell the two apart, so such a region gives no spacing.
    """
    x0, y0, x1, y1 = box
    return 0 <= x0 <= x1 <= cols and 0 <= y0 <= y1 <= rows


def _shared_pixel_measures(ds: Dataset) -> list[Dataset]:
    """``PixelMeasuresSequence`` items of an enhanced multi-frame header (shared functional groups)."""
    try:
        return list(ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence)
    except (AttributeError, IndexError, KeyError):
        return []
