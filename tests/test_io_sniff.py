"""Format sniffing works from content: magic bytes, never the file name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocus.errors import InputFileError
from neocus.io import Kind, load_sweep, write_dicom_cine
from neocus.io.sniff import describe_bytes, detect_kind, kind_of_bytes, natural_key


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00" * 128 + b"DICM" + b"\x02\x00", Kind.DICOM),
        (b"\x00\x00\x00\x1cftypisom" + b"\x00" * 20, Kind.VIDEO_MP4),
        (b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 20, Kind.VIDEO_MP4),  # QuickTime MOV
        (b"RIFF\x10\x00\x00\x00AVI LIST", Kind.VIDEO_AVI),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),  # RIFF but audio
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", Kind.VIDEO_MKV),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", Kind.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", Kind.JPEG),
        (b"NRRD0004\n# Complete", Kind.NRRD),
        (b"ObjectType = Image\nNDims = 3\n", Kind.METAIMAGE),
        (b"\x5c\x01\x00\x00" + b"\x00" * 340 + b"n+1\x00", Kind.NIFTI),
        (b"\x1c\x02\x00\x00n+2\x00\r\n\x1a\n", Kind.NIFTI),
        (b"hello world, just some text", None),
    ],
)
def test_magic_bytes(head: bytes, kind: Kind | None) -> None:
    assert kind_of_bytes(head) == kind


def test_describe_unknown_bytes() -> None:
    assert describe_bytes(b"") == "the file is empty"
    assert describe_bytes("plain text, ünïcode\n".encode()) == "looks like text"
    assert describe_bytes(b"PK\x03\x04rest") == "looks like a zip archive"
    assert describe_bytes(b"\x00\x01\x02\x03\xfe\xff\x00\x00\x11").startswith("unknown content (starts with 00 01 02")


def test_natural_order() -> None:
    names = ["f10.png", "f2.png", "F1.png", "f1b.png"]
    assert sorted(names, key=natural_key) == ["F1.png", "f1b.png", "f2.png", "f10.png"]


def test_dicom_with_a_misleading_name_and_without_preamble(tmp_path: Path) -> None:
    frames = (np.random.default_rng(0).random((3, 16, 24)) * 255).astype(np.uint8)
    ds = pydicom.dcmread(write_dicom_cine(tmp_path / "x.dcm", frames, 10.0, spacing_mm=(0.3, 0.3)))
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    for implicit in (True, False):
        path = tmp_path / f"sweep_{implicit}.mp4"  # named like a video; a bare dataset inside
        with open(path, "wb") as fh:
            out = pydicom.filebase.DicomFileLike(fh)
            out.is_little_endian, out.is_implicit_VR = True, implicit
            pydicom.filewriter.write_dataset(out, ds)
        assert path.read_bytes()[128:132] != b"DICM"
        assert detect_kind(path) == Kind.DICOM
        sweep = load_sweep(path)
        assert np.array_equal(sweep.frames, frames) and sweep.meta.spacing_mm == (0.3, 0.3)


def test_special_paths(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        detect_kind(tmp_path / "missing")
    fifo = tmp_path / "pipe"
    import os

    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        with pytest.raises(InputFileError, match="not a regular file or folder"):
            detect_kind(fifo)


@settings(max_examples=200, deadline=None)
@given(head=st.binary(max_size=1100))
def test_any_bytes_are_classified_or_described(head: bytes) -> None:
    kind = kind_of_bytes(head)
    assert kind is None or isinstance(kind, Kind)
    assert isinstance(describe_bytes(head), str) and describe_bytes(head)
