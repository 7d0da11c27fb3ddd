"""DICOM header values of an ultrasound file: the image attributes and their checks (modality,
Rows / Columns, NumberOfFrames, photometric interpretation), frame timing, and pixel spacing from the
Sequence of Ultrasound Regions (split out of :mod:`neocus.io.dicom`, whose docstring states the
conventions; the public names stay importable from there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UltrasoundImageStorage, UltrasoundMultiFrameImageStorage

from neocus.errors import InputFileError
from neocus.io.decode import timestamps_from_fps


#: Ultrasound (Multi-frame) Image Storage and their retired predecessors.
ULTRASOUND_SOP_CLASSES = frozenset({UltrasoundImageStorage, UltrasoundMultiFrameImageStorage, "1.2.840.10008.5.1.4.1.1.6", "1.2.840.10008.5.1.4.1.1.3"})


#: Region Spatial Format 1 = 2-D; Region Data Type 1 = tissue; Physical Units 3 = cm (DICOM PS3.3 C.8.5.5).
REGION_2D, REGION_TISSUE, UNITS_CM = 1, 1, 3


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


def _modality(ds: Dataset) -> str | None:
    return str(ds.get("Modality") or "") or None


def _photometric(ds: Dataset) -> str:
    return str(ds.get("PhotometricInterpretation") or "MONOCHROME2").strip().upper()


def _first(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, pydicom.multival.MultiValue | list | tuple):
        value = value[0] if len(value) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


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
