"""The whole pipeline judged on a dataset with ground truth (``neocus evaluate pipeline``): every case
screened (a resumable batch, :mod:`neocus.screen.batch`), then

- the diagnosis figures of :func:`neocus.diagnose.evaluate.case_metrics` (AUC with DeLong CI,
  sensitivity / specificity with exact CIs, Papile agreement) on the cases with a decision,
- the Table-2 report, ROC and per-condition confusion of :mod:`neocus.stats.report`,
- view hit rates against the phantom's view windows (:func:`neocus.views.evaluate.judge_case`), when
  the dataset holds that truth (``truth.json``),
- the unsuitable rate and the time per case and per stage.

``metrics.json`` carries ``auc``, ``sensitivity``, ``specificity``, ``view_hit_rate``,
``unsuitable_rate`` and ``seconds_per_case`` at its top level (numbers, or null when they cannot be
computed, e.g. no case got a decision); their intervals and the details sit beside them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from neocus.atomic import atomic_write_text
from neocus.errors import DatasetError
from neocus.results import rounded
from neocus.screen.batch import BatchResult, CaseTask, screen_batch
from neocus.screen.models import ScreenModels
from neocus.screen.output import RESULT_FILE
from neocus.vocab import Decision, Finding, View


def _labelled_cases(data: Path) -> tuple[list[CaseTask], dict[str, Any]]:
    from neocus.data.dataset import Dataset

    ds = Dataset.load(data)
    labels = {c.case_id: c.record.labels for c in ds.cases}
    tasks = [CaseTask(c.case_id, (c.folder,)) for c in ds.cases if labels[c.case_id] is not None and labels[c.case_id].severe is not None]
    if not tasks:
        raise DatasetError("no case has a severe label", where=data, hint="evaluate on a dataset with labels (e.g. `neocus simulate`)")
    return tasks, labels


def _read_results(batch: BatchResult) -> dict[str, dict[str, Any]]:
    out = {}
    for row in batch.rows:
        path = batch.out / "cases" / row["case_id"] / RESULT_FILE
        if row["status"] != "failed" and path.is_file():
            out[row["case_id"]] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _diagnosis_metrics(results: dict[str, dict], labels: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """case_metrics on decided cases, and the Predictions for the stats report (None: one class only)."""
    from neocus.diagnose.evaluate import case_metrics
    from neocus.stats.inputs import Predictions

    ids = [c for c, r in results.items() if r["decision"] != Decision.UNSUITABLE.value]
    if not ids:
        return {"auc": None, "sensitivity": None, "specificity": None}, None
    y = np.array([int(labels[c].severe) for c in ids])
    p = np.array([results[c]["severe_prob"] for c in ids], dtype=float)
    call = np.array([int(results[c]["decision"] == Decision.SEVERE.value) for c in ids])
    grades = [labels[c].ivh_grade for c in ids]
    grade_true = np.array([int(g) for g in grades]) if all(g is not None for g in grades) else None
    metrics = case_metrics(y, p, call, grade_true, np.array([results[c]["papile_grade"] for c in ids]))
    if len(set(y.tolist())) < 2:
        return metrics, None
    found = [frozenset(f for fs in (labels[c].findings or {}).values() for f in fs) for c in ids]
    pred = Predictions(source="neocus evaluate pipeline", case_ids=tuple(ids), label=y, score=p, prediction=call.astype(np.int8),
                       findings={f.value: np.array([int(f in s) for s in found]) for f in Finding},
                       ivh_grade=grade_true, metadata={})
    return metrics, pred


def _view_metrics(data: Path, results: dict[str, dict]) -> dict[str, Any] | None:
    """Hit rates of the chosen views against the phantom's view windows (None without truth.json)."""
    from neocus.views.evaluate import group_metrics, judge_case
    from neocus.views.select import ViewChoice
    from neocus.views.truthdata import TruthCase, truth_cases

    try:
        truths = {t.case_id: t for t in truth_cases(data, boxes=False)}
    except DatasetError:
        return None
    outcomes, unsuitable = [], []
    for case_id, doc in results.items():
        t = truths.get(case_id)
        if t is None:
            continue
        # the screen names a case's sweeps input_1, input_2, ... in the order of their names
        sweeps = tuple(replace(s, detections=replace(s.detections, name=f"input_{k}")) for k, s in enumerate(t.sweeps, 1))
        chosen = {}
        for v in View:
            e = doc["views"][v.value]
            chosen[v] = None if e["frame"] is None or e["score"] is None else ViewChoice(
                v, e["input"], e["frame"], e["time_s"], e["score"], e["confidence"], e["status"] == "usable", e["basis"])
        outcomes += judge_case(TruthCase(case_id, t.preset, sweeps), chosen)
        unsuitable.append(doc["decision"] == Decision.UNSUITABLE.value)
    return group_metrics(outcomes, unsuitable).to_dict() if outcomes else None


