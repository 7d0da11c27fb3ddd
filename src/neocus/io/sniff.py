"""Tell what a file is from its first bytes (magic numbers), never from its name.

:func:`detect_kind` returns a :class:`Kind` for a path; a folder is ``IMAGE_FOLDER`` when it holds
at least one still image. Unreadable paths and unknown content raise :class:`InputFileError` saying
what the bytes look like instead (text, empty, ...).
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import zlib
from enum import Enum
from pathlib import Path

from neocus.errors import InputFileError

HEAD_BYTES = 1024


class Kind(str, Enum):
    """What a path holds."""

    DICOM = "dicom"
    VIDEO_MP4 = "mp4"  # ISO base media: MP4, MOV, M4V, 3GP
    VIDEO_AVI = "avi"
    VIDEO_MKV = "mkv"  # Matroska / WebM
    PNG = "png"
    JPEG = "jpeg"
    NIFTI = "nifti"
    METAIMAGE = "mha"  # MetaImage .mha / .mhd header
    NRRD = "nrrd"
    IMAGE_FOLDER = "image_folder"

    @property
    def is_video(self) -> bool:
        return self in (Kind.VIDEO_MP4, Kind.VIDEO_AVI, Kind.VIDEO_MKV)

    @property
    def is_still(self) -> bool:
        return self in (Kind.PNG, Kind.JPEG)

    @property
    def is_volume(self) -> bool:
        return self in (Kind.NIFTI, Kind.METAIMAGE, Kind.NRRD)


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_NIFTI_MAGICS = (b"n+1\x00", b"ni1\x00", b"n+2\x00", b"ni2\x00")
_DICOM_GROUPS = (b"\x02\x00", b"\x08\x00")  # first group of a headerless (no preamble) little-endian dataset


def check_readable(path: Path) -> os.stat_result:
    """Stat ``path`` or raise a clear error: missing, not permitted, or not a regular file / folder."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputFileError("no such file or folder", where=path, hint="check the path") from None
    except PermissionError:
        raise InputFileError("permission denied", where=path, hint="check the file's permissions") from None
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror or exc}", where=path) from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise InputFileError("not a regular file or folder", where=path, hint="give a file or a folder of frames")
    if not os.access(path, os.R_OK):
        raise InputFileError("permission denied", where=path, hint="check the file's permissions")
    return st


def read_head(path: Path, *, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of a file, with read errors as :class:`InputFileError`."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except PermissionError:
        raise InputFileError("permission denied", where=path, hint="check the file's permissions") from None
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror or exc}", where=path) from None


