"""``screen()``: one case from its sweeps (or view stills) to a decision, read top to bottom:
decode -> ROI -> detection -> views -> diagnosis -> heatmaps, each stage timed.

    from neocus.screen import screen, write_case
    result = screen(["case_dir"], models="models_dir")    # None: the bundled models/
    result.decision, result.severe_prob, result.views["TVV"].frame, result.timings_s
    write_case(result, "out_dir")                          # result.json, PNGs, report.html

Bad input never raises here: an unreadable file, a sweep without a brain or too few views end in an
``unsuitable`` result that says why. Only what the caller must fix raises a ``NeocusError``: a path
that does not exist, a missing model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from neocus.errors import parse_choice
from neocus.screen import stages
from neocus.screen.inputs import resolve_inputs, still_view
from neocus.screen.models import ScreenModels, load_models
from neocus.screen.result import SCHEMA_VERSION, ScreenResult, ViewResult
from neocus.screen.stages import Loaded, StageClock
from neocus.vocab import MIN_VIEWS_FOR_DECISION, VIEW_PLANE, Decision, Plane, View

NO_INPUT = "no readable sweep or still in the input"


def screen(inputs: Sequence[str | Path], *, models: ScreenModels | str | Path | None = None, case_id: str | None = None,
           heatmap: str = "finer-cam", tta: str | None = None) -> ScreenResult:
    """Screen one case. ``inputs``: a case folder, sweep files or view stills; ``models``: loaded models,
    a models folder, or None for the bundled ones; ``heatmap``: finer-cam, grad-cam or none."""
    from neocus.explain import CamMethod

    method = None if heatmap == "none" else parse_choice(CamMethod, heatmap, what="heatmap")
    models = models if isinstance(models, ScreenModels) else load_models(models)
    clock, warnings = StageClock(), []
    items = resolve_inputs(inputs)
    with clock("decode"):
        loaded = [stages.decode(item) for item in items]
    with clock("roi"):
        loaded = [stages.crop_roi(x, warnings) for x in loaded]
    sweeps = [x for x in loaded if x.is_sweep]
    stills = [x for x in loaded if x.sweep is not None and not x.is_sweep]
    if sweeps and stills:
        warnings.append(f"{len(stills)} still(s) ignored: the views are chosen from the sweeps")
        stills = []
    to_detect = sweeps + [x for x in stills if still_view(x.item.path) is None]
    dets = {}
    if to_detect:
        with clock("detect"):
            dets = {x.item.name: stages.detect(x, models.detector) for x in to_detect}
    with clock("views"):
        exam, views = _choose_views(sweeps, stills, dets, warnings)
    usable = {View(v): r for v, r in views.items() if r.status == "usable"}
    diagnosis, maps = None, {}
    if len(usable) >= MIN_VIEWS_FOR_DECISION:
        from neocus.diagnose import diagnose_case
        from neocus.diagnose.data import CaseExample, ViewImage, to_grey_square

        size = models.bundle.config.model.image_size_hw
        images = {v: ViewImage(to_grey_square(r.picture, size)) for v, r in usable.items()}
        with clock("diagnose"):
            diagnosis = diagnose_case(models.bundle, CaseExample(case_id or "case", images), tta=tta)
        if method is not None:
            from neocus.explain import case_heatmaps

            with clock("heatmaps"):
                maps = case_heatmaps(models.bundle.models[0], images, method=method)
    views = _with_diagnosis(views, diagnosis, maps)
    return _assemble(case_id, loaded, views, exam, diagnosis, warnings, clock, models)


def _choose_views(sweeps: list[Loaded], stills: list[Loaded], dets: dict, warnings: list[str]):  # noqa: ANN202
    """Views from sweeps (:func:`neocus.views.extract_views`) or from stills (file name or
    :func:`neocus.views.classify_still`); the picture of each chosen view is its ROI-cropped frame."""
    from neocus.diagnose.data import pad_square
    from neocus.views import SweepDetections, classify_still, extract_views

    if sweeps:
        exam = extract_views([SweepDetections(x.item.name, dets[x.item.name], x.sweep.n_frames, x.sweep.meta.fps) for x in sweeps])
        frames = {x.item.name: x.cropped.frames for x in sweeps}
        views = {}
        for v in View:
            c = exam.views[v]
            if c is None:
                views[v.value] = ViewResult(v, "missing", reason=exam.missing.get(v))
                continue
            status = "usable" if c.usable else "poor"
            views[v.value] = ViewResult(v, status, c.sweep, c.frame, c.time_s, c.score, c.confidence, c.basis,
                                        image=f"views/{v.value}.png", reason=exam.missing.get(v),
                                        picture=pad_square(frames[c.sweep][c.frame]))
            if "assumed" in c.basis:
                warnings.append(f"{v.value}: side assumed from the usual sweep direction ({c.basis})")
        return exam, views
    views: dict[str, ViewResult] = {}
    for x in stills:
        v = still_view(x.item.path)
        basis = "file name"
        if v is None:
            still = classify_still(dets[x.item.name][0].detections)
            if still.view is None:
                warnings.append(f"{x.item.name}: no standard view recognised ({still.reason})")
                continue
            v, basis = still.view, f"detections (score {still.score:.2f}; parasagittal side not known)"
        if v.value in views:
            warnings.append(f"{x.item.name}: a second still of {v.value}, ignored")
            continue
        views[v.value] = ViewResult(v, "usable", x.item.name, 0, None, None, None, basis, image=f"views/{v.value}.png",
                                    picture=pad_square(x.cropped.frames[0]))
    for v in View:
        views.setdefault(v.value, ViewResult(v, "missing", reason="no still of this view given"))
    return None, {v.value: views[v.value] for v in View}


def _with_diagnosis(views: dict[str, ViewResult], diagnosis, maps) -> dict[str, ViewResult]:  # noqa: ANN001
    """Each diagnosed view gets its finding probabilities and heatmap overlay."""
    out = {}
    for name, r in views.items():
        if diagnosis is not None and name in diagnosis.image_probs:
            hm = maps.get(View(name))
            r = replace(r, findings=diagnosis.image_probs[name])
            if hm is not None:
                r = replace(r, heatmap=f"heatmaps/{name}.png", heatmap_target=hm.target.value,
                            overlay=stages.overlay_picture(r.picture, hm.heatmap))
            else:
                r = replace(r, reason=r.reason or "heatmaps were not asked for")
        elif r.status == "poor":
            r = replace(r, reason=(r.reason or "below the usable minimum") + "; not diagnosed")
        elif r.status == "usable":
            r = replace(r, reason=f"not diagnosed: fewer than {MIN_VIEWS_FOR_DECISION} usable views in the exam")
        out[name] = r
    return out


def _plane_warnings(loaded: list[Loaded], exam) -> tuple[list, list[str]]:  # noqa: ANN001
    """Planes found in each sweep (from content) and a warning when the exam holds only one plane."""
    planes = {s.sweep: tuple(sorted({seg.plane.value for seg in s.segments})) for s in exam.sweeps} if exam else {}
    records = [replace(x.record, planes=planes.get(x.item.name, ())) for x in loaded]
    found = {Plane(p) for ps in planes.values() for p in ps}
    warnings = []
    if exam is not None and len(found) == 1:
        (plane,) = found
        lost = ", ".join(v.value for v in View if VIEW_PLANE[v] is not plane)
        warnings.append(f"only {plane.value} frames were found: the other plane's views ({lost}) cannot be chosen; "
                        "give a sweep of each plane")
    return records, warnings


def _assemble(case_id, loaded, views, exam, diagnosis, warnings, clock, models) -> ScreenResult:  # noqa: ANN001
    records, plane_warnings = _plane_warnings(loaded, exam)
    errors = tuple(f"{x.item.name}: {x.record.error}" for x in loaded if x.record.error)
    usable = sum(1 for r in views.values() if r.status == "usable")
    if not any(x.sweep is not None for x in loaded):
        decision, reason = Decision.UNSUITABLE, NO_INPUT + (f" ({'; '.join(errors)})" if errors else " (the folder is empty)")
    elif diagnosis is not None:
        decision, reason = diagnosis.decision, diagnosis.trace.reason
    elif exam is not None and exam.unsuitable:
        decision, reason = Decision.UNSUITABLE, exam.reason
    else:
        decision, reason = Decision.UNSUITABLE, f"only {usable} usable standard views; at least {MIN_VIEWS_FOR_DECISION} are needed"
    if diagnosis is not None and not diagnosis.readout.consistent:
        warnings.append("the predicted grade and findings alone would read otherwise than the decision (read-outs made consistent)")
    d = diagnosis
    return ScreenResult(
        schema_version=SCHEMA_VERSION, case_id=case_id, decision=decision, reason=reason,
        severe_prob=d.severe_prob if d else None, severe_prob_raw=d.severe_prob_raw if d else None,
        papile_grade=d.grade if d else None, grade_probs=d.grade_probs if d else None,
        tier=d.readout.tier.value if d and d.readout.tier else None, binary=d.readout.binary.value if d and d.readout.binary else None,
        readout_consistent=d.readout.consistent if d else None, usable_views=usable, views=views,
        rule_trace=d.trace.to_dict() if d else None, warnings=tuple(plane_warnings + warnings), errors=errors,
        inputs=tuple(records), sweep_plots={s.sweep: f"sweeps/{s.sweep}.png" for s in exam.sweeps} if exam else {},
        timings_s=dict(clock.seconds), models=tuple(models.describe()), exam=exam,
    )