def _timings(results: dict[str, dict]) -> dict[str, Any]:
    per_case = [sum(r["timings_s"].values()) for r in results.values()]
    stages = sorted({k for r in results.values() for k in r["timings_s"]})
    return {"seconds_per_case": float(np.mean(per_case)) if per_case else None,
            "seconds_per_case_median": float(np.median(per_case)) if per_case else None,
            "seconds_per_stage_mean": {k: float(np.mean([r["timings_s"].get(k, 0.0) for r in results.values()])) for k in stages}}


def _number(entry: Any) -> float | None:
    return None if entry is None else float(entry["estimate"])


def evaluate_pipeline(data: str | Path, out: str | Path, *, models: ScreenModels, force: bool = False,
                      progress: Callable[[int, int, dict[str, Any]], None] | None = None, **options: Any) -> dict[str, Any]:
    """Screen every labelled case of ``data`` into ``out`` (resumable) and write ``metrics.json``,
    ``predictions.csv`` and ``report/`` (Table 2, ROC, per-condition confusion) beside the cases."""
    from neocus.stats.report import build_report, write_report

    data, out = Path(data), Path(out)
    tasks, labels = _labelled_cases(data)
    batch = screen_batch(tasks, out, models=models, force=force, progress=progress, **options)
    results = _read_results(batch)
    diag, pred = _diagnosis_metrics(results, labels)
    views = _view_metrics(data, results)
    timing = _timings(results)
    n_unsuitable = sum(1 for r in results.values() if r["decision"] == Decision.UNSUITABLE.value)
    metrics = {
        "auc": _number(diag.get("auc")), "sensitivity": _number(diag.get("sensitivity")), "specificity": _number(diag.get("specificity")),
        "view_hit_rate": None if views is None else views["hit_rate"],
        "unsuitable_rate": n_unsuitable / len(results) if results else None,
        "seconds_per_case": timing["seconds_per_case"],
        "n_cases": len(tasks), "n_screened": len(results), "n_failed": batch.count("failed"), "n_unsuitable": n_unsuitable,
        "n_decided": len(results) - n_unsuitable, "diagnosis": diag, "views": views, "timing": timing,
        "failed": [{"case_id": r["case_id"], "reason": r["reason"]} for r in batch.rows if r["status"] == "failed"],
        "note": "cases called unsuitable are counted in unsuitable_rate and left out of auc / sensitivity / specificity",
    }
    metrics = rounded(metrics, 6)
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    rows = ["case_id,label,severe_prob,decision,papile_grade"] + [
        f"{c},{int(labels[c].severe)},{'' if r['severe_prob'] is None else round(r['severe_prob'], 6)},{r['decision']},"
        f"{'' if r['papile_grade'] is None else r['papile_grade']}" for c, r in results.items()]
    atomic_write_text(out / "predictions.csv", "\n".join(rows) + "\n")
    if pred is not None:
        write_report(build_report(pred), out / "report", force=True)
    return metrics
