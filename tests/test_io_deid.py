"""De-identification: PHI planted in a DICOM never reaches SweepMeta, nor any file neocus writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_testdata import dicom_test_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from neocus.io import deidentify_dataset, load_sweep, write_dicom_cine, write_video
from neocus.io.deid import KEPT_KEYWORDS, kept_tags, patient_age_days

PLANTED = {
    "PatientName": "DOE^JANE^QUINTESSA",
    "PatientID": "MRN99887766",
    "PatientBirthDate": "20240102",
    "OtherPatientIDs": "OTHERID424242",
    "PatientAddress": "17 Plantedstreet Avenue",
    "PatientMotherBirthName": "MOTHERMAIDENNAME",
    "InstitutionName": "Saint Plantedius Hospital",
    "InstitutionAddress": "Hospitalweg 99 Plantedtown",
    "ReferringPhysicianName": "HOUSE^GREGORYPLANTED",
    "OperatorsName": "SONOGRAPHER^PLANTEDOP",
    "AccessionNumber": "ACC5544332211",
    "StudyID": "STUDY778899",
    "StationName": "PLANTEDSTATION1",
    "DeviceSerialNumber": "SERIAL31415926",
    "AdditionalPatientHistory": "born at Plantedtown general",
    "StudyDescription": "CUS JANE DOE twin A",
    "StudyInstanceUID": "1.2.826.0.1.3680043.99887766.1",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.99887766.2",
}
EXAM_DATE = "20240110"  # 8 days after the planted birth date
PLANTED_PRIVATE = "PRIVATEPHI^HIDDEN"
PLANTED_NESTED = "NESTED^PHYSICIANPLANTED"


def _strings_planted() -> list[str]:
    return [*PLANTED.values(), PLANTED_PRIVATE, PLANTED_NESTED, "20240102", "20240110"]


@pytest.fixture
def planted_dicom(tmp_path: Path) -> Path:
    """A real ultrasound cine (pydicom's examples_ybr_color.dcm) with PHI planted everywhere."""
    ds = pydicom.dcmread(dicom_test_file("examples_ybr_color.dcm"))
    for keyword, value in PLANTED.items():
        setattr(ds, keyword, value)
    for keyword in ("StudyDate", "SeriesDate", "ContentDate", "AcquisitionDate"):
        setattr(ds, keyword, EXAM_DATE)
    block = ds.private_block(0x0011, "PLANTED CREATOR", create=True)
    block.add_new(0x01, "LO", PLANTED_PRIVATE)
    request = Dataset()
    request.ScheduledPerformingPhysicianName = PLANTED_NESTED
    request.RequestedProcedureID = "REQ123456789"
    ds.RequestAttributesSequence = Sequence([request])
    item = Dataset()
    item.PersonName = PLANTED_NESTED  # a PN inside a sequence neocus does not know to remove by name
    item.ReferencedSOPInstanceUID = PLANTED["StudyInstanceUID"] + ".5"
    ds.ReferencedInstanceSequence = Sequence([item])
    path = tmp_path / "planted.dcm"
    ds.save_as(path)
    raw = path.read_bytes()
    assert all(s.encode() in raw for s in _strings_planted())  # the fixture really carries them
    return path


def _assert_no_phi(text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in _strings_planted():
        assert secret.encode() not in data, f"PHI {secret!r} leaked"
    assert b"99887766" not in data  # not even a fragment of the planted UID root


def test_sweep_meta_carries_no_phi(planted_dicom: Path) -> None:
    sweep = load_sweep(planted_dicom)
    _assert_no_phi(repr(sweep.meta))
    _assert_no_phi(str(sweep.meta.kept_tags))
    assert set(sweep.meta.kept_tags) <= {*KEPT_KEYWORDS, "PatientAgeDays", "us_region_x0", "us_region_y0", "us_region_x1", "us_region_y1"}
    assert sweep.meta.kept_tags["PatientAgeDays"] == 8
    assert sweep.meta.kept_tags["Manufacturer"] == "SonoSite, Inc."


def test_deidentified_dataset_written_to_disk_has_no_phi(planted_dicom: Path, tmp_path: Path) -> None:
    original = pydicom.dcmread(planted_dicom)
    clean = deidentify_dataset(original)
    out = tmp_path / "clean.dcm"
    clean.save_as(out, enforce_file_format=True)
    _assert_no_phi(out.read_bytes())
    again = pydicom.dcmread(out)
    assert again.PatientIdentityRemoved == "YES" and "PS3.15" in again.DeidentificationMethod
    assert [c.CodeValue for c in again.DeidentificationMethodCodeSequence] == ["113100", "113108"]
    assert again.PatientAge == "008D" and again.PatientName == "" and again.PatientID == ""
    assert again.StudyInstanceUID != PLANTED["StudyInstanceUID"] and again.SOPClassUID == original.SOPClassUID
    assert again.file_meta.MediaStorageSOPInstanceUID == again.SOPInstanceUID != original.SOPInstanceUID
    assert again.Manufacturer == original.Manufacturer and again.TransducerData == original.TransducerData
    # the image survives: same frames, timing and spacing
    before, after = load_sweep(planted_dicom), load_sweep(out)
    assert np.array_equal(before.frames, after.frames)
    assert after.meta.fps == before.meta.fps and after.meta.spacing_mm == before.meta.spacing_mm
    # the source dataset was not modified
    assert str(original.PatientName) == PLANTED["PatientName"]


def test_uid_replacement_is_consistent_across_files(planted_dicom: Path) -> None:
    ds = pydicom.dcmread(planted_dicom)
    uid_map: dict[str, str] = {}
    a = deidentify_dataset(ds, uid_map=uid_map)
    b = deidentify_dataset(ds, uid_map=uid_map)
    c = deidentify_dataset(ds)
    assert a.StudyInstanceUID == b.StudyInstanceUID != c.StudyInstanceUID
    assert uid_map[PLANTED["StudyInstanceUID"]] == a.StudyInstanceUID


def test_without_patient_characteristics(planted_dicom: Path) -> None:
    ds = pydicom.dcmread(planted_dicom)
    ds.PatientSex, ds.PatientWeight = "F", 1.2
    clean = deidentify_dataset(ds, keep_patient_characteristics=False, patient_id="CASE-0007")
    assert "PatientSex" not in clean and "PatientWeight" not in clean and "PatientAge" not in clean
    assert clean.PatientID == "CASE-0007"
    kept = deidentify_dataset(ds)
    assert kept.PatientSex == "F" and float(kept.PatientWeight) == 1.2


def test_files_written_from_a_planted_sweep_carry_no_phi(planted_dicom: Path, tmp_path: Path) -> None:
    sweep = load_sweep(planted_dicom)
    allowed = {k: v for k, v in sweep.meta.kept_tags.items() if k in ("Manufacturer", "ManufacturerModelName", "TransducerData")}
    dcm = write_dicom_cine(tmp_path / "out.dcm", sweep.frames, sweep.meta.fps, spacing_mm=sweep.meta.spacing_mm, tags=allowed)
    mp4 = write_video(tmp_path / "out.mp4", sweep.frames, sweep.meta.fps)
    _assert_no_phi(dcm.read_bytes())
    _assert_no_phi(mp4.read_bytes())


def test_patient_age_days_from_dates_or_age_string() -> None:
    ds = Dataset()
    ds.PatientBirthDate, ds.StudyDate = "20240227", "20240305"  # across a leap day
    assert patient_age_days(ds) == 7
    ds = Dataset()
    ds.PatientAge = "003W"
    assert patient_age_days(ds) == 21
    ds.PatientAge = "002M"
    assert patient_age_days(ds) == 61
    with pytest.warns(UserWarning, match="Invalid value for VR AS"):
        ds.PatientAge = "garbage"
    assert patient_age_days(ds) is None
    ds = Dataset()
    ds.PatientBirthDate, ds.StudyDate = "20240305", "20240227"  # exam before birth: not an age
    assert patient_age_days(ds) is None


def test_kept_tags_are_plain_values() -> None:
    ds = pydicom.dcmread(dicom_test_file("examples_palette.dcm"))
    tags = kept_tags(ds)
    assert tags["TransducerData"] == "C5-1\\UNUSED\\UNUSED"
    assert type(tags["Rows"]) is int and tags["Rows"] == 350
    assert all(type(v) in (str, int, float) for v in tags.values())


def test_every_listed_keyword_is_a_real_dicom_attribute() -> None:
    """A misspelt keyword would silently remove nothing."""
    from pydicom.datadict import tag_for_keyword

    from neocus.io.deid import EMPTY_KEYWORDS, REMOVE_KEYWORDS
    from neocus.io.write import WRITABLE_TAGS

    for keyword in (*REMOVE_KEYWORDS, *EMPTY_KEYWORDS, *KEPT_KEYWORDS, *WRITABLE_TAGS):
        assert tag_for_keyword(keyword) is not None, keyword
    assert not set(KEPT_KEYWORDS) & (set(REMOVE_KEYWORDS) | set(EMPTY_KEYWORDS))


def test_no_phi_in_logs_or_warnings_while_reading(tmp_path: Path, caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> None:
    """pydicom quotes invalid values in its warnings and log records; none may reach the host application."""
    ds = pydicom.dcmread(dicom_test_file("examples_ybr_color.dcm"))
    path = tmp_path / "odd.dcm"
    with pydicom.config.disable_value_validation():
        ds.StudyInstanceUID = "1.2.DOEJANEPLANTED"  # an invalid UI value that pydicom complains about, quoting it
        ds.PatientBirthDate = "DOEJANEPLANTED"  # an invalid DA value
        ds.save_as(path)
    recwarn.clear()
    caplog.clear()
    with caplog.at_level("DEBUG"):
        sweep = load_sweep(path)
    assert sweep.n_frames == 30
    assert "DOEJANEPLANTED" not in caplog.text
    assert not [w for w in recwarn if "DOEJANEPLANTED" in str(w.message)]
