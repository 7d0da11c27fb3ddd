"""``neocus simulate`` end to end: writes a dataset that ``neocus validate`` accepts; user mistakes give
one line and a non-zero exit, and leave nothing behind."""

import json

import pytest

from neocus.cli import main
from neocus.data import Dataset


def test_simulate_then_validate(tmp_path, capsys):
    out = tmp_path / "ds"
    rc = main(["simulate", "--out", str(out), "--cases", "2", "--seed", "5", "--frame-size", "80x64", "--sweep-frames", "6", "--preset", "external"])
    assert rc == 0, capsys.readouterr()
    assert main(["validate", str(out)]) == 0
    ds = Dataset.load(out)
    assert ds.record.provenance.preset == "external" and len(ds) == 2
    meta = ds.cases[0].record.metadata
    assert meta.center == "PHANTOM-B" and meta.scanner.startswith("Phantom scanner B")


def test_blind_sweeps_as_dicom_validate(tmp_path):
    out = tmp_path / "blind"
    args = ["--cases", "1", "--seed", "4", "--frame-size", "64x64", "--sweep-frames", "8", "--preset", "blind", "--sweep-format", "dicom"]
    assert main(["simulate", "--out", str(out), *args]) == 0
    assert main(["validate", str(out)]) == 0
    entry = Dataset.load(out).cases[0]
    assert sorted(entry.record.sweeps) == ["coronal.dcm", "sagittal.dcm"]
    truth = json.loads((entry.folder / "truth.json").read_text())
    assert {s["style"] for s in truth["sweeps"].values()} == {"blind"}


def test_stills_only_blind_may_miss_views(tmp_path):
    out = tmp_path / "blind"
    assert main(["simulate", "--out", str(out), "--cases", "3", "--preset", "blind", "--frame-size", "64x64", "--stills-only", "--seed", "2"]) == 0
    assert main(["validate", str(out)]) == 0
    for entry in Dataset.load(out):
        assert entry.record.sweeps == {}
        truth = json.loads((entry.folder / "truth.json").read_text())
        # every still written is at least the blind minimum quality; labels only for those written
        assert set(truth["views"]) == {v.value for v in entry.view_images()} == {v.value for v in entry.record.labels.findings}


def test_screen_capture_sweeps_validate_and_boxes_map_onto_the_screen(tmp_path):
    out = tmp_path / "screen"
    assert main(["simulate", "--out", str(out), "--cases", "1", "--frame-size", "128x96", "--sweep-frames", "4", "--screen", "--sweep-format", "mp4"]) == 0
    assert main(["validate", str(out)]) == 0
    entry = Dataset.load(out).cases[0]
    truth = json.loads((entry.folder / "truth.json").read_text())
    crop = truth["sweeps"]["coronal.mp4"]["screen_crop"]
    assert crop is not None and crop["w"] > 128  # the frame was scaled up onto the screen
    for ann in entry.annotations("coronal.mp4"):
        for b in ann.boxes:
            assert crop["x"] - 1 <= b.cx <= crop["x"] + crop["w"] + 1 and crop["y"] - 1 <= b.cy <= crop["y"] + crop["h"] + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frame-size", "big"], "WIDTHxHEIGHT"),
        (["--preset", "hospital-x"], "unknown scanner preset"),
        (["--cases", "0"], "--cases"),
        (["--severe-fraction", "2"], "--severe-fraction"),
        (["--stills-only", "--screen"], "--screen"),
    ],
)
def test_user_mistakes_are_one_line_errors(tmp_path, capsys, args, message):
    out = tmp_path / "ds"
    rc = main(["simulate", "--out", str(out), *args])
    err = capsys.readouterr().err
    assert rc != 0 and message in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_existing_output_is_refused(tmp_path, capsys):
    (tmp_path / "x.txt").write_text("keep")
    rc = main(["simulate", "--out", str(tmp_path), "--cases", "1"])
    assert rc != 0 and "not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]
