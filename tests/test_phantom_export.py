"""``simulate_dataset``: the dataset validates, labels follow the vocabulary, files are what they claim,
same seed gives the same bytes whatever the worker count, and a failure leaves nothing behind."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from neocus.data import Dataset, read_annotations
from neocus.data.validate import validate_dataset
from neocus.errors import NeocusError
from neocus.geometry import rbox_to_corners
from neocus.io import load_sweep
from neocus.phantom import export
from neocus.phantom.export import SimulationConfig, severity_targets, simulate_dataset
from neocus.phantom.subject import SEVERE_CASE_TYPES
from neocus.vocab import (
    VIEW_PLANE,
    Finding,
    IvhGrade,
    LesionKind,
    binary,
    case_findings,
    is_severe,
    lesion_ivh_grade,
    three_tier,
)

SMALL = dict(cases=2, seed=11, frame_size_wh=(96, 80), sweep_frames=8)


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "ds"
    simulate_dataset(out, SimulationConfig(**SMALL, severe_fraction=0.5))
    return out


def test_validate_accepts_what_simulate_writes(dataset_dir):
    assert validate_dataset(dataset_dir) == []
    ds = Dataset.load(dataset_dir)
    assert len(ds) == 2
    prov = ds.record.provenance
    assert prov.generator == "neocus.phantom" and prov.seed == 11 and prov.preset == "internal"
    assert ds.splits is not None and sorted(c for f in ds.splits.folds.values() for c in f) == sorted(ds.case_ids)


def test_sweeps_stills_and_masks_on_disk(dataset_dir):
    ds = Dataset.load(dataset_dir)
    for entry in ds:
        assert set(entry.view_images()) == set(VIEW_PLANE)  # all six stills (freehand preset)
        assert sorted(entry.record.sweeps) == ["coronal.mp4", "sagittal.dcm"]
        for name, plane in entry.record.sweeps.items():
            sweep = load_sweep(entry.sweep_path(name))
            anns = entry.annotations(name)
            assert [a.frame for a in anns] == list(range(sweep.n_frames))
            assert (sweep.height, sweep.width) == (80, 96)
            for a in anns:
                if a.view is not None:
                    assert VIEW_PLANE[a.view] is plane and a.view_quality is not None
            with np.load(entry.folder / "masks" / f"{name.rsplit('.', 1)[0]}.npz") as z:
                assert z["lesion"].shape == (sweep.n_frames, 80, 96) and z["ventricles"].dtype == bool
        truth = json.loads((entry.folder / "truth.json").read_text())
        assert truth["not_patient_data"] is True


def test_dicom_carries_only_fake_marked_tags(dataset_dir):
    case = Dataset.load(dataset_dir).cases[0]
    ds = pydicom.dcmread(case.sweep_path("sagittal.dcm"))
    assert str(ds.PatientName).startswith("FAKE^") and ds.PatientID.startswith("FAKE-")
    assert ds.PatientIdentityRemoved == "YES" and "NOT PATIENT DATA" in ds.ImageComments
    assert ds.Modality == "US" and int(ds.NumberOfFrames) == len(case.annotations("sagittal.dcm"))
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_labels_follow_the_vocabulary_rules(dataset_dir):
    for entry in Dataset.load(dataset_dir):
        labels = entry.record.labels
        truth = json.loads((entry.folder / "truth.json").read_text())
        kinds = [LesionKind(les["kind"]) for les in truth["subject"]["lesions"]]
        assert labels.ivh_grade == lesion_ivh_grade(kinds) == IvhGrade(truth["subject"]["ivh_grade"])
        union = case_findings(labels.findings.values())
        assert labels.severe == int(is_severe(labels.ivh_grade, union))
        assert labels.tier == three_tier(labels.ivh_grade, union)
        assert labels.binary == binary(labels.ivh_grade, union)
        for view, found in labels.findings.items():
            assert found == [Finding(f) for f in truth["views"][view.value]["findings"]]


def test_view_frames_are_the_best_frames_inside_their_windows(dataset_dir):
    for entry in Dataset.load(dataset_dir):
        truth = json.loads((entry.folder / "truth.json").read_text())
        for view, where in entry.record.labels.view_frames.items():
            sweep = truth["sweeps"][where.sweep]
            win = sweep["view_windows"][view.value]
            quality = sweep["quality"][view.value]
            assert win["start"] <= where.frame == win["best_frame"] <= win["end"]
            assert quality[where.frame] == max(quality)
            assert all(q >= truth["thresholds"]["view_quality"] for q in quality[win["start"] : win["end"] + 1])


def test_boxes_lie_inside_their_frames(dataset_dir):
    for entry in Dataset.load(dataset_dir):
        for name in entry.record.sweeps:
            for ann in read_annotations(entry.annotation_path(name)):
                for b in [*ann.boxes, *ann.lesions]:
                    c = rbox_to_corners(b.as_tuple())
                    assert c[:, 0].min() >= -0.51 and c[:, 0].max() <= 96 - 0.49  # pixel footprints of the frame
                    assert c[:, 1].min() >= -0.51 and c[:, 1].max() <= 80 - 0.49


def test_severe_fraction_targets_exact_counts():
    t = severity_targets(10, 0.3, seed=4)
    assert sum(t) == 3 and t == severity_targets(10, 0.3, seed=4) and t != severity_targets(10, 0.3, seed=5)
    assert severity_targets(3, None, seed=0) == [None, None, None]


def test_severe_targets_draw_severe_patterns(dataset_dir):
    targets = severity_targets(2, 0.5, seed=SMALL["seed"])
    for i, entry in enumerate(Dataset.load(dataset_dir)):
        case_type = json.loads((entry.folder / "truth.json").read_text())["subject"]["case_type"]
        assert (case_type in {c.value for c in SEVERE_CASE_TYPES}) == targets[i]


def _simulate_in_fresh_process(out: Path, workers: int) -> None:
    """Run the exporter in a new interpreter (both runs load the code as it is now, like two CLI runs)."""
    code = (
        "import sys; from neocus.phantom.export import SimulationConfig, simulate_dataset\n"
        "if __name__ == '__main__':\n"
        f"    simulate_dataset(sys.argv[1], SimulationConfig(**{SMALL!r}, severe_fraction=0.5, workers={workers}))\n"
    )
    script = out.parent / f"run_{out.name}.py"
    script.write_text(code)
    subprocess.run([sys.executable, str(script), str(out)], check=True, timeout=300)


@pytest.mark.slow
def test_same_seed_same_bytes_whatever_the_workers(dataset_dir, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    _simulate_in_fresh_process(one, 1)
    _simulate_in_fresh_process(two, 2)
    hashes = _hashes(one)
    assert hashes == _hashes(two)
    assert any(name.endswith(".mp4") for name in hashes) and any(name.endswith(".dcm") for name in hashes)
    assert hashes.keys() == _hashes(dataset_dir).keys()


def test_different_seed_differs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    cfg = dict(cases=1, frame_size_wh=(64, 64), sweeps=False)
    simulate_dataset(a, SimulationConfig(seed=1, **cfg))
    simulate_dataset(b, SimulationConfig(seed=2, **cfg))
    ha, hb = _hashes(a), _hashes(b)
    assert ha.keys() == hb.keys()
    assert ha["cases/phantom-00000/views/TVV.png"] != hb["cases/phantom-00000/views/TVV.png"]


def test_a_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    real = export.write_simulated_case
    calls = []

    def failing(root, case, **kw):
        calls.append(case.case_id)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(root, case, **kw)

    monkeypatch.setattr(export, "write_simulated_case", failing)
    out = tmp_path / "new" / "ds"
    with pytest.raises(RuntimeError):
        simulate_dataset(out, SimulationConfig(cases=2, seed=0, frame_size_wh=(64, 64), sweeps=False))
    assert list(tmp_path.iterdir()) == []  # neither the dataset, its temp folder, nor the parent made for it


def test_refuses_a_non_empty_output_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(NeocusError, match="not empty"):
        simulate_dataset(tmp_path, SimulationConfig(cases=1, frame_size_wh=(64, 64), sweeps=False))
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    "bad",
    [dict(cases=0), dict(cases=1, severe_fraction=1.5), dict(cases=1, frame_size_wh=(8, 8)), dict(cases=1, sweep_format="avi"), dict(cases=1, workers=0),
     dict(cases=1, preset="hospital-x"), dict(cases=1, screen=True, sweeps=False)],
)
def test_bad_options_are_user_errors(tmp_path, bad):
    with pytest.raises(NeocusError):
        simulate_dataset(tmp_path / "x", SimulationConfig(**bad))
    assert not (tmp_path / "x").exists()
