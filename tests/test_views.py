"""neocus.views: scoring, clustering, direction, sides, segments, missing views, unsuitable, CLI.

Sweeps come from one rendered phantom case (ground-truth boxes, optionally degraded like a detector);
the small cases are built by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neocus.detect.infer import Detection, FrameDetections
from neocus.errors import NeocusError
from neocus.geometry.rotated import RotatedBox
from neocus.phantom.api import simulate_case
from neocus.phantom.sweep import SweepDirection
from neocus.views import (
    NO_BRAIN, Degradation, SweepDetections, classify_still, degrade, extract_views, load_config, sweep_views,
    truth_from_frames,
)
from neocus.views.config import parse_config
from neocus.views.evaluate import evaluate_cases
from neocus.views.fit import fit_weights
from neocus.views.oracle import NO_DEGRADATION
from neocus.views.score import geometry_checks
from neocus.views.select import Selection, view_clusters
from neocus.views.truthdata import TruthCase, TruthSweep, TruthWindow
from neocus.vocab import MIN_VIEWS_FOR_DECISION, Plane, Structure, View

SIZE_WH = (128, 96)
MILD = Degradation(drop=0.1, jitter=0.05, false_positives=0.2)


@pytest.fixture(autouse=True)
def oracle_default(monkeypatch):
    """These tests feed ground-truth boxes, so the default config is the one fitted on such boxes (the
    bundled default is fitted on the bundled detector's output)."""
    import neocus.views.config

    monkeypatch.setattr(neocus.views.config, "DEFAULT_CONFIG", neocus.views.config.ORACLE_CONFIG)


@pytest.fixture(scope="module")
def case():
    return simulate_case(3, case_id="views-test", preset="internal", out_size_hw=(SIZE_WH[1], SIZE_WH[0]))


def _dets(sweep, *, degradation=NO_DEGRADATION, seed=0):
    return degrade(truth_from_frames(sweep.truth), size_wh=SIZE_WH, degradation=degradation, rng=np.random.default_rng(seed))


def _input(name, dets, n, **kw):
    return SweepDetections(name, tuple(dets), n, 28.0, **kw)


def _reverse(dets, n):
    return tuple(FrameDetections(n - 1 - f.frame, f.detections) for f in reversed(dets))


def _near(frame, window, tol=3):
    return window.start - tol <= frame <= window.end + tol


def _box(s, cx, cy, w=10.0, h=5.0, score=0.9):
    return Detection(Structure(s), score, RotatedBox.from_any(cx, cy, w, h, 0.0))


# ---------------------------------------------------------------------------------------- scoring


def test_geometry_checks_need_the_right_arrangement():
    side = [_box("anterior_horn", 40, 50), _box("anterior_horn", 80, 50)]
    stacked = [_box("anterior_horn", 60, 30), _box("anterior_horn", 60, 70)]
    assert geometry_checks(side)[View.AHV] > 0.8
    assert geometry_checks(stacked)[View.AHV] == 0.0
    between = [_box("thalamus", 40, 60), _box("thalamus", 80, 60), _box("third_ventricle", 60, 60, 6, 3)]
    outside = [_box("thalamus", 40, 60), _box("thalamus", 80, 60), _box("third_ventricle", 100, 60, 6, 3)]
    assert geometry_checks(between)[View.TVV] > 0.8
    assert geometry_checks(outside)[View.TVV] == 0.0
    psv = [_box("lateral_ventricle", 60, 50, 40, 10), _box("caudothalamic_groove", 62, 52, 6, 3)]
    assert geometry_checks(psv)[View.RPSV] > 0.8
    assert geometry_checks(psv + [_box("lateral_ventricle", 20, 20, 40, 10)])[View.RPSV] == 0.0  # two ventricles


def test_still_classified_from_its_structures():
    ahv = [_box("anterior_horn", 40, 50), _box("anterior_horn", 80, 50), _box("interhemispheric_fissure", 60, 30, 30, 2),
           _box("cavum_septi_pellucidi", 60, 55, 8, 4), _box("caudate_nucleus", 30, 60), _box("caudate_nucleus", 90, 60),
           _box("corpus_callosum", 60, 40, 40, 5)]
    assert classify_still(ahv).view is View.AHV
    msv = [_box("corpus_callosum", 60, 40, 60, 10), _box("cavum_septi_pellucidi", 60, 48, 10, 4),
           _box("cerebellar_vermis", 90, 80, 15, 12), _box("fourth_ventricle", 85, 75, 6, 4), _box("brainstem", 75, 80, 20, 8)]
    assert classify_still(msv).view is View.MSV
    empty = classify_still([])
    assert empty.view is None and empty.reason == NO_BRAIN


def test_phantom_scores_peak_inside_the_view_windows(case):
    from neocus.views import score_frames

    sweep = case.sweeps[Plane.CORONAL]
    config = load_config()
    scores = score_frames(_dets(sweep), config, n_frames=len(sweep.truth))
    for i, v in enumerate((View.AHV, View.TVV, View.BV)):
        w = sweep.windows[v]
        inside = scores[w.start:w.end + 1, i].max()
        outside = np.delete(scores[:, i], np.arange(max(0, w.start - 8), w.end + 9)).max()
        assert inside >= config.selection.min_score, v  # the window holds candidates
        assert inside >= outside, v


# ---------------------------------------------------------------------------------------- clustering


def test_dbscan_splits_bumps_and_drops_strays():
    t = np.arange(100, dtype=float)
    track = 0.9 * np.exp(-((t - 20) / 3) ** 2) + 0.7 * np.exp(-((t - 70) / 4) ** 2)
    track[45] = 0.8  # one stray frame: no neighbours, DBSCAN noise
    clusters = view_clusters(track, view=View.AHV, start=0, end=99, sel=Selection())
    assert len(clusters) == 2
    assert {c.peak_frame for c in clusters} == {20, 70}
    assert all(not (c.start <= 45 <= c.end) for c in clusters)


# ---------------------------------------------------------------------------------------- sweeps


def test_coronal_both_directions(case):
    sweep = case.sweeps[Plane.CORONAL]
    n = len(sweep.truth)
    dets = _dets(sweep, degradation=MILD)
    fwd = sweep_views(_input("c", dets, n))
    rev = sweep_views(_input("c", _reverse(dets, n), n))
    assert [s.plane for s in fwd.segments] == [Plane.CORONAL] == [s.plane for s in rev.segments]
    assert fwd.segments[0].direction.value == sweep.plan.direction.value
    assert rev.segments[0].direction is not fwd.segments[0].direction
    got = {c.view: c.frame for c in fwd.segments[0].choices}
    got_rev = {c.view: n - 1 - c.frame for c in rev.segments[0].choices}
    assert set(got) == {View.AHV, View.TVV, View.BV}
    for v in (View.TVV, View.BV):
        assert _near(got[v], sweep.windows[v]), (v, got[v], sweep.windows[v])
    for v in got:
        assert abs(got[v] - got_rev[v]) <= 1


def test_sagittal_sides_follow_the_direction(case):
    sweep = case.sweeps[Plane.SAGITTAL]
    n = len(sweep.truth)
    truth_dir = SweepDirection(sweep.plan.direction.value)
    dets = _dets(sweep, degradation=MILD)
    told = sweep_views(_input("s", dets, n, sagittal_direction=truth_dir)).segments[0]
    got = {c.view: c for c in told.choices}
    assert set(got) == {View.RPSV, View.MSV, View.LPSV}
    assert _near(got[View.MSV].frame, sweep.windows[View.MSV])
    for v in (View.RPSV, View.LPSV):
        assert _near(got[v].frame, sweep.windows[v]), (v, got[v].frame, sweep.windows[v])
        assert "given" in got[v].basis
    other = SweepDirection.LEFT_TO_RIGHT if truth_dir is SweepDirection.RIGHT_TO_LEFT else SweepDirection.RIGHT_TO_LEFT
    swapped = {c.view: c.frame for c in sweep_views(_input("s", dets, n, sagittal_direction=other)).segments[0].choices}
    assert swapped[View.RPSV] == got[View.LPSV].frame and swapped[View.LPSV] == got[View.RPSV].frame


def test_parasagittal_only_sweep_is_still_sided(case):
    sweep = case.sweeps[Plane.SAGITTAL]
    w = sweep.windows[View.LPSV]
    lo, hi = max(0, w.start - 10), w.end + 10
    dets = [FrameDetections(f.frame - lo, f.detections) for f in _dets(sweep) if lo <= f.frame <= hi]
    out = sweep_views(_input("psv", dets, hi - lo + 1, sagittal_direction=SweepDirection.LEFT_TO_RIGHT))
    assert [s.plane for s in out.segments] == [Plane.SAGITTAL]
    (choice,) = out.segments[0].choices
    assert choice.view is View.LPSV and "no midsagittal reference" in choice.basis
    assert View.MSV in out.segments[0].missing


def test_mixed_video_splits_into_planes(case):
    cor, sag = case.sweeps[Plane.CORONAL], case.sweeps[Plane.SAGITTAL]
    nc, ns = len(cor.truth), len(sag.truth)
    dets = list(_dets(cor, degradation=MILD)) + [FrameDetections(f.frame + nc, f.detections) for f in _dets(sag, degradation=MILD, seed=1)]
    exam = extract_views([_input("mixed.mp4", dets, nc + ns)])
    segs = exam.sweeps[0].segments
    assert [s.plane for s in segs] == [Plane.CORONAL, Plane.SAGITTAL]
    assert abs(segs[1].start - nc) <= 8
    assert all(c is not None for c in exam.views.values())
    assert not exam.unsuitable


def test_missing_view_is_reported_not_invented(case):
    sweep = case.sweeps[Plane.CORONAL]
    w = sweep.windows[View.BV]
    n = len(sweep.truth)
    # cut the sweep where the BV lies (keep the other side of the sweep)
    keep = range(w.end + 15, n) if w.start < n // 2 else range(0, w.start - 15)
    dets = [FrameDetections(f.frame - keep.start, f.detections) for f in _dets(sweep) if f.frame in keep]
    exam = extract_views([_input("c", dets, len(keep))])
    assert exam.views[View.BV] is None and "BV" in exam.missing[View.BV]
    assert exam.views[View.TVV] is not None
    assert exam.unsuitable and str(MIN_VIEWS_FOR_DECISION) in exam.reason


def test_one_plane_only_is_unsuitable(case):
    sweep = case.sweeps[Plane.CORONAL]
    exam = extract_views([_input("c", _dets(sweep), len(sweep.truth))])
    assert exam.usable == 3 and exam.unsuitable
    assert all(exam.views[v] is None for v in (View.MSV, View.RPSV, View.LPSV))
    assert "sagittal" in exam.missing[View.MSV]


@pytest.mark.parametrize("false_positives", [0.0, 1.5])
def test_sweep_without_brain_is_unsuitable(false_positives):
    n = 60
    empty = [[] for _ in range(n)]
    dets = degrade(empty, size_wh=SIZE_WH, degradation=Degradation(false_positives=false_positives), rng=np.random.default_rng(2))
    exam = extract_views([_input("blank.mp4", dets, n)])
    assert exam.unsuitable and exam.usable == 0
    assert all(c is None or not c.usable for c in exam.views.values())  # weak noise clusters are reported as poor
    if false_positives == 0:
        assert exam.reason == NO_BRAIN
    assert exam.reason


# ---------------------------------------------------------------------------------------- config, fit, evaluate


def test_bad_config_is_a_user_error(tmp_path):
    with pytest.raises(NeocusError, match="no weights"):
        parse_config({"views": {"AHV": {"weights": {}}}})
    with pytest.raises(NeocusError, match="structure"):
        parse_config({"views": {v.value: {"weights": {"brain": 1}} for v in View}})
    bad = tmp_path / "c.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(NeocusError):
        load_config(bad)


def _truth_case(case, *, seed=0):
    sweeps = []
    for plane, s in case.sweeps.items():
        win = {v: (TruthWindow(w.start, w.end, w.best_frame, w.best_quality) if w else None) for v, w in s.windows.items()}
        dets = _input(f"{plane.value}.mp4", _dets(s, degradation=MILD, seed=seed), len(s.truth))
        sweeps.append(TruthSweep(dets, plane, win, s.quality))
    return TruthCase(case.case_id, "internal", tuple(sweeps))


def test_fit_and_evaluate_on_ground_truth(case):
    tc = _truth_case(case)
    cfg, report = fit_weights([tc])
    assert report.positives[View.TVV] > 0
    assert cfg.views[View.RPSV] == cfg.views[View.LPSV]
    metrics, outcomes = evaluate_cases([tc], config=cfg)
    assert len(outcomes) == 6 and metrics.per_preset["internal"].n_cases == 1
    hits = {o.view: o.hit for o in outcomes}
    assert hits[View.TVV] and hits[View.BV] and hits[View.MSV]
    assert metrics.overall.unsuitable_rate == 0.0


# ---------------------------------------------------------------------------------------- CLI


def test_cli_views_writes_outputs_and_refuses_bad_input(case, tmp_path, capsys):
    from neocus.cli import main
    from neocus.data import BoxAnnotation, FrameAnnotation, write_annotations
    from neocus.io import write_video

    paths, anns = [], []
    for plane, s in case.sweeps.items():
        video = write_video(tmp_path / f"{plane.value}.mp4", s.frames, fps=28.0)
        lines = [FrameAnnotation(frame=i, boxes=[BoxAnnotation(label=b.structure, cx=b.box.cx, cy=b.box.cy, w=b.box.w, h=b.box.h,
                                                              angle=b.box.angle) for b in t.boxes]) for i, t in enumerate(s.truth)]
        anns.append(write_annotations(tmp_path, f"{plane.value}.mp4", lines))
        paths.append(str(video))
    out = tmp_path / "out"
    args = ["views", *paths, "--out", str(out)] + [x for a in anns for x in ("--detections", str(a))]
    assert main(args) == 0
    body = json.loads((out / "views.json").read_text())
    assert set(body["views"]) == {v.value for v in View} and body["unsuitable"] is False
    assert (out / "MSV.png").is_file() and len(list(out.glob("sweep_*.png"))) == 2
    assert main(args) != 0  # refuses to overwrite
    assert main(["views", *paths, "--out", str(tmp_path / "o2"), "--detections", str(anns[0])]) != 0
    err = capsys.readouterr().err
    assert "--detections" in err and "Traceback" not in err


def _scaled(dets, keep, factor):
    """Detections with the boxes for which ``keep(frame, detection)`` holds grown by ``factor`` in area."""
    out = []
    for f in dets:
        ds = []
        for d in f.detections:
            if keep(f.frame, d):
                b = d.box
                d = Detection(d.structure, d.score, RotatedBox.from_any(b.cx, b.cy, b.w * factor ** 0.5, b.h * factor ** 0.5, b.angle))
            ds.append(d)
        out.append(FrameDetections(f.frame, tuple(ds)))
    return tuple(out)


@pytest.mark.parametrize("bigger", [View.RPSV, View.LPSV])
def test_sides_from_asymmetry_seen_in_both_sweeps(case, bigger):
    # this subject's parasagittal ventricle areas differ ~3x by plane position alone: the scaling must exceed that
    cor, sag = case.sweeps[Plane.CORONAL], case.sweeps[Plane.SAGITTAL]
    vent = (Structure.ANTERIOR_HORN, Structure.LATERAL_VENTRICLE_BODY)
    right_side = bigger is View.RPSV  # the patient's right lies on the screen's left in coronal images
    base = _dets(cor)
    mid = {f.frame: np.median([d.box.cx for d in f.detections if d.structure is Structure.INTERHEMISPHERIC_FISSURE] or [SIZE_WH[0] / 2])
           for f in base}
    cor_dets = _scaled(base, lambda t, d: d.structure in vent and ((d.box.cx < mid[t]) == right_side), 2.0)
    w = sag.windows[bigger]
    sag_dets = _scaled(_dets(sag), lambda t, d: d.structure is Structure.LATERAL_VENTRICLE and w.start - 6 <= t <= w.end + 6, 6.0)
    exam = extract_views([_input("c", cor_dets, len(cor.truth)), _input("s", sag_dets, len(sag.truth))])
    for v in (View.RPSV, View.LPSV):
        c = exam.views[v]
        assert _near(c.frame, sag.windows[v]), (v, c.frame, sag.windows[v])
        assert "asymmetry" in c.basis


def test_cli_classifies_a_still(case, tmp_path, capsys):
    import cv2

    from neocus.cli import main
    from neocus.data import BoxAnnotation, FrameAnnotation, write_annotations

    sweep = case.sweeps[Plane.SAGITTAL]
    t = sweep.windows[View.MSV].best_frame
    cv2.imwrite(str(tmp_path / "still.png"), sweep.frames[t])
    boxes = [BoxAnnotation(label=b.structure, cx=b.box.cx, cy=b.box.cy, w=b.box.w, h=b.box.h, angle=b.box.angle) for b in sweep.truth[t].boxes]
    ann = write_annotations(tmp_path, "still.png", [FrameAnnotation(frame=0, boxes=boxes)])
    assert main(["views", str(tmp_path / "still.png"), "--detections", str(ann), "--out", str(tmp_path / "o")]) == 0
    body = json.loads((tmp_path / "o" / "still.json").read_text())
    assert body["view"] == "MSV" and "MSV" in capsys.readouterr().out


def test_truth_cases_take_a_detectors_output(tmp_path):
    """With a detector, fitting and evaluation see its output on each decoded sweep, not the truth boxes."""
    from neocus.phantom.export import SimulationConfig, simulate_dataset
    from neocus.views.truthdata import truth_cases

    ds = simulate_dataset(tmp_path / "ds", SimulationConfig(cases=1, seed=11, frame_size_wh=(96, 80), sweep_frames=8, workers=1))

    class Recorder:
        def __init__(self):
            self.frames_seen = []

        def detect_sweep(self, sweep):
            self.frames_seen.append(sweep.n_frames)
            return [FrameDetections(i, (_box("thalamus", 40.0, 30.0, score=0.5),)) for i in range(sweep.n_frames)]

    rec = Recorder()
    (tc,) = list(truth_cases(ds, detector=rec))
    assert len(rec.frames_seen) == len(tc.sweeps) == 2
    for s, n in zip(tc.sweeps, rec.frames_seen, strict=True):
        assert s.detections.n_frames == n
        assert all(len(f.detections) == 1 and f.detections[0].score == 0.5 for f in s.detections.frames)
    (oracle,) = list(truth_cases(ds, seed=0))
    assert any(len(f.detections) > 1 for s in oracle.sweeps for f in s.detections.frames)
    from neocus.data.dataset import Dataset

    (bare,) = list(truth_cases(Dataset.load(ds), boxes=False))  # a loaded dataset, the truth without boxes
    assert [s.windows for s in bare.sweeps] == [s.windows for s in oracle.sweeps]
    assert all(s.detections.frames == () and s.detections.n_frames == o.detections.n_frames for s, o in zip(bare.sweeps, oracle.sweeps))
    metrics, _ = evaluate_cases([tc], note="from a recorder")
    assert metrics.note == "from a recorder"
