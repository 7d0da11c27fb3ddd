"""neocus.screen: the flow of one case (views -> diagnosis -> heatmaps -> files), result.json, the
report, bad input, batches with resume, and the whole-pipeline evaluation. Models are tiny and
untrained (or the phantom's own boxes stand in for the detector): these tests judge the flow, the
schema, the files and the errors, never model quality."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from neocus.cli import main
from neocus.data.dataset import Dataset
from neocus.errors import InputFileError, NeocusError
from neocus.screen import SCHEMA_VERSION, load_models, screen, write_case
from neocus.screen.batch import BATCH_FILE, batch_tasks, screen_batch
from neocus.screen.evaluate import evaluate_pipeline
from neocus.vocab import Decision, View
from screen_testdata import TruthDetector, simulate, truth_models, write_models

torch.set_num_threads(1)

STAGES = ("decode", "roi", "detect", "views", "diagnose", "heatmaps")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return simulate(tmp_path_factory.mktemp("ds") / "ds", cases=2, sweep_frames=36)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return write_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def cases(data):
    return Dataset.load(data).cases


@pytest.fixture(scope="module")
def screened(cases, models_dir, tmp_path_factory):
    """The first phantom case screened with its ground-truth boxes and written out."""
    case = cases[0]
    result = screen([case.folder], models=truth_models(models_dir, [case.folder]), case_id=case.case_id)
    out = tmp_path_factory.mktemp("out") / "case"
    return write_case(result, out), out


def cli(*args: str) -> int:
    return main([str(a) for a in args])


def test_one_case_flows_through_every_stage(screened):
    result, _ = screened
    assert result.usable_views >= 4, result.views
    assert result.decision in (Decision.SEVERE, Decision.NON_SEVERE)
    assert 0.0 <= result.severe_prob <= 1.0 and result.papile_grade in range(5)
    assert result.rule_trace["decision"] == result.decision.value and result.rule_trace["n_views"] == result.usable_views
    assert set(STAGES) | {"write"} <= set(result.timings_s) and all(t >= 0 for t in result.timings_s.values())
    for name, v in result.views.items():
        if v.status == "usable":
            assert v.input in ("input_1", "input_2") and v.frame is not None and v.findings and v.heatmap == f"heatmaps/{name}.png"
        else:
            assert v.reason and v.findings is None and v.heatmap is None
    # coronal views come from the coronal sweep (input_1, sorted names), sagittal ones from input_2
    assert {v.input for n, v in result.views.items() if n in ("AHV", "TVV", "BV") and v.input} == {"input_1"}
    assert [i.planes for i in result.inputs] == [("coronal",), ("sagittal",)]


def test_result_json_schema_and_files(screened, cases):
    _, out = screened
    doc = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert doc["schema_version"] == SCHEMA_VERSION
    for key in ("decision", "reason", "severe_prob", "papile_grade", "tier", "binary", "views", "rule_trace", "warnings",
                "errors", "inputs", "sweep_plots", "timings_s", "models", "caveat"):
        assert key in doc
    assert list(doc["views"]) == [v.value for v in View]
    for v in doc["views"].values():
        for path in (v["image"], v["heatmap"]):
            assert path is None or (out / path).is_file()
        assert v["image"] is not None or v["reason"]
    assert all((out / p).is_file() for p in doc["sweep_plots"].values())
    assert {m["kind"] for m in doc["models"]} == {"detector", "diagnosis"} and all(len(m["sha256"]) == 64 for m in doc["models"])
    sha = [i["sha256"] for i in doc["inputs"]]
    assert all(s and len(s) == 64 for s in sha)
    # no file or folder names of the inputs (they may carry a patient's name)
    text = (out / "result.json").read_text(encoding="utf-8") + (out / "report.html").read_text(encoding="utf-8")
    for name in ("coronal.mp4", "sagittal.dcm", str(cases[0].folder)):
        assert name not in text


def test_report_is_self_contained_and_leads_with_the_decision(screened):
    result, out = screened
    html = (out / "report.html").read_text(encoding="utf-8")
    srcs = re.findall(r'src="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in html and "http" not in html.split("</style>")[0]
    head = html.split('class="grid"')[0]  # before the six views
    assert result.decision.value.replace("_", "-").upper() in head and f"P(severe) {result.severe_prob:.2f}" in head
    assert "Not a clinical device" in head and "phantom" in head
    assert html.count('class="card"') == 6


def test_outputs_follow_the_umask(cases, models_dir, tmp_path):
    old = os.umask(0o027)
    try:
        write_case(screen([cases[1].folder / "views" / "TVV.png"], models=truth_models(models_dir)), tmp_path / "o")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "o").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "o" / "result.json").stat().st_mode) == 0o640


def test_view_stills_skip_detection(cases, models_dir):
    stills = sorted((cases[1].folder / "views").glob("*.png"))
    models = truth_models(models_dir)
    result = screen(stills, models=models)
    assert models.detector.calls == 0 and result.exam is None
    assert result.usable_views == len(stills) and all(result.views[p.stem].basis == "file name" for p in stills)
    assert result.decided == (len(stills) >= 4) and result.rule_trace is not None


def test_stills_beside_sweeps_are_ignored(cases, models_dir):
    case = cases[0]
    result = screen([case.folder / "coronal.mp4", case.folder / "views" / "MSV.png"], models=truth_models(models_dir, [case.folder]))
    assert [i.used_as for i in result.inputs] == ["sweep", "still"]
    assert any("still(s) ignored" in w for w in result.warnings)


# ---- bad input -------------------------------------------------------------------------------------

def test_only_one_plane_is_unsuitable_and_says_why(cases, models_dir):
    case = cases[0]
    result = screen([case.folder / "coronal.mp4"], models=truth_models(models_dir, [case.folder]))
    assert result.decision is Decision.UNSUITABLE and "at least 4" in result.reason
    assert any("only coronal" in w for w in result.warnings)
    assert all(result.views[v].status == "missing" for v in ("MSV", "RPSV", "LPSV"))
    assert all(v.reason for v in result.views.values())  # a usable coronal view says why it was not diagnosed


def test_sweep_without_brain(models_dir, tmp_path):
    from neocus.io import write_video
    from neocus.views import NO_BRAIN

    path = write_video(tmp_path / "blank.mp4", np.full((20, 96, 96), 8, np.uint8), fps=20)
    result = screen([path], models=truth_models(models_dir))
    assert result.decision is Decision.UNSUITABLE and result.reason == NO_BRAIN


def test_unreadable_and_foreign_dicom_inputs_are_reported(models_dir, tmp_path):
    from pydicom.data import get_testdata_file

    mr = get_testdata_file("MR_small.dcm")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video at all" * 20)
    result = screen([junk, mr], models=truth_models(models_dir))
    assert result.decision is Decision.UNSUITABLE and result.reason.startswith("no readable sweep")
    assert [i.used_as for i in result.inputs] == ["unreadable", "unreadable"]
    assert "modality" in result.errors[1].lower() and result.errors[0].startswith("input_1: ")
    assert "junk" not in json.dumps(result.to_dict())


def test_cli_single_case_exit_codes_and_messages(models_dir, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("screen", empty, "--out", tmp_path / "o1", "--models", models_dir) == 6
    doc = json.loads((tmp_path / "o1" / "result.json").read_text(encoding="utf-8"))
    assert doc["decision"] == "unsuitable" and "empty" in doc["reason"]
    assert "unsuitable" in capsys.readouterr().out
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    assert cli("screen", empty, "--out", foreign, "--models", models_dir, "--force") == 2
    err = capsys.readouterr().err
    assert "not an earlier neocus screen output" in err and "Traceback" not in err
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert cli("screen", tmp_path / "nope.mp4", "--out", tmp_path / "o2", "--models", models_dir) == 3


def test_missing_models_give_one_line(tmp_path, capsys, monkeypatch):
    import neocus.screen.models as screen_models

    monkeypatch.setattr(screen_models, "BUNDLED_MODELS", tmp_path / "none")
    with pytest.raises(InputFileError, match="no detector model found") as exc:
        load_models()
    assert "neocus train detector" in exc.value.hint
    (tmp_path / "m" / "detector").mkdir(parents=True)
    assert cli("screen", tmp_path, "--out", tmp_path / "o", "--models", tmp_path / "m") == 3
    err = capsys.readouterr().err.strip()
    assert "no detector model found" in err and len(err.splitlines()) == 1
    assert cli("demo", "--out", tmp_path / "d", "--models", tmp_path / "m") == 3
    assert not (tmp_path / "o").exists() and not (tmp_path / "d").exists()


def test_device_option(models_dir, tmp_path, capsys):
    """--device cpu loads the models there; an unknown device, or CUDA where torch sees none, is one line."""
    import torch

    models = load_models(models_dir, device="cpu")
    assert next(models.bundle.models[0].parameters()).device.type == "cpu"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("screen", empty, "--out", tmp_path / "o", "--models", models_dir, "--device", "tpu") == 2
    err = capsys.readouterr().err.strip()
    assert "unknown device" in err and len(err.splitlines()) == 1
    if not torch.cuda.is_available():
        assert cli("screen", empty, "--out", tmp_path / "o", "--models", models_dir, "--device", "cuda") == 2
        assert "CUDA is not available" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_missing_path_is_an_error(models_dir, tmp_path):
    with pytest.raises(NeocusError, match="no such file"):
        screen([tmp_path / "nothing"], models=truth_models(models_dir))


# ---- batches ----------------------------------------------------------------------------------------

def test_batch_reports_a_failed_case_and_goes_on(cases, models_dir, tmp_path, capsys):
    root = tmp_path / "exams"
    shutil.copytree(cases[1].folder / "views", root / "b_stills")
    (root / "a_broken").mkdir(parents=True)
    (root / "a_broken" / "case.json").write_text("{not json", encoding="utf-8")
    (root / "c_empty").mkdir()
    tasks = batch_tasks(root)
    assert [t.case_id for t in tasks] == ["case-0001", "case-0002", "case-0003"]
    assert cli("screen", root, "--out", tmp_path / "out", "--models", models_dir, "--heatmap", "none") == 1
    rows = (tmp_path / "out" / "summary.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("case_id,status,decision")
    status = {r.split(",")[0]: r.split(",")[1] for r in rows[1:]}
    assert status == {"case-0001": "failed", "case-0002": "done", "case-0003": "done"}
    assert "case.json" in rows[1]  # the reason names what is wrong
    assert not (tmp_path / "out" / "cases" / "case-0001").exists()
    assert (tmp_path / "out" / "cases" / "case-0002" / "report.html").is_file()
    html = (tmp_path / "out" / "summary.html").read_text(encoding="utf-8")
    assert 'href="cases/case-0002/report.html"' in html and 'href="cases/case-0001/' not in html and "b_stills" not in html
    assert "1 failed" in html and "None" not in html
    assert "case-0001 failed" in capsys.readouterr().err


def test_batch_resumes_without_redoing_finished_cases(data, cases, models_dir, tmp_path):
    out = tmp_path / "batch"
    tasks = batch_tasks(data)
    screen_batch(tasks, out, models=truth_models(models_dir, [c.folder for c in cases]), heatmap="none")
    first = out / "cases" / cases[0].case_id / "result.json"
    stamp = first.stat().st_mtime_ns
    # a killed run: the second case was being written (its temporary folder is left), not finished
    shutil.rmtree(out / "cases" / cases[1].case_id)
    half = out / "cases" / f".{cases[1].case_id}.x1y2.tmp"
    half.mkdir()
    (half / "result.json").write_text("{half", encoding="utf-8")
    models = truth_models(models_dir, [cases[1].folder])
    again = screen_batch(tasks, out, models=models, heatmap="none")
    assert [r["status"] for r in again.rows] == ["resumed", "done"]
    assert first.stat().st_mtime_ns == stamp and models.detector.calls == 2  # only the second case's two sweeps
    assert not half.exists() and (out / "cases" / cases[1].case_id / "result.json").is_file()
    assert (out / BATCH_FILE).is_file()
    assert f'href="cases/{cases[0].case_id}/report.html"' in (out / "summary.html").read_text(encoding="utf-8")


def test_evaluate_pipeline_metrics(data, cases, models_dir, tmp_path):
    out = tmp_path / "eval"
    m = evaluate_pipeline(data, out, models=truth_models(models_dir, [c.folder for c in cases]), heatmap="none")
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for key in ("auc", "sensitivity", "specificity", "view_hit_rate", "unsuitable_rate", "seconds_per_case"):
        assert key in doc
    assert doc["n_cases"] == 2 and doc["n_failed"] == 0
    assert 0.5 <= doc["view_hit_rate"] <= 1.0  # ground-truth boxes: most chosen frames lie in the view windows
    assert doc["seconds_per_case"] > 0 and set(doc["timing"]["seconds_per_stage_mean"]) >= {"decode", "detect", "views"}
    assert doc["unsuitable_rate"] == m["unsuitable_rate"] and 0.0 <= doc["unsuitable_rate"] <= 1.0
    labels = sorted(int(c.record.labels.severe) for c in cases)
    if labels == [0, 1] and doc["n_decided"] == 2:
        assert doc["auc"] is not None and (out / "report" / "report.json").is_file()
    assert (out / "predictions.csv").read_text(encoding="utf-8").startswith("case_id,label,severe_prob")


def test_truth_detector_sanity(cases):
    """The stand-in detector gives boxes for the case's own sweeps only (a check of the test tool)."""
    det = TruthDetector([cases[0].folder])
    sweep = cases[0].load_sweep("coronal.mp4")
    assert any(f.detections for f in det.detect_frames(sweep.frames))
    assert not any(f.detections for f in det.detect_frames(np.zeros((3, 8, 8), np.uint8)))


