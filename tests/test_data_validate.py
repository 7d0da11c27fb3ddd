"""``validate_dataset`` / ``neocus validate``: a good dataset is clean; every problem is found, with file and field."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from neocus.cli import main
from neocus.data import (
    BoxAnnotation,
    CaseLabels,
    CaseMetadata,
    CaseRecord,
    DatasetRecord,
    FrameAnnotation,
    Provenance,
    Splits,
    ViewFrame,
    write_annotations,
    write_case,
    write_dataset_json,
)
from neocus.data.validate import Problem, validate_dataset
from neocus.vocab import Finding, IvhGrade, Plane, Structure, View

N_VIDEO_FRAMES = 10
N_DICOM_FRAMES = 6


def _write_mp4(path: Path, n: int = N_VIDEO_FRAMES) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (32, 32), isColor=False)
    for i in range(n):
        writer.write(np.full((32, 32), 10 * i, np.uint8))
    writer.release()


def _write_dicom(path: Path, n: int = N_DICOM_FRAMES, *, pixels: bool = True) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        ExplicitVRLittleEndian,
        UltrasoundMultiFrameImageStorage,
        generate_uid,
    )

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.Rows, ds.Columns, ds.NumberOfFrames = 16, 16, n
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if pixels:
        ds.PixelData = np.zeros((n, 16, 16), np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)


def _case(case_id: str, grade: IvhGrade, subject: str) -> CaseRecord:
    findings = {View.AHV: [Finding.NORMAL], View.MSV: [Finding.IVH, Finding.VENTRICULAR_DILATION] if grade >= 3 else [Finding.NORMAL]}
    if grade in (IvhGrade.I, IvhGrade.II):
        findings[View.TVV] = [Finding.IVH]
    frames = {View.AHV: ViewFrame(sweep="coronal.mp4", frame=2), View.MSV: ViewFrame(sweep="sagittal.dcm", frame=5)}
    return CaseRecord(
        case_id=case_id,
        sweeps={"coronal.mp4": Plane.CORONAL, "sagittal.dcm": Plane.SAGITTAL},
        metadata=CaseMetadata(subject=subject, ga_weeks=30, age_days=5),
        labels=CaseLabels.derive(grade, findings, frames),
    )


@pytest.fixture(scope="module")
def good_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("good") / "ds"
    ids = ["a01", "a02", "b01", "c01"]
    write_dataset_json(
        root,
        DatasetRecord(
            name="tiny",
            provenance=Provenance(generator="test"),
            splits=Splits(seed=0, train=["a01", "a02", "b01"], test=["c01"], folds={0: ["a01", "a02"], 1: ["b01"]}),
        ),
    )
    for i, case_id in enumerate(ids):
        folder = write_case(root, _case(case_id, IvhGrade(i + 1), subject=case_id[0]))
        _write_mp4(folder / "coronal.mp4")
        _write_dicom(folder / "sagittal.dcm")
        (folder / "views").mkdir()
        cv2.imwrite(str(folder / "views" / f"{View.AHV.value}.png"), np.zeros((8, 8), np.uint8))
        write_annotations(
            folder,
            "coronal.mp4",
            [FrameAnnotation(frame=2, view=View.AHV, boxes=[BoxAnnotation(label=Structure.ANTERIOR_HORN, cx=9, cy=9, w=6, h=2, angle=15)])],
        )
        write_annotations(folder, "sagittal.dcm", [FrameAnnotation(frame=5, view=View.MSV)])
    return root


@pytest.fixture
def good(good_template, tmp_path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(good_template, root)
    return root


def _where(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.file, p.field) for p in problems}


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_good_dataset_is_clean(good):
    assert validate_dataset(good) == []
    assert main(["validate", str(good)]) == 0


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(d):
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return change


CASE = "cases/a01/case.json"
MUTATIONS: dict[str, tuple[Callable[[Path], None], str, str, str]] = {
    # name: (mutation, file, field, words in the message)
    "dataset.json missing": (lambda r: (r / "dataset.json").unlink(), "dataset.json", "", "file not found"),
    "dataset.json not JSON": (lambda r: (r / "dataset.json").write_text("{"), "dataset.json", "", "not valid JSON"),
    "wrong schema version": (
        lambda r: _edit_json(r / "dataset.json", _set("schema_version", "neocus-dataset/0")),
        "dataset.json", "schema_version", "unsupported schema version",
    ),
    "case schema version": (lambda r: _edit_json(r / CASE, _set("schema_version", "v9")), CASE, "schema_version", "unsupported"),
    "folder name != case_id": (lambda r: _edit_json(r / CASE, _set("case_id", "zzz")), CASE, "case_id", "differs from its folder"),
    "unsafe case id": (lambda r: _edit_json(r / CASE, _set("case_id", "Doe Jane")), CASE, "case_id", "pattern"),
    "unknown metadata field": (lambda r: _edit_json(r / CASE, _set("metadata", "patient_name", "X")), CASE, "metadata.patient_name", "unknown field"),
    "sweep missing": (lambda r: (r / "cases/a01/coronal.mp4").unlink(), CASE, "sweeps.coronal.mp4", "missing"),
    "sweep is text": (lambda r: (r / "cases/a01/coronal.mp4").write_text("hello, not a video\n" * 5), CASE, "sweeps.coronal.mp4", "not readable"),
    "dicom without pixels": (lambda r: _write_dicom(r / "cases/a01/sagittal.dcm", pixels=False), CASE, "sweeps.sagittal.dcm", "no pixel data"),
    "finding not in vocab": (lambda r: _edit_json(r / CASE, _set("labels", "findings", "AHV", ["bleed"])), CASE, "labels.findings.AHV[0]", "Input should be"),
    "view not in vocab": (lambda r: _edit_json(r / CASE, _set("labels", "findings", "COR1", ["normal"])), CASE, "labels.findings.COR1 (key)", "Input should be"),
    "severe disagrees": (lambda r: _edit_json(r / CASE, _set("labels", "severe", 1)), CASE, "labels.severe", "gives severe=0"),
    "tier disagrees": (lambda r: _edit_json(r / CASE, _set("labels", "tier", "normal")), CASE, "labels.tier", "gives mild"),
    "view frame beyond sweep": (lambda r: _edit_json(r / CASE, _set("labels", "view_frames", "MSV", "frame", N_DICOM_FRAMES)), CASE, "labels.view_frames.MSV.frame", "beyond"),
    "view frame wrong plane": (
        lambda r: _edit_json(r / CASE, _set("labels", "view_frames", "MSV", "sweep", "coronal.mp4")),
        CASE, "labels.view_frames.MSV.sweep", "sagittal",
    ),
    "view image name": (lambda r: (r / "cases/a01/views/COR1.png").write_bytes(b"\x89PNG\r\n\x1a\n"), "cases/a01/views/COR1.png", "", "not a standard view"),
    "view image not png": (lambda r: (r / "cases/a01/views/AHV.png").write_text("x"), "cases/a01/views/AHV.png", "", "not a PNG"),
    "annotation frame beyond sweep": (
        lambda r: (r / "cases/a01/annotations/coronal.jsonl").write_text(json.dumps({"frame": N_VIDEO_FRAMES}) + "\n"),
        "cases/a01/annotations/coronal.jsonl", "line 1: frame", "beyond the sweep's 10 frames",
    ),
    "annotation label not in vocab": (
        lambda r: (r / "cases/a01/annotations/coronal.jsonl").write_text(
            "\n" + json.dumps({"frame": 1, "boxes": [{"label": "brain", "cx": 1, "cy": 1, "w": 2, "h": 1, "angle": 0}]}) + "\n"
        ),
        "cases/a01/annotations/coronal.jsonl", "line 2: boxes[0].label", "Input should be",
    ),
    "box breaks convention": (
        lambda r: (r / "cases/a01/annotations/coronal.jsonl").write_text(
            json.dumps({"frame": 1, "boxes": [{"label": Structure.THALAMUS.value, "cx": 1, "cy": 1, "w": 1, "h": 3, "angle": 0}]}) + "\n"
        ),
        "cases/a01/annotations/coronal.jsonl", "line 1: boxes[0].h", "long-edge",
    ),
    "box angle out of range": (
        lambda r: (r / "cases/a01/annotations/coronal.jsonl").write_text(
            json.dumps({"frame": 1, "boxes": [{"label": Structure.THALAMUS.value, "cx": 1, "cy": 1, "w": 3, "h": 1, "angle": 90}]}) + "\n"
        ),
        "cases/a01/annotations/coronal.jsonl", "line 1: boxes[0].angle", "less than 90",
    ),
    "box outside the frame": (
        lambda r: (r / "cases/a01/annotations/coronal.jsonl").write_text(
            json.dumps({"frame": 1, "boxes": [{"label": Structure.THALAMUS.value, "cx": 10, "cy": 10, "w": 3, "h": 1, "angle": 0},
                                              {"label": Structure.THALAMUS.value, "cx": 40, "cy": 10, "w": 3, "h": 1, "angle": 0}]}) + "\n"
        ),
        "cases/a01/annotations/coronal.jsonl", "line 1: boxes[1]", "outside the 32x32 frame",
    ),
    "annotation for unknown sweep": (
        lambda r: (r / "cases/a01/annotations/axial.jsonl").write_text(json.dumps({"frame": 1}) + "\n"),
        "cases/a01/annotations/axial.jsonl", "", "no sweep named",
    ),
    "duplicate annotated frame": (
        lambda r: (r / "cases/a01/annotations/coronal.jsonl").write_text((json.dumps({"frame": 1}) + "\n") * 2),
        "cases/a01/annotations/coronal.jsonl", "line 2: frame", "annotated twice",
    ),
    "duplicated case id": (
        lambda r: (shutil.copytree(r / "cases/a02", r / "cases/a03"), _edit_json(r / "cases/a03/case.json", _set("case_id", "a02"))),
        "cases/a03/case.json", "case_id", "also used by cases/a02/case.json",
    ),
    "folds overlap": (lambda r: _edit_json(r / "dataset.json", _set("splits", "folds", "1", ["b01", "a01"])), "dataset.json", "splits.folds.1[1]", "also in fold 0"),
    "fold names unknown case": (lambda r: _edit_json(r / "dataset.json", _set("splits", "folds", "1", ["b01", "q99"])), "dataset.json", "splits.folds.1[1]", "unknown case"),
    "test case in a fold": (lambda r: _edit_json(r / "dataset.json", _set("splits", "folds", "1", ["b01", "c01"])), "dataset.json", "splits.folds.1[1]", "test case"),
    "train/test overlap": (lambda r: _edit_json(r / "dataset.json", _set("splits", "test", ["c01", "a01"])), "dataset.json", "splits.test[1]", "both train and test"),
    "listed case missing": (lambda r: _edit_json(r / "dataset.json", _set("cases", ["a01", "a02", "b01", "c01", "d01"])), "dataset.json", "cases[4]", "has no cases/d01"),
    "case not listed": (lambda r: _edit_json(r / "dataset.json", _set("cases", ["a01", "a02", "b01"])), "cases/c01", "", "not listed"),
    "case folder without case.json": (lambda r: (r / "cases/a01/case.json").unlink(), CASE, "", "no case.json"),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_each_problem_is_reported_with_file_and_field(good, name):
    mutate, file, field, words = MUTATIONS[name]
    mutate(good)
    problems = validate_dataset(good)
    hits = [p for p in problems if (p.file, p.field) == (file, field)]
    assert hits, f"{name}: expected ({file}, {field}) among {problems}"
    assert any(words in p.message for p in hits), f"{name}: {hits}"


def test_several_problems_are_all_reported(good, capsys):
    names = ["wrong schema version", "case schema version", "duplicated case id", "severe disagrees", "annotation frame beyond sweep", "box breaks convention",
             "view image name", "fold names unknown case", "dicom without pixels"]
    # two of these edit the same annotation file: give the box problem its own sweep file
    for name in names:
        if name == "box breaks convention":
            (good / "cases/b01/annotations/coronal.jsonl").write_text(
                json.dumps({"frame": 1, "boxes": [{"label": Structure.THALAMUS.value, "cx": 1, "cy": 1, "w": 1, "h": 3, "angle": 0}]}) + "\n"
            )
        else:
            MUTATIONS[name][0](good)
    found = _where(validate_dataset(good))
    expected = {(MUTATIONS[n][1], MUTATIONS[n][2]) for n in names if n != "box breaks convention"}
    expected.add(("cases/b01/annotations/coronal.jsonl", "line 1: boxes[0].h"))
    assert expected <= found
    capsys.readouterr()
    assert main(["validate", str(good), "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is False
    assert expected <= {(p["file"], p["field"]) for p in payload["problems"]}


def test_table_output_and_missing_folder(good, capsys, tmp_path):
    MUTATIONS["severe disagrees"][0](good)
    assert main(["validate", str(good)]) == 1
    out = capsys.readouterr().out
    assert "labels.severe" in out and "2 problems" in out  # severe=1 also contradicts the stored tier
    assert main(["validate", str(tmp_path / "nope")]) != 0
    err = capsys.readouterr().err
    assert "dataset folder not found" in err and "Traceback" not in err
    assert validate_dataset(tmp_path / "nope")[0].message == "dataset folder not found"


def test_no_probe_only_checks_existence(good):
    (good / "cases/a01/coronal.mp4").write_text("not a video")
    assert validate_dataset(good, probe_sweeps=False) == []
    assert validate_dataset(good) != []


def test_a_broken_label_does_not_hide_file_problems(good):
    MUTATIONS["finding not in vocab"][0](good)
    MUTATIONS["sweep missing"][0](good)
    MUTATIONS["annotation frame beyond sweep"][0](good)  # coronal.mp4 gone: its length is unknown now
    (good / "cases/a01/annotations/sagittal.jsonl").write_text(json.dumps({"frame": 99}) + "\n")
    found = _where(validate_dataset(good))
    assert {(CASE, "labels.findings.AHV[0]"), (CASE, "sweeps.coronal.mp4"), ("cases/a01/annotations/sagittal.jsonl", "line 1: frame")} <= found
    assert ("cases/a01/annotations/coronal.jsonl", "line 1: frame") not in found


def test_non_ultrasound_dicom_sweep_is_reported(good):
    pydicom_data = pytest.importorskip("pydicom.data")
    shutil.copy(pydicom_data.get_testdata_file("CT_small.dcm"), good / "cases/a01/sagittal.dcm")
    hits = [p for p in validate_dataset(good) if (p.file, p.field) == (CASE, "sweeps.sagittal.dcm")]
    assert hits and "not an ultrasound DICOM" in hits[0].message


REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "ncls-examples"
# The standard views NCLS extracted (see ../shared/data/README.md); SAG2/SAG3 left out: their side is not given.
NCLS_VIEWS = {"COR1": View.AHV, "COR2": View.TVV, "COR3": View.BV, "SAG1": View.MSV}


@pytest.mark.real_data
@pytest.mark.skipif(not REAL.is_dir(), reason=f"real NCLS examples not found at {REAL}")
def test_real_ncls_sweeps_and_pydicom_cine_validate(tmp_path):
    pydicom_data = pytest.importorskip("pydicom.data")
    root = tmp_path / "real"
    write_dataset_json(root, DatasetRecord(name="ncls-examples", provenance=Provenance(generator="test", source="NCLS code release")))
    exams = {"20221223027": ("coronal_sweep.mp4", Plane.CORONAL, 118), "20221231069": ("parasagittal_sweep.mp4", Plane.SAGITTAL, 108)}
    for exam, (video, plane, _) in exams.items():
        folder = write_case(root, CaseRecord(case_id=f"ncls-{exam}", sweeps={video: plane}))
        (folder / video).symlink_to(REAL / exam / video)
        (folder / "views").mkdir()
        for still, view in NCLS_VIEWS.items():
            (folder / "views" / f"{view.value}.png").symlink_to(REAL / exam / f"{still}.png")
    cine = write_case(root, CaseRecord(case_id="pydicom-ybr", sweeps={"cine.dcm": Plane.CORONAL}))
    (cine / "cine.dcm").symlink_to(pydicom_data.get_testdata_file("examples_ybr_color.dcm"))
    assert validate_dataset(root) == []

    for exam, (video, _, n) in exams.items():
        (root / "cases" / f"ncls-{exam}" / "annotations").mkdir()
        (root / "cases" / f"ncls-{exam}" / "annotations" / video.replace(".mp4", ".jsonl")).write_text(
            json.dumps({"frame": n - 1}) + "\n" + json.dumps({"frame": n}) + "\n"
        )
    write_annotations(cine, "cine.dcm", [FrameAnnotation(frame=30)])  # 30-frame cine: frames 0..29
    found = validate_dataset(root)
    assert {(p.file, p.field) for p in found} == {
        ("cases/ncls-20221223027/annotations/coronal_sweep.jsonl", "line 2: frame"),
        ("cases/ncls-20221231069/annotations/parasagittal_sweep.jsonl", "line 2: frame"),
        ("cases/pydicom-ybr/annotations/cine.jsonl", "line 1: frame"),
    }
    assert any("118 frames" in p.message for p in found)


def test_simulated_dataset_validates_clean(tmp_path):
    export = pytest.importorskip("neocus.phantom.export", reason="phantom not available")
    from neocus.data import Dataset

    out = export.simulate_dataset(tmp_path / "sim", export.SimulationConfig(cases=2, seed=5, frame_size_wh=(96, 80), sweep_frames=6))
    assert validate_dataset(out) == []
    ds = Dataset.load(out)
    assert len(ds) == 2 and ds.splits is not None
    assert all(entry.annotations(name) for entry in ds for name in entry.record.sweeps)


def test_interrupted_command_exits_130(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("neocus.cli.validate_cmd.validate_dataset", interrupted)
    assert main(["validate", str(tmp_path)]) == 130