def kind_of_bytes(head: bytes) -> Kind | None:
    """The kind named by the magic bytes at the start of a file, or ``None``."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return Kind.DICOM
    if head.startswith(_PNG_MAGIC):
        return Kind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return Kind.VIDEO_MP4
    if len(head) >= 12 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):  # old QuickTime without ftyp
        return Kind.VIDEO_MP4
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Kind.VIDEO_AVI
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Kind.VIDEO_MKV
    if head.startswith(b"NRRD000"):
        return Kind.NRRD
    if len(head) >= 348 and head[344:348] in _NIFTI_MAGICS:  # NIfTI-1 (magic at 344)
        return Kind.NIFTI
    if len(head) >= 8 and head[4:8] in _NIFTI_MAGICS:  # NIfTI-2 (magic at 4)
        return Kind.NIFTI
    if _looks_like_metaimage(head):
        return Kind.METAIMAGE
    if len(head) >= 8 and head[:2] in _DICOM_GROUPS and _looks_like_headerless_dicom(head):
        return Kind.DICOM
    return None


def _looks_like_metaimage(head: bytes) -> bool:
    text = head[:400].decode("latin-1", errors="replace")
    return bool(re.match(r"\s*(ObjectType|NDims|Comment|TransformType)\s*=", text)) and "NDims" in text


def _looks_like_headerless_dicom(head: bytes) -> bool:
    """A dataset written without preamble: ``(0008,xxxx)`` / ``(0002,xxxx)`` tags in ascending order."""
    group = head[:2]
    element = int.from_bytes(head[2:4], "little")
    if group == b"\x08\x00" and element > 0x0100:
        return False
    vr = head[4:6]
    explicit = vr.isalpha() and vr.isupper()
    if explicit:
        return True
    length = int.from_bytes(head[4:8], "little")  # implicit VR little endian: a 4-byte length
    return 0 < length < 256


def describe_bytes(head: bytes) -> str:
    """A few words on what unknown bytes look like (for error messages)."""
    if not head:
        return "the file is empty"
    if head.startswith(b"\x1f\x8b"):
        return "looks like gzip-compressed data"
    if head.startswith(b"PK\x03\x04"):
        return "looks like a zip archive"
    if head.startswith(b"%PDF"):
        return "looks like a PDF document"
    if _is_text(head[:512]):
        return "looks like text"
    return f"unknown content (starts with {head[:8].hex(' ')})"


def _is_text(sample: bytes) -> bool:
    """UTF-8 (or ASCII) made of printable characters and white space, allowing a character cut at the end."""
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:
            return False
        text = sample[: exc.start].decode("utf-8")
    if not text:
        return False
    printable = sum(ch.isprintable() or ch in "\t\r\n\f" for ch in text)
    return printable / len(text) > 0.95


def detect_kind(path: str | Path) -> Kind:
    """What ``path`` holds, judged from content. Raises :class:`InputFileError` when it is none of :class:`Kind`."""
    path = Path(path)
    st = check_readable(path)
    if stat.S_ISDIR(st.st_mode):
        if not list_frame_files(path):
            others = _kinds_in_folder(path)
            if others:
                names = ", ".join(sorted(k.value for k in others))
                raise InputFileError(f"folder holds no PNG or JPEG frames, only {names} files", where=path, hint="give those files one at a time")
            raise InputFileError("folder holds no PNG or JPEG frames", where=path, hint="give a video, a DICOM, an image or a folder of images")
        return Kind.IMAGE_FOLDER
    head = read_head(path)
    kind = kind_of_bytes(head)
    if kind is None and head.startswith(b"\x1f\x8b"):
        kind = _sniff_gzip(path)
    if kind is None:
        raise InputFileError(
            f"not a readable image, video, DICOM or volume: {describe_bytes(head)}",
            where=path,
            hint="neocus reads MP4/AVI/MOV, DICOM, PNG/JPEG, a folder of frames, NIfTI, MHA/NRRD",
        )
    return kind


def _sniff_gzip(path: Path) -> Kind | None:
    """``.nii.gz`` and friends: look at the decompressed head."""
    try:
        with gzip.open(path, "rb") as fh:
            inner = fh.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error):
        return None
    kind = kind_of_bytes(inner)
    return kind if kind == Kind.NIFTI else None


def natural_key(name: str) -> list[object]:
    """Sort key that orders ``frame2`` before ``frame10``."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def _kinds_in_folder(folder: Path, limit: int = 200) -> set[Kind]:
    """The kinds of (up to ``limit``) readable files directly in ``folder``."""
    kinds: set[Kind] = set()
    with os.scandir(folder) as entries:
        for i, entry in enumerate(entries):
            if i >= limit:
                break
            if entry.name.startswith(".") or not _is_file(entry):
                continue
            try:
                with open(entry.path, "rb") as fh:
                    kind = kind_of_bytes(fh.read(HEAD_BYTES))
            except OSError:
                continue
            if kind is not None:
                kinds.add(kind)
    return kinds


def _is_file(entry: os.DirEntry[str]) -> bool:
    """Whether a folder entry is a regular file (after links); a link loop, a dangling or unreadable
    link is not one (``DirEntry.is_file`` raises on a loop)."""
    try:
        return entry.is_file()
    except OSError:
        return False


def list_frame_files(folder: Path) -> list[Path]:
    """The PNG / JPEG files of a folder (by content, hidden files skipped), in natural name order."""
    found: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except PermissionError:
        raise InputFileError("permission denied", where=folder, hint="check the folder's permissions") from None
    except OSError as exc:
        raise InputFileError(f"cannot list the folder: {exc.strerror or exc}", where=folder) from None
    for entry in entries:
        if entry.name.startswith(".") or not _is_file(entry):
            continue
        try:
            with open(entry.path, "rb") as fh:
                head = fh.read(16)
        except OSError:
            continue
        if kind_of_bytes(head) in (Kind.PNG, Kind.JPEG):
            found.append(Path(entry.path))
    found.sort(key=lambda p: natural_key(p.name))
    return found

