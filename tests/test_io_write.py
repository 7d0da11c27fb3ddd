"""Writers: MP4 and multi-frame US DICOM round-trip through load_sweep; writes are atomic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from neocus.errors import NeocusError
from neocus.io import load_sweep, write_dicom_cine, write_video
from neocus.io.write import WRITABLE_TAGS


def _pattern(n: int = 15, h: int = 97, w: int = 131) -> np.ndarray:
    """Smooth moving texture (odd sizes on purpose)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([(127 + 100 * np.sin((xx + 4 * t) / 9.0) * np.cos(yy / 13.0)).astype(np.uint8) for t in range(n)])


def test_dicom_cine_round_trip_is_exact(tmp_path: Path) -> None:
    frames = _pattern()
    path = write_dicom_cine(tmp_path / "cine.dcm", frames, 28.0, spacing_mm=(0.1234567, 0.2), tags={"PatientName": "PHANTOM^0001", "PatientID": "SIM-0001", "Manufacturer": "neocus phantom"})
    sweep = load_sweep(path)
    assert np.array_equal(sweep.frames, frames)
    assert sweep.meta.fps == pytest.approx(28.0, rel=1e-9)
    assert sweep.meta.spacing_mm == pytest.approx((0.1234567, 0.2), rel=1e-12)
    assert sweep.meta.timestamps_s[-1] == pytest.approx(14 / 28.0, rel=1e-9)
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == pydicom.uid.UltrasoundMultiFrameImageStorage and ds.Modality == "US"
    assert ds.PhotometricInterpretation == "MONOCHROME2" and int(ds.NumberOfFrames) == 15
    assert ds.FrameIncrementPointer == pydicom.tag.Tag("FrameTime") and int(ds.CineRate) == 28
    region = ds.SequenceOfUltrasoundRegions[0]
    assert (region.PhysicalUnitsXDirection, region.PhysicalUnitsYDirection) == (3, 3)  # cm
    assert region.PhysicalDeltaX == pytest.approx(0.02) and region.PhysicalDeltaY == pytest.approx(0.01234567)
    assert str(ds.PatientName) == "PHANTOM^0001" and ds.Manufacturer == "neocus phantom"
    assert sweep.meta.kept_tags["Manufacturer"] == "neocus phantom"


def test_dicom_cine_validates_as_a_dataset(tmp_path: Path) -> None:
    path = write_dicom_cine(tmp_path / "cine.dcm", _pattern(3, 32, 48), 10.0)
    ds = pydicom.dcmread(path)  # strict read: preamble, file meta and body consistent
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert "SequenceOfUltrasoundRegions" not in ds  # no spacing given -> no region
    assert load_sweep(path).meta.spacing_mm is None


def test_fixed_uids_and_dates_give_byte_identical_files(tmp_path: Path) -> None:
    tags = {
        "SOPInstanceUID": "1.2.826.0.1.3680043.8.498.1", "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.2",
        "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.3", "StudyDate": "20250101", "StudyTime": "120000",
        "ContentDate": "20250101", "ContentTime": "120000",
    }
    a = write_dicom_cine(tmp_path / "a.dcm", _pattern(3, 32, 48), 10.0, spacing_mm=(0.2, 0.2), tags=tags)
    b = write_dicom_cine(tmp_path / "b.dcm", _pattern(3, 32, 48), 10.0, spacing_mm=(0.2, 0.2), tags=tags)
    assert a.read_bytes() == b.read_bytes()
    assert pydicom.dcmread(a).file_meta.MediaStorageSOPInstanceUID == tags["SOPInstanceUID"]


def test_dicom_cine_refuses_unknown_tags(tmp_path: Path) -> None:
    with pytest.raises(NeocusError, match="tags: not writable"):
        write_dicom_cine(tmp_path / "x.dcm", _pattern(2), 10.0, tags={"OtherPatientIDs": "123"})
    assert "OtherPatientIDs" not in WRITABLE_TAGS
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fps", [28.0, 12.5, 29.97])
def test_mp4_round_trip_is_close(tmp_path: Path, fps: float) -> None:
    frames = _pattern()
    sweep = load_sweep(write_video(tmp_path / "sweep.mp4", frames, fps))
    assert sweep.frames.shape == (15, 98, 132)  # odd sizes padded at the bottom / right
    decoded = sweep.frames[:, :97, :131].astype(np.int16)
    assert np.abs(decoded - frames).mean() < 2.0
    padding_row, last_row = sweep.frames[:, 97, :131].astype(np.int16), sweep.frames[:, 96, :131].astype(np.int16)
    assert np.abs(padding_row - last_row).mean() < 3  # a copy of the last row, up to compression
    assert sweep.meta.fps == pytest.approx(fps, rel=1e-3)
    assert sweep.meta.timestamps_s[-1] == pytest.approx(14 / fps, rel=1e-3)


def test_lossless_ffv1_in_matroska_round_trips_exactly(tmp_path: Path) -> None:
    frames = _pattern(6, 48, 64)
    sweep = load_sweep(write_video(tmp_path / "sweep.mkv", frames, 15.0, fourcc="FFV1"))
    assert np.array_equal(sweep.frames, frames) and sweep.meta.fps == 15.0


def test_unsupported_codec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NeocusError, match="cannot write 'zzzz' video"):
        write_video(tmp_path / "a.mp4", _pattern(2, 16, 16), 10.0, fourcc="zzzz")
    assert list(tmp_path.iterdir()) == []


def test_writers_leave_nothing_behind_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frames = _pattern(3, 32, 48)

    def broken_save(self, *_a, **_k) -> None:
        Path(_a[0]).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(pydicom.dataset.Dataset, "save_as", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_dicom_cine(tmp_path / "cine.dcm", frames, 10.0)
    assert list(tmp_path.iterdir()) == []


def test_writer_input_checks(tmp_path: Path) -> None:
    with pytest.raises(NeocusError, match="frames: must be a non-empty uint8"):
        write_video(tmp_path / "a.mp4", np.zeros((2, 8, 8), np.float32), 10.0)
    with pytest.raises(NeocusError, match=r"fps: must be in \(0, 1000\]"):
        write_video(tmp_path / "a.mp4", np.zeros((2, 8, 8), np.uint8), 0.0)
    with pytest.raises(NeocusError, match="output folder does not exist"):
        write_video(tmp_path / "missing" / "a.mp4", np.zeros((2, 8, 8), np.uint8), 10.0)
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "cine.dcm"
    write_dicom_cine(target, _pattern(5, 32, 48), 10.0)
    write_dicom_cine(target, _pattern(2, 16, 24), 20.0)
    assert load_sweep(target).frames.shape == (2, 16, 24)
    assert [p.name for p in tmp_path.iterdir()] == ["cine.dcm"]
