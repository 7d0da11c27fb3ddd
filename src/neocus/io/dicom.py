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

Layout: this module opens and checks the file and holds the entry points; header values (image
attributes, timing, spacing, regions) are in :mod:`neocus.io.dicom_header`, pixel decoding in
:mod:`neocus.io.dicom_pixels`; their public names are importable from here too.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from neocus.errors import InputFileError
from neocus.io.decode import DecodeLimits
from neocus.io.deid import kept_tags
from neocus.io.dicom_guard import BoundedFile, check_frame_count, refuse_values_past_the_end
from neocus.io.dicom_guard import short_reason as _short
from neocus.io.dicom_header import (  # noqa: F401  (re-exported)
    REGION_2D,
    REGION_TISSUE,
    ULTRASOUND_SOP_CLASSES,
    UNITS_CM,
    _check_modality,
    _image_int,
    _modality,
    _n_frames,
    _photometric,
    frame_timing,
    region_fits,
    spacing_mm,
)
from neocus.io.dicom_pixels import (
    _PIXEL_KEYWORDS,
    _check_pixel_data_length,
    _decode_frames,
    _ensure_transfer_syntax,
    _palette_grey_lut,
    _pixel_data_tag_in,
)
from neocus.io.sniff import Kind
from neocus.io.types import Sweep, SweepInfo, SweepMeta

log = logging.getLogger(__name__)


#: Elements larger than this are read from the file only when used (see pydicom.dcmread defer_size).
DEFER_BYTES = 256 * 1024


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
