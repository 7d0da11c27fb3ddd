"""Write greyscale sweeps as MP4 or as multi-frame ultrasound DICOM (used by the phantom exporter).

Both writers are atomic: they write a temporary file next to the target and rename it on success, so a
failure never leaves a partial file. :func:`write_dicom_cine` builds the header from scratch: only
:data:`WRITABLE_TAGS` given by the caller (e.g. a simulator's made-up patient) and the image geometry
are written -- nothing is ever copied from a source file. Frames are ``uint8 [T, H, W]``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)
from pydicom.valuerep import DS

import neocus
from neocus.atomic import atomic_target
from neocus.errors import NeocusError
from neocus.io.dicom import REGION_2D, REGION_TISSUE, UNITS_CM
from neocus.io.video import quiet_opencv

#: Header fields a caller may set through ``tags`` (anything else is a programming error).
WRITABLE_TAGS: frozenset[str] = frozenset(
    {
        "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "PatientWeight",
        "PatientIdentityRemoved", "DeidentificationMethod", "StudyDate", "StudyTime", "StudyDescription",
        "StudyID", "AccessionNumber", "StudyInstanceUID", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription",
        "InstanceNumber", "Manufacturer", "ManufacturerModelName", "SoftwareVersions", "TransducerData",
        "TransducerType", "BodyPartExamined", "ImageComments", "BurnedInAnnotation", "InstitutionName",
        # fixed instance UID and content date / time: byte-reproducible files (e.g. the phantom's same seed, same bytes)
        "SOPInstanceUID", "ContentDate", "ContentTime",
    }
)


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 3 or frames.shape[0] < 1 or frames.shape[1] < 1 or frames.shape[2] < 1:
        raise NeocusError(f"must be a non-empty uint8 array [T, H, W], got {frames.dtype} {frames.shape}", where="frames")
    return frames


def _check_fps(fps: float) -> float:
    fps = float(fps)
    if not (np.isfinite(fps) and 0 < fps <= 1000):
        raise NeocusError(f"must be in (0, 1000], got {fps}", where="fps")
    return fps


def write_video(path: str | Path, frames: np.ndarray, fps: float, *, fourcc: str = "mp4v") -> Path:
    """Write ``frames`` ``uint8 [T, H, W]`` as a video at ``fps`` (MPEG-4 Part 2 in MP4 by default; lossy).

    ``fourcc="FFV1"`` with an ``.avi`` or ``.mkv`` path writes a lossless video (exact round trip).

    The container follows ``path``'s suffix (``.mp4``, ``.avi``...). MPEG-4 needs even sizes: an odd
    height or width gets one extra row / column at the bottom / right (a copy of the last one), so every
    pixel keeps its coordinates. Returns ``path``.
    """
    frames = _check_frames(frames)
    fps = _check_fps(fps)
    path = Path(path)
    pad_rows, pad_cols = frames.shape[1] % 2, frames.shape[2] % 2
    height, width = frames.shape[1] + pad_rows, frames.shape[2] + pad_cols
    with atomic_target(path) as tmp, quiet_opencv():
        writer = cv2.VideoWriter(str(tmp), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*fourcc), fps, (width, height), isColor=False)
        if not writer.isOpened():
            writer.release()
            raise NeocusError(
                f"OpenCV cannot write {fourcc!r} video to a {path.suffix or 'suffix-less'} file",
                where=path,
                hint="use 'mp4v' with .mp4, or 'FFV1' (lossless) with .avi / .mkv",
            )
        try:
            for frame in frames:
                if pad_rows or pad_cols:
                    frame = cv2.copyMakeBorder(frame, 0, pad_rows, 0, pad_cols, cv2.BORDER_REPLICATE)
                writer.write(np.ascontiguousarray(frame))
        finally:
            writer.release()
        if tmp.stat().st_size == 0:
            raise NeocusError("the video writer produced an empty file", where=path, hint="check free disk space")
    return path


def _ds(value: float) -> DS:
    return DS(value, auto_format=True)


def ultrasound_region(height: int, width: int, spacing_mm: tuple[float, float]) -> Dataset:
    """One 2-D tissue region covering the whole frame, physical deltas in cm (DICOM PS3.3 C.8.5.5)."""
    row_mm, col_mm = (float(s) for s in spacing_mm)
    if not (row_mm > 0 and col_mm > 0):
        raise NeocusError(f"must be positive, got {spacing_mm}", where="spacing_mm")
    region = Dataset()
    region.RegionSpatialFormat = REGION_2D
    region.RegionDataType = REGION_TISSUE
    region.RegionFlags = 0
    region.RegionLocationMinX0 = 0
    region.RegionLocationMinY0 = 0
    region.RegionLocationMaxX1 = width - 1
    region.RegionLocationMaxY1 = height - 1
    region.PhysicalUnitsXDirection = UNITS_CM
    region.PhysicalUnitsYDirection = UNITS_CM
    region.PhysicalDeltaX = col_mm / 10.0  # FD: exact round trip
    region.PhysicalDeltaY = row_mm / 10.0
    return region


def build_dicom_cine(
    frames: np.ndarray,
    fps: float,
    *,
    spacing_mm: tuple[float, float] | None = None,
    tags: Mapping[str, object] | None = None,
) -> Dataset:
    """The dataset :func:`write_dicom_cine` writes (Ultrasound Multi-frame Image Storage, MONOCHROME2, 8 bit)."""
    frames = _check_frames(frames)
    fps = _check_fps(fps)
    tags = dict(tags or {})
    unknown = sorted(set(tags) - WRITABLE_TAGS)
    if unknown:
        raise NeocusError(f"not writable by neocus: {unknown}", where="tags", hint=f"allowed: {sorted(WRITABLE_TAGS)}")
    n, height, width = frames.shape
    now = _dt.datetime.now()

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"NEOCUS_{neocus.__version__}"[:16]

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = UltrasoundMultiFrameImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "US"
    ds.PatientName = ""
    ds.PatientID = ""
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyDate = now.strftime("%Y%m%d")
    ds.StudyTime = now.strftime("%H%M%S")
    ds.ContentDate, ds.ContentTime = ds.StudyDate, ds.StudyTime
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Manufacturer = "neocus"
    ds.SoftwareVersions = neocus.__version__
    ds.PatientOrientation = ""
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"

    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = height, width
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = n
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    ds.FrameTime = _ds(1000.0 / fps)
    ds.CineRate = max(1, round(fps))
    ds.RecommendedDisplayFrameRate = max(1, round(fps))
    if spacing_mm is not None:
        ds.SequenceOfUltrasoundRegions = Sequence([ultrasound_region(height, width, spacing_mm)])
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PixelData = np.ascontiguousarray(frames).tobytes()
    return ds


def write_dicom_cine(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    *,
    spacing_mm: tuple[float, float] | None = None,
    tags: Mapping[str, object] | None = None,
) -> Path:
    """Write ``frames`` as a valid multi-frame ultrasound DICOM (uncompressed, lossless round trip).

    ``fps`` -> ``FrameTime`` (ms) and ``CineRate``; ``spacing_mm`` ``(row, col)`` -> one Sequence of
    Ultrasound Regions item with PhysicalDeltaY/X in cm; ``tags``: header fields from
    :data:`WRITABLE_TAGS` (a simulator's made-up patient, equipment names...). Returns ``path``.
    """
    ds = build_dicom_cine(frames, fps, spacing_mm=spacing_mm, tags=tags)
    path = Path(path)
    with atomic_target(path) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
    return path
