"""Evaluation of a diagnosis bundle on labelled cases: ``metrics.json`` (AUC, sensitivity, specificity
with CIs from :mod:`neocus.stats`, Papile exact agreement and quadratic kappa, ECE, heatmap hit rate),
``predictions.csv``, the Table-2 report of :mod:`neocus.stats.report`, a reliability plot and heatmap
overlays of a few severe cases.

Cases the rule calls ``unsuitable`` (too few views) are counted and left out of the metrics, as the
paper left such cases out.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neocus.atomic import atomic_dir, check_output_dir
from neocus.diagnose.bundle import Bundle
from neocus.diagnose.calibrate import reliability, reliability_plot
from neocus.diagnose.config import TtaMode
from neocus.diagnose.data import CaseExample
from neocus.diagnose.infer import CaseDiagnosis, diagnose_case
from neocus.errors import NeocusError, parse_choice
from neocus.results import AsDict, to_plain
from neocus.vocab import Decision, Finding, IvhGrade

N_OVERLAY_CASES = 4


@dataclass(frozen=True)
class EvaluationResult(AsDict):
    metrics: dict[str, Any]
    diagnoses: tuple[CaseDiagnosis, ...]
    out_dir: Path | None


def _ci(res) -> dict[str, Any]:
    est = getattr(res, "estimate", getattr(res, "auc", None))
    return {"estimate": float(est), "ci": [float(res.ci.low), float(res.ci.high)], "ci_level": res.ci.level, "ci_method": res.ci.method}


def case_metrics(y: np.ndarray, p: np.ndarray, call: np.ndarray, grade_true: np.ndarray | None, grade_pred: np.ndarray) -> dict[str, Any]:
    """The top-level numbers of ``metrics.json`` for cases with a decision."""
    from neocus.diagnose.calibrate import expected_calibration_error
    from neocus.stats import roc_auc
    from neocus.stats.agreement import cohens_kappa
    from neocus.stats.proportions import ConfusionMatrix

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cm = ConfusionMatrix.from_predictions(y, call)
        out: dict[str, Any] = {
            "auc": _ci(roc_auc(y, p)) if len(set(y.tolist())) == 2 else None,
            "sensitivity": _ci(cm.sensitivity(level=0.95, method="clopper-pearson")),
            "specificity": _ci(cm.specificity(level=0.95, method="clopper-pearson")),
            "ece": expected_calibration_error(y, p),
        }
        if grade_true is not None and len(grade_true):
            out["papile_exact"] = float(np.mean(grade_true == grade_pred))
            kappa = cohens_kappa(grade_true, grade_pred, weights="quadratic", categories=list(range(len(IvhGrade))))
            out["papile_kappa_quadratic"] = float(kappa.kappa)
        else:
            out["papile_exact"] = out["papile_kappa_quadratic"] = None
    return out


def _predictions(diags: Sequence[CaseDiagnosis], cases: Sequence[CaseExample]):
    from neocus.stats.inputs import Predictions

    findings = {f.value: np.array([int(f in (c.findings or frozenset())) for c in cases]) for f in Finding}
    return Predictions(
        source="neocus evaluate diagnosis", case_ids=tuple(c.case_id for c in cases),
        label=np.array([c.severe for c in cases]), score=np.array([d.severe_prob for d in diags]),
        prediction=np.array([int(d.decision is Decision.SEVERE) for d in diags], dtype=np.int8),
        findings=findings, ivh_grade=np.array([c.grade for c in cases]) if all(c.grade is not None for c in cases) else None, metadata={},
    )


def _csv(diags: Sequence[CaseDiagnosis], cases: Sequence[CaseExample]) -> str:
    rows = ["case_id,label,severe_prob,severe_prob_raw,decision,grade_true,grade_pred,tier,n_views,rule_reason"]
    for d, c in zip(diags, cases):
        tier = "" if d.readout.tier is None else d.readout.tier.value
        rows.append(f"{c.case_id},{c.severe},{d.severe_prob:.6f},{d.severe_prob_raw:.6f},{d.decision.value},"
                    f"{'' if c.grade is None else c.grade},{d.grade},{tier},{d.trace.n_views},\"{d.trace.reason}\"")
    return "\n".join(rows) + "\n"


def evaluate_diagnosis(
    bundle: Bundle, cases: Sequence[CaseExample], *, out_dir: str | Path | None = None, tta: TtaMode | str | None = None,
    heatmap: str = "finer-cam", overwrite: bool = False, progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Diagnose every case, compute the metrics and (``out_dir``) write them with the report and pictures."""
    cases = [c for c in cases if c.severe is not None]
    if not cases:
        raise NeocusError("no case has a severe label", where="cases", hint="evaluate on labelled cases")
    tta_mode = None if tta is None else parse_choice(TtaMode, tta, what="tta")
    if heatmap != "none":
        from neocus.explain import CamMethod

        heatmap = parse_choice(CamMethod, heatmap, what="heatmap").value
    diags = []
    for i, c in enumerate(cases):
        diags.append(diagnose_case(bundle, c, tta=tta_mode))
        if progress is not None:
            progress(i + 1, len(cases))
    keep = [i for i, d in enumerate(diags) if d.decision is not Decision.UNSUITABLE]
    kc, kd = [cases[i] for i in keep], [diags[i] for i in keep]
    y = np.array([c.severe for c in kc])
    p = np.array([d.severe_prob for d in kd])
    call = np.array([int(d.decision is Decision.SEVERE) for d in kd])
    grade_true = np.array([c.grade for c in kc]) if all(c.grade is not None for c in kc) else None
    metrics: dict[str, Any] = {
        "n_cases": len(kc), "n_severe": int(y.sum()), "n_unsuitable": len(cases) - len(kc),
        **case_metrics(y, p, call, grade_true, np.array([d.grade for d in kd])),
        "auc_uncalibrated": None, "heatmap_hit_rate": None, "heatmap_method": heatmap,
        "tta": (tta_mode or bundle.config.tta).value, "folds": list(bundle.config.folds), "rule": bundle.config.rule.to_dict(),
        "calibration": bundle.calibration.method.value,
    }
    if metrics["auc"] is not None:
        from neocus.stats import roc_auc

        metrics["auc_uncalibrated"] = float(roc_auc(y, np.array([d.severe_prob_raw for d in kd])).auc)
    if heatmap != "none" and any(v.target_mask is not None for c in kc for v in c.views.values()):
        from neocus.explain import hit_rate

        hr = hit_rate(bundle.models[0], kc, method=heatmap)
        metrics["heatmap_hit_rate"] = hr.rate
        metrics["heatmap_hits"] = {"hits": hr.hits, "cases": hr.cases, "model": f"fold {bundle.config.folds[0]}"}
    result = EvaluationResult(metrics, tuple(diags), Path(out_dir) if out_dir is not None else None)
    if out_dir is not None:
        write_evaluation(result, kc, kd, y, p, Path(out_dir), bundle=bundle, heatmap=heatmap, overwrite=overwrite)
    return result


