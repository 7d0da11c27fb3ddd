"""Seed inputs for the hostile-input fuzzer (tests/fuzz_kit.py): small synthetic and real files of every
format neocus reads, and where their header fields lie (so mutations can lie about sizes and counts).

A seed is one file (``data``) or a folder (``files``: relative path -> bytes). Synthetic seeds are made
here from a fixed generator; real ones come from pydicom's test files (installed with pydicom) and, for
the long run, from ``../shared/data`` (``NEOCUS_SHARED_DATA`` overrides where) when it is present.
Every DICOM seed carries planted identifiers (:data:`PLANTED_PHI`) that no message may repeat.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

#: Identifiers planted in every DICOM seed; an error message that quotes one leaks patient data.
PLANTED_PHI = ("FUZZ^PLANTED^NAME", "PLANTED-ID-8841")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NEOCUS_SHARED_DATA", REPO.parent / "shared" / "data"))


@dataclass(frozen=True)
class Seed:
    """One input to mutate: ``fmt`` names its format (it picks the header-field map), ``data`` a file's
    bytes or ``files`` a folder's content (relative path -> bytes)."""

    name: str
    fmt: str
    data: bytes = b""
    files: dict[str, bytes] = field(default_factory=dict)
    suffix: str = ""  # the file name's usual ending (SimpleITK picks its reader by it)

    @property
    def is_folder(self) -> bool:
        return bool(self.files)


def _frames(n: int = 6, h: int = 24, w: int = 32) -> np.ndarray:
    return (np.random.default_rng(0).random((n, h, w)) * 255).astype(np.uint8)


