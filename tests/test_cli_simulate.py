"""``neocus simulate`` end to end: writes a dataset that ``neocus validate`` accepts; user mistakes give
one line and a non-zero exit, and leave nothing behind."""

import json

import pytest

from neocus.cli import main
from neocus.data import Dataset


def test_simulate_then_validate(tmp_path, capsys):
    out = tmp_path / "ds"
    rc = main(["simulate", "--out", str(out), "--cases", "2", "--seed", "5", "--frame-size", "80x64", "--sweep-frames", "6", "--preset", "external", "--workers", "1"])
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
    assert main(["simulate", "--out", str(out), "--cases", "3", "--preset", "blind", "--frame-size", "64x64", "--stills-only", "--seed", "2", "--workers", "1"]) == 0
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


def test_force_replaces_an_earlier_dataset_only(tmp_path, capsys):
    out = tmp_path / "ds"
    args = ["simulate", "--out", str(out), "--cases", "1", "--frame-size", "64x64", "--stills-only", "--workers", "1"]
    assert main([*args, "--seed", "1"]) == 0
    assert main([*args, "--seed", "2"]) != 0 and "--force" in capsys.readouterr().err
    assert main([*args, "--seed", "2", "--force"]) == 0
    assert Dataset.load(out).record.provenance.seed == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # nothing left beside it
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    capsys.readouterr()
    assert main(["simulate", "--out", str(other), "--cases", "1", "--force"]) != 0
    assert "not a neocus dataset" in capsys.readouterr().err and (other / "notes.txt").read_text() == "keep"
    assert main(["simulate", "--contact-sheets", "--out", str(other)]) != 0  # sheets too: --force or a new folder
    assert "--force" in capsys.readouterr().err and [p.name for p in other.iterdir()] == ["notes.txt"]


def test_progress_says_size_workers_and_expected_time(tmp_path, capsys, monkeypatch):
    from neocus.cli import simulate_cmd
    from neocus.phantom.export import SimulationConfig

    monkeypatch.setattr(simulate_cmd, "available_cores", lambda: 3)
    capsys.readouterr()
    assert main(["simulate", "--out", str(tmp_path / "a"), "--cases", "1", "--stills-only", "--frame-size", "64x48"]) == 0
    out = capsys.readouterr().out
    assert "1 case at 64x48, stills only, on 1 worker: expected about" in out  # one case needs one worker
    config = SimulationConfig(cases=6, workers=3)  # default preset: 640x480, sweeps
    assert "at 640x480" in simulate_cmd._plan(config) and "on 3 workers" in simulate_cmd._plan(config)
    # three workers take a third of the time of one, full size far longer than 256x256
    one = simulate_cmd.expected_seconds(SimulationConfig(cases=6, workers=1))
    assert simulate_cmd.expected_seconds(config) == pytest.approx(one / 3 + simulate_cmd.WORKER_START_CPU_S)
    small = SimulationConfig(cases=6, workers=1, frame_size_wh=(256, 256))
    assert simulate_cmd.expected_seconds(small) < one / 3


def test_default_workers_are_the_available_cores(monkeypatch, tmp_path):
    from neocus.cli import simulate_cmd
    from neocus.errors import NeocusError

    seen = {}

    def fake(out, config, **kwargs):
        seen["workers"] = config.workers
        raise NeocusError("stop here")

    monkeypatch.setattr("neocus.phantom.export.simulate_dataset", fake)
    monkeypatch.setattr(simulate_cmd, "available_cores", lambda: 5)
    assert main(["simulate", "--out", str(tmp_path / "ds"), "--cases", "2"]) != 0
    assert seen["workers"] == 5