def write_evaluation(result: EvaluationResult, cases, diags, y, p, out: Path, *, bundle: Bundle, heatmap: str, overwrite: bool) -> None:
    """Write every output into a temporary folder beside ``out`` and rename it on success."""
    from neocus.stats.report import build_report, write_report

    check_output_dir(out, force=overwrite, marker="metrics.json")
    with atomic_dir(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(to_plain(result.metrics), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (tmp / "predictions.csv").write_text(_csv(diags, cases), encoding="utf-8")
        (tmp / "diagnoses.json").write_text(json.dumps([d.to_dict() for d in diags], indent=1) + "\n", encoding="utf-8")
        reliability_plot({"calibrated": reliability(y, p)}, tmp / "reliability.png")
        if len(set(y.tolist())) == 2:
            write_report(build_report(_predictions(diags, cases)), tmp / "report")
        if heatmap != "none":
            _write_overlays(bundle, [c for c in cases if c.severe == 1][:N_OVERLAY_CASES], tmp / "heatmaps", heatmap)


def _write_overlays(bundle: Bundle, cases: Sequence[CaseExample], folder: Path, method: str) -> None:
    from neocus.explain import case_heatmaps, write_overlay

    for c in cases:
        maps = case_heatmaps(bundle.models[0], c.views, method=method)
        for v, hm in maps.items():
            write_overlay(folder / f"{c.case_id}_{v.value}_{hm.target.value}.png", c.views[v].image, hm.heatmap)