def _written(suffix: str, write) -> bytes:
    """Bytes of a file that ``write(path)`` writes (for writers that want a path)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"seed{suffix}"
        write(path)
        return path.read_bytes()


def _plant_phi(data: bytes) -> bytes:
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    ds.PatientName, ds.PatientID = PLANTED_PHI
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=False)
    return out.getvalue()


def _native_dicom() -> bytes:
    from neocus.io import write_dicom_cine

    return _plant_phi(_written(".dcm", lambda p: write_dicom_cine(p, frames=_frames(), fps=10.0, spacing_mm=(0.2, 0.2))))


def _pydicom_file(name: str) -> bytes | None:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    return _plant_phi(Path(path).read_bytes()) if path else None


def _video(fourcc: str, suffix: str) -> bytes:
    def write(path: Path) -> None:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (32, 24), isColor=False)
        for frame in _frames():
            writer.write(frame)
        writer.release()

    return _written(suffix, write)


def _volume(suffix: str) -> bytes:
    import SimpleITK as sitk

    def write(path: Path) -> None:
        image = sitk.GetImageFromArray(np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6))
        image.SetSpacing((0.5, 0.6, 2.0))
        sitk.WriteImage(image, str(path))

    return _written(suffix, write)


def _nifti(gz: bool) -> bytes:
    import nibabel as nib

    image = nib.Nifti1Image(np.arange(4 * 5 * 6, dtype=np.int16).reshape(6, 5, 4), np.diag([0.5, 0.6, 2.0, 1.0]))
    return _written(".nii.gz" if gz else ".nii", lambda p: nib.save(image, p))


def _png(frame: np.ndarray) -> bytes:
    return cv2.imencode(".png", frame)[1].tobytes()


PREDICTIONS_CSV = (
    "case_id,label,score,prediction,ivh_grade,center\n"
    "c1,1,0.91,1,3,szch\nc2,0,0.12,0,0,szch\nc3,1,0.55,1,4,other\nc4,0,0.40,0,1,other\n"
).encode()
READERS_CSV = (
    "reader_id,group,case_id,call,with_ai,time_s\n"
    "r1,junior,c1,1,0,30\nr1,junior,c2,0,0,25\nr2,senior,c1,1,1,12\nr2,senior,c3,0,1,40\n"
).encode()


def dataset_files() -> dict[str, bytes]:
    """A two-case dataset: dataset.json, case.json, a small MP4 and DICOM per case, annotations, a view still."""
    from neocus.data import (
        BoxAnnotation,
        CaseLabels,
        CaseMetadata,
        CaseRecord,
        DatasetRecord,
        FrameAnnotation,
        Provenance,
        ViewFrame,
        write_annotations,
        write_case,
        write_dataset_json,
    )
    from neocus.vocab import Finding, IvhGrade, Plane, Structure, View

    mp4, dcm = _video("mp4v", ".mp4"), _native_dicom()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        write_dataset_json(root, DatasetRecord(name="fuzz", provenance=Provenance(generator="fuzz")))
        for case_id, grade in (("a01", IvhGrade.III), ("b01", IvhGrade.I)):
            findings = {View.AHV: [Finding.NORMAL], View.MSV: [Finding.IVH] if grade >= 3 else [Finding.NORMAL]}
            frames = {View.AHV: ViewFrame(sweep="coronal.mp4", frame=2), View.MSV: ViewFrame(sweep="sagittal.dcm", frame=5)}
            record = CaseRecord(
                case_id=case_id,
                sweeps={"coronal.mp4": Plane.CORONAL, "sagittal.dcm": Plane.SAGITTAL},
                metadata=CaseMetadata(subject=case_id, ga_weeks=30, age_days=5),
                labels=CaseLabels.derive(grade, findings, frames),
            )
            folder = write_case(root, record)
            (folder / "coronal.mp4").write_bytes(mp4)
            (folder / "sagittal.dcm").write_bytes(dcm)
            (folder / "views").mkdir()
            (folder / "views" / f"{View.AHV.value}.png").write_bytes(_png(_frames(1, 8, 8)[0]))
            box = BoxAnnotation(label=Structure.ANTERIOR_HORN, cx=9, cy=9, w=6, h=2, angle=15)
            write_annotations(folder, "coronal.mp4", [FrameAnnotation(frame=2, view=View.AHV, boxes=[box])])
            write_annotations(folder, "sagittal.dcm", [FrameAnnotation(frame=5, view=View.MSV)])
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def synthetic_seeds() -> dict[str, Seed]:
    """Seeds made here (no files needed): every format, small enough for many runs a second."""
    frames = _frames()
    seeds = [
        Seed("dicom_native", "dicom", _native_dicom(), suffix=".dcm"),
        Seed("mp4", "mp4", _video("mp4v", ".mp4"), suffix=".mp4"),
        Seed("avi", "avi", _video("MJPG", ".avi"), suffix=".avi"),
        Seed("png", "png", _png(frames[0]), suffix=".png"),
        Seed("png16", "png", _png((frames[0].astype(np.uint16) * 257)), suffix=".png"),
        Seed("png_rgba", "png", _png(np.dstack([frames[0]] * 4)), suffix=".png"),
        Seed("jpeg", "jpeg", cv2.imencode(".jpg", frames[0])[1].tobytes(), suffix=".jpg"),
        Seed("frames_folder", "folder", files={f"f{i}.png": _png(f) for i, f in enumerate(frames[:3])}),
        Seed("nifti", "nifti", _nifti(gz=False), suffix=".nii"),
        Seed("nifti_gz", "gzip", _nifti(gz=True), suffix=".nii.gz"),
        Seed("mha", "text_header", _volume(".mha"), suffix=".mha"),
        Seed("nrrd", "text_header", _volume(".nrrd"), suffix=".nrrd"),
        Seed("predictions_csv", "csv", PREDICTIONS_CSV, suffix=".csv"),
        Seed("readers_csv", "csv", READERS_CSV, suffix=".csv"),
        Seed("dataset", "dataset", files=dataset_files()),
    ]
    return {s.name: s for s in seeds}


#: pydicom test files (real scanner output): JPEG YBR cine, palette colour, RLE, JPEG 2000, RGB.
PYDICOM_FILES = {
    "dicom_jpeg_cine": "examples_ybr_color.dcm",
    "dicom_palette": "examples_palette.dcm",
    "dicom_rgb": "examples_rgb_color.dcm",
    "dicom_jpeg2k": "examples_jpeg2k.dcm",
    "dicom_rle": "OBXXXX1A_rle_2frame.dcm",
}


def real_seeds() -> dict[str, Seed]:
    """Seeds from real files that are present here: pydicom's, and ../shared/data's (long run)."""
    seeds: dict[str, Seed] = {}
    for name, file in PYDICOM_FILES.items():
        data = _pydicom_file(file)
        if data is not None:
            seeds[name] = Seed(name, "dicom", data, suffix=".dcm")
    real = SHARED_DATA / "real"
    still = real / "ncls-examples" / "20221223027" / "COR1.png"
    if still.is_file():
        seeds["real_png"] = Seed("real_png", "png", still.read_bytes(), suffix=".png")
    labels = sorted((real / "bonbid-hie" / "3LABEL").glob("*.mha"))
    if labels:
        seeds["real_mha"] = Seed("real_mha", "text_header", labels[0].read_bytes(), suffix=".mha")
    return seeds


# --- header fields: (offset, size in bytes, byte order) of the numbers a mutation may lie about -----

Field = tuple[int, int, str]


def header_fields(fmt: str, data: bytes) -> list[Field]:
    """Where ``data``'s header keeps sizes, counts and lengths (best effort; stops at damage)."""
    finder = _FIELD_FINDERS.get(fmt)
    try:
        return finder(data) if finder else []
    except (struct.error, IndexError, ValueError):
        return []


