"""Reading and writing datasets: round trips, byte-stable output, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from neocus.data import (
    BoxAnnotation,
    CaseEntry,
    CaseLabels,
    CaseMetadata,
    CaseRecord,
    Dataset,
    DatasetRecord,
    FrameAnnotation,
    Provenance,
    Sex,
    Splits,
    ViewFrame,
    append_annotation,
    read_annotations,
    read_case,
    view_image_path,
    write_annotations,
    write_case,
    write_dataset_json,
    write_splits,
)
from neocus.errors import DatasetError
from neocus.vocab import Finding, IvhGrade, Plane, Structure, View


def _case(case_id: str, grade: IvhGrade = IvhGrade.NONE) -> CaseRecord:
    findings = {View.AHV: [Finding.NORMAL], View.TVV: [Finding.IVH] if grade else [Finding.NORMAL]}
    return CaseRecord(
        case_id=case_id,
        sweeps={"sagittal.dcm": Plane.SAGITTAL, "coronal.mp4": Plane.CORONAL},
        metadata=CaseMetadata(ga_weeks=31.5, birth_weight_g=1450, sex=Sex.FEMALE, age_days=3, probe="9L"),
        labels=CaseLabels.derive(grade, findings, {View.TVV: ViewFrame(sweep="coronal.mp4", frame=4)}),
    )


def _write(root: Path, n: int = 3) -> Path:
    write_dataset_json(root, DatasetRecord(name="demo", provenance=Provenance(generator="test", version="1", seed=7)))
    for i in range(n):
        folder = write_case(root, _case(f"case{i:03d}", IvhGrade(i % 5)))
        write_annotations(
            folder,
            "coronal.mp4",
            [
                FrameAnnotation(frame=9, boxes=[BoxAnnotation(label=Structure.THALAMUS, cx=5, cy=6, w=8, h=3, angle=-10)]),
                FrameAnnotation(frame=4, view=View.TVV, view_quality=0.9),
            ],
        )
    return root


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_round_trip(tmp_path):
    root = _write(tmp_path / "ds")
    ds = Dataset.load(root)
    assert ds.name == "demo" and len(ds) == 3 and ds.case_ids == ["case000", "case001", "case002"]
    entry = ds.case("case001")
    assert entry.record == _case("case001", IvhGrade.I)
    assert entry.sweep_paths(plane=Plane.CORONAL) == {"coronal.mp4": entry.folder / "coronal.mp4"}
    assert [a.frame for a in entry.annotations("coronal.mp4")] == [4, 9]  # sorted on write
    assert entry.annotations("sagittal.dcm") == []
    assert entry.view_image_path(View.MSV) == entry.folder / "views" / f"{View.MSV.value}.png"
    assert entry.view_images() == {}
    view_image_path(entry.folder, View.AHV).parent.mkdir()
    view_image_path(entry.folder, View.AHV).write_bytes(b"\x89PNG")
    assert list(entry.view_images()) == [View.AHV]
    assert read_case(entry.folder) == entry.record
    with pytest.raises(DatasetError, match="no sweep 'axial.mp4'"):
        entry.sweep_path("axial.mp4")
    frames = np.arange(5 * 16 * 16, dtype=np.uint8).reshape(5, 16, 16)
    (entry.folder / "stills").mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(entry.folder / "stills" / f"f{i}.png"), frame)
    rec = entry.record.model_copy(update={"sweeps": {**entry.record.sweeps, "stills": Plane.CORONAL}})
    sweep = CaseEntry(rec, entry.folder).load_sweep("stills")
    assert sweep.n_frames == 5 and np.array_equal(sweep.frames, frames)


def test_same_input_writes_same_bytes(tmp_path):
    a = _tree_bytes(_write(tmp_path / "a"))
    b = _tree_bytes(_write(tmp_path / "b"))
    assert a == b
    assert not any(".tmp" in name for name in a)  # atomic writes leave no temp files
    text = a["cases/case000/case.json"].decode()
    assert text.endswith("}\n") and json.loads(text)["case_id"] == "case000"
    # dict order of the input does not change the bytes
    rec = _case("x")
    flipped = CaseRecord.model_validate(
        {**rec.model_dump(mode="json"), "sweeps": dict(reversed(list(rec.model_dump(mode="json")["sweeps"].items())))}
    )
    write_case(tmp_path / "c", rec)
    write_case(tmp_path / "d", flipped)
    assert (tmp_path / "c/cases/x/case.json").read_bytes() == (tmp_path / "d/cases/x/case.json").read_bytes()


def test_append_annotation_keeps_order_and_rejects_duplicates(tmp_path):
    folder = write_case(tmp_path, _case("c1"))
    append_annotation(folder, "coronal.mp4", FrameAnnotation(frame=7))
    append_annotation(folder, "coronal.mp4", FrameAnnotation(frame=2))
    path = folder / "annotations" / "coronal.jsonl"
    assert [a.frame for a in read_annotations(path)] == [2, 7]
    assert path.read_text().count("\n") == 2
    with pytest.raises(DatasetError, match="annotated twice"):
        append_annotation(folder, "coronal.mp4", FrameAnnotation(frame=7))


def test_splits_are_stored_in_dataset_json(tmp_path):
    root = _write(tmp_path / "ds")
    write_splits(root, Splits(seed=1, train=["case000", "case001"], test=["case002"], folds={1: ["case001"], 0: ["case000"]}))
    ds = Dataset.load(root)
    assert list(ds.splits.folds) == [0, 1]
    assert ds.splits.fold_train(0) == ["case001"]
    train, val = ds.fold(1)
    assert [c.case_id for c in train] == ["case000"] and [c.case_id for c in val] == ["case001"]
    assert [c.case_id for c in ds.test_cases()] == ["case002"]
    with pytest.raises(DatasetError, match="no fold 2"):
        ds.fold(2)
    raw = json.loads((root / "dataset.json").read_text())
    assert raw["splits"]["folds"] == {"0": ["case000"], "1": ["case001"]}


def test_load_errors_name_file_and_field(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        Dataset.load(tmp_path / "missing")
    root = _write(tmp_path / "ds")
    case_json = root / "cases/case001/case.json"
    data = json.loads(case_json.read_text())
    data["labels"]["ivh_grade"] = 9
    case_json.write_text(json.dumps(data))
    with pytest.raises(DatasetError) as err:
        Dataset.load(root)
    assert "case001/case.json" in str(err.value) and "labels.ivh_grade" in str(err.value)
    data["labels"]["ivh_grade"] = 1
    data["labels"]["findings"]["AHV"] = ["bogus"]
    case_json.write_text(json.dumps(data))
    with pytest.raises(DatasetError) as err:
        Dataset.load(root)
    assert "field labels.findings.AHV[0]:" in str(err.value)  # the same JSON path `neocus validate` prints
    data["labels"]["findings"]["AHV"] = ["normal"]
    data["labels"]["ivh_grade"] = 1
    data["case_id"] = "other"
    case_json.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="differs from its folder name"):
        Dataset.load(root)
    (root / "dataset.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        Dataset.load(root)


def test_write_case_refuses_labels_that_break_the_rules(tmp_path):
    from neocus.data.schema import SKIP_RULES

    data = _case("c1").model_dump(mode="json")
    data["labels"]["severe"] = 1  # grade 0, all normal: not severe
    record = CaseRecord.model_validate(data, context={SKIP_RULES: True})
    with pytest.raises(DatasetError, match="labels.severe"):
        write_case(tmp_path, record)
    assert not (tmp_path / "cases").exists()


def test_listed_cases_limit_the_dataset(tmp_path):
    root = _write(tmp_path / "ds")
    write_dataset_json(root, DatasetRecord(name="demo", provenance=Provenance(generator="test"), cases=["case002", "case000"]))
    assert Dataset.load(root).case_ids == ["case000", "case002"]


def test_case_listed_twice_is_refused(tmp_path):
    root = _write(tmp_path / "ds")
    write_dataset_json(root, DatasetRecord(name="demo", provenance=Provenance(generator="test"), cases=["case001", "case000", "case001"]))
    with pytest.raises(DatasetError, match="listed twice: case001$"):
        Dataset.load(root)
