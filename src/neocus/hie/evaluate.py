"""Evaluate a model on a labelled dataset folder: ``metrics.json`` and ``cases.csv`` (per patient)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from neocus.atomic import atomic_write_text
from neocus.errors import NeocusError
from neocus.hie.infer import HieModel, load_model
from neocus.hie.metrics import NSD_TOLERANCE_MM, MetricsReport, case_metrics, case_rows_csv, report_json, summarise
from neocus.hie.reading import find_cases, load_dataset_case
from neocus.atomic import check_output_dir
from neocus.hie.segment import segment
from neocus.results import AsDict

METRICS_NAME = "metrics.json"
CASES_NAME = "cases.csv"


@dataclass(frozen=True)
class EvaluationResult(AsDict):
    report: MetricsReport
    seconds_per_case: float
    model: str


def evaluate_dataset(
    data_dir: str | Path,
    *,
    model: HieModel | None = None,
    level: float = 0.95,
    tolerance_mm: float = NSD_TOLERANCE_MM,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Segment every labelled case of ``data_dir`` and judge it against its mask.

    Note: the bundled model was trained on the 40 BONBID-HIE patients in ``../shared/data``; judged on
    them it is judged on its own training data (use the cross-validation figures for unseen patients).
    """
    if not 0.0 < level < 1.0:
        raise NeocusError(f"the confidence level must lie between 0 and 1, got {level}", where="level")
    model = model or load_model(device=device)
    files = find_cases(data_dir, need_labels=True)
    rows, seconds = [], 0.0
    for i, f in enumerate(files):
        if progress:
            progress(f"case {i + 1}/{len(files)}")
        case = load_dataset_case(f)
        result = segment(case, model=model, device=device)
        seconds += result.seconds
        brain = case.adc.array > 0
        rows.append(case_metrics(result.mask, case.label.array, spacing=case.adc.spacing, case_id=f.case_id, region=brain, tolerance_mm=tolerance_mm))
    report = summarise(rows, level=level, tolerance_mm=tolerance_mm)
    return EvaluationResult(report=report, seconds_per_case=seconds / len(files), model=model.source)


def write_evaluation(result: EvaluationResult, out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """``metrics.json`` (top-level means, CIs, per-patient rows) and ``cases.csv`` into ``out_dir``."""
    out = Path(out_dir)
    check_output_dir(out, force=force, marker=METRICS_NAME)
    if out.exists():
        shutil.rmtree(out)
    data = report_json(result.report) | {"seconds_per_case": result.seconds_per_case, "model": Path(result.model).name or result.model}
    text = json.dumps(data, indent=2, default=str).replace("NaN", "null")
    return [atomic_write_text(out / METRICS_NAME, text + "\n"), atomic_write_text(out / CASES_NAME, case_rows_csv(result.report.cases))]


def evaluate_out_of_fold(run_dir: str | Path, data_dir: str | Path, *, use_zadc: bool = True, level: float = 0.95) -> MetricsReport:
    """Re-judge a cross-validation run: each patient segmented by the fold model that never saw it,
    with that fold's post-processing (fitted on the other folds), optionally without its Z-ADC map
    (the figure for ADC-alone input)."""
    import dataclasses

    from neocus.hie import postprocess as pp
    from neocus.hie.infer import HieModel, load_model

    run = Path(run_dir)
    try:
        folds = json.loads((run / "folds.json").read_text(encoding="utf-8"))["folds"]
        posts = json.loads((run / "cv_metrics.json").read_text(encoding="utf-8"))["post_processing_per_fold"]
    except (OSError, ValueError, KeyError) as exc:
        raise NeocusError(f"not a finished neocus HIE cross-validation run: {exc}", where=run, hint="run `neocus hie train` to the end first") from None
    full = load_model(run)
    files = {f.case_id: f for f in find_cases(data_dir, need_labels=True)}
    rows = []
    for k, held in enumerate(folds):
        post = pp.PostProcess.from_dict(posts[k])
        model = HieModel(members=tuple(dataclasses.replace(m, networks=(m.networks[k],)) for m in full.members), post=post, source=str(run))
        for cid in held:
            case = load_dataset_case(files[cid])
            if not use_zadc:
                case = dataclasses.replace(case, zadc=None)
            result = segment(case, model=model)
            rows.append(case_metrics(result.mask, case.label.array, spacing=case.adc.spacing, case_id=cid, region=case.adc.array > 0))
    return summarise(sorted(rows, key=lambda r: r.case_id), level=level)