def _png_fields(data: bytes) -> list[Field]:
    out: list[Field] = []
    at = 8
    while at + 8 <= len(data) and len(out) < 64:
        length = int.from_bytes(data[at : at + 4], "big")
        out.append((at, 4, "big"))
        if data[at + 4 : at + 8] == b"IHDR":
            out += [(at + 8, 4, "big"), (at + 12, 4, "big"), (at + 16, 1, "big"), (at + 17, 1, "big"), (at + 20, 1, "big")]
        at += 12 + length
    return out


def _jpeg_fields(data: bytes) -> list[Field]:
    out: list[Field] = []
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF and len(out) < 64:
        marker = data[at + 1]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            out.append((at + 2, 2, "big"))
            break
        out.append((at + 2, 2, "big"))
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            out += [(at + 4, 1, "big"), (at + 5, 2, "big"), (at + 7, 2, "big"), (at + 9, 1, "big")]
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return out


_LONG_VRS = {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"OD", b"OL", b"OV", b"UC", b"UR", b"SV", b"UV"}


def _dicom_fields(data: bytes) -> list[Field]:
    """Length fields of every element (explicit VR little endian) and the values of US / UL elements."""
    out: list[Field] = []
    at = 132 if data[128:132] == b"DICM" else 0
    while at + 8 <= len(data) and len(out) < 400:
        tag = data[at : at + 4]
        vr = data[at + 4 : at + 6]
        if tag in (b"\xfe\xff\x00\xe0", b"\xfe\xff\x0d\xe0", b"\xfe\xff\xdd\xe0"):  # item / delimiters
            out.append((at + 4, 4, "little"))
            length = int.from_bytes(data[at + 4 : at + 8], "little")
            is_fragment = tag == b"\xfe\xff\x00\xe0" and length != 0xFFFFFFFF and not _in_sequence(data, at)
            at += 8 + length if is_fragment else 8  # walk into a sequence item; skip a pixel fragment
            continue
        if not (vr.isalpha() and vr.isupper()):
            break
        if vr in _LONG_VRS:
            out.append((at + 8, 4, "little"))
            length, value_at = int.from_bytes(data[at + 8 : at + 12], "little"), at + 12
        else:
            out.append((at + 6, 2, "little"))
            length, value_at = int.from_bytes(data[at + 6 : at + 8], "little"), at + 8
        if vr in (b"US", b"SS") and length >= 2:
            out.append((value_at, 2, "little"))
        if vr in (b"UL", b"SL") and length >= 4:
            out.append((value_at, 4, "little"))
        at = value_at if length == 0xFFFFFFFF or vr == b"SQ" else value_at + length
    return out


def _in_sequence(data: bytes, at: int) -> bool:
    """An item whose content is a dataset (walk into it) rather than a pixel-data fragment (skip it)."""
    return data[at + 12 : at + 14].isalpha()


def _iso_fields(data: bytes) -> list[Field]:
    """Box sizes of an MP4 / MOV, walking into containers, and the entry counts of sample tables."""
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta"}
    tables = {b"stsz": 16, b"stco": 12, b"stts": 12, b"stsc": 12, b"stss": 12, b"co64": 12}
    out: list[Field] = []
    stack = [(0, len(data))]
    while stack and len(out) < 200:
        at, end = stack.pop()
        while at + 8 <= end:
            size, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
            out.append((at, 4, "big"))
            if kind in tables:
                out.append((at + tables[kind], 4, "big"))
            if kind == b"tkhd":
                out += [(at + size - 8, 4, "big"), (at + size - 4, 4, "big")]  # width, height (16.16)
            if size < 8:
                break
            if kind in containers:
                stack.append((at + 8, min(at + size, end)))
            at += size
    return out


def _avi_fields(data: bytes) -> list[Field]:
    """RIFF chunk sizes and the main header's frame count, width and height."""
    out: list[Field] = [(4, 4, "little")]
    at = data.find(b"avih")
    if at >= 0:
        out += [(at + 4, 4, "little"), (at + 24, 4, "little"), (at + 40, 4, "little"), (at + 44, 4, "little")]
    for marker in (b"LIST", b"strh", b"strf", b"idx1", b"movi"):
        found = data.find(marker)
        if found >= 0:
            out.append((found + 4, 4, "little"))
    return out


def _nifti_fields(data: bytes) -> list[Field]:
    dims = [(40 + 2 * i, 2, "little") for i in range(8)]
    return [(0, 4, "little"), *dims, (70, 2, "little"), (72, 2, "little"), (108, 4, "little")]


_FIELD_FINDERS = {
    "png": _png_fields,
    "jpeg": _jpeg_fields,
    "dicom": _dicom_fields,
    "mp4": _iso_fields,
    "avi": _avi_fields,
    "nifti": _nifti_fields,
}