def test_a_folder_of_view_stills_is_not_read_as_frames(cases, models_dir, tmp_path):
    from neocus.screen.inputs import is_frame_folder, resolve_inputs

    views = cases[1].folder / "views"
    assert not is_frame_folder(views)
    assert all(i.is_still for i in resolve_inputs([views]))
    frames = tmp_path / "frames"
    frames.mkdir()
    for k in range(3):
        cv2.imwrite(str(frames / f"f{k:03d}.png"), np.full((16, 16), 40 * k, np.uint8))
    assert is_frame_folder(frames) and [i.kind.value for i in resolve_inputs([frames])] == ["image_folder"]


REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real" / "ncls-examples"


@pytest.mark.real_data
@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real/ncls-examples is absent")
def test_a_real_ncls_exam_folder(models_dir):
    """The exam folder holds a coronal sweep, NCLS's six stills and a text file: the sweep is screened,
    the stills are reported as ignored, the text is skipped; the result is complete whatever it says."""
    result = screen([REAL / "20221223027"], models=truth_models(models_dir))
    assert [i.used_as for i in result.inputs] == ["still"] * 6 + ["sweep"]
    assert result.inputs[-1].n_frames == 118 and result.inputs[-1].roi_xywh is not None
    assert any("ignored" in w for w in result.warnings) and len(result.views) == 6


def test_every_result_field_is_documented(screened):
    """docs/screen.md describes result.json field by field: a field added to the result must be added there."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "screen.md").read_text(encoding="utf-8")
    table = doc[doc.index("## `result.json`"):doc.index("## Batches")]
    result, _ = screened
    for key in result.to_dict():
        assert f"`{key}`" in table or f"`{key}[]`" in table, key
    for key in next(iter(result.views.values())).to_dict():
        assert re.search(rf"`views\.<VIEW>\.{key}`|`{key}`", table), f"views.<VIEW>.{key}"
    for key in result.inputs[0].to_dict():
        assert f"`{key}`" in table, f"inputs[].{key}"


def test_a_still_not_named_by_view_is_classified_from_its_detections(cases, models_dir, tmp_path):
    still = tmp_path / "scan_0001.png"
    shutil.copy(cases[1].folder / "views" / "TVV.png", still)
    models = truth_models(models_dir)
    result = screen([still], models=models)
    assert models.detector.calls == 1  # detection ran for the unnamed still (the stand-in finds nothing)
    assert result.decision is Decision.UNSUITABLE and any("no standard view recognised" in w for w in result.warnings)
    assert "scan_0001" not in json.dumps(result.to_dict())
