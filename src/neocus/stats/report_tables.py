"""The numbers of the Table-2-style evaluation report: its result objects and :func:`build_report`,
which computes them from a model's predictions (and optionally readers' calls). Rendering and writing
(markdown, CSV, JSON, figures) live in :mod:`neocus.stats.report`, which re-exports these names; what
the numbers mean is described there and in docs/evaluation.md.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neocus.errors import NeocusError, StatsInputError
from neocus.stats.agreement import (
    FleissKappaResult,
    KappaResult,
    cohens_kappa,
    fleiss_kappa,
)
from neocus.stats.checks import DegenerateDataWarning, warn_degenerate
from neocus.stats.conditions import (
    ConditionRow,
    condition_rows,
    conditions_of,
    label_conflicts,
)
from neocus.stats.inputs import Predictions, ReaderReads
from neocus.stats.proportions import BinaryMetrics, binary_metrics
from neocus.stats.readers import (
    ReaderGroupSummary,
    ReaderResult,
    binarize_calls,
    chi_square_test,
    default_positive_from,
    delta_auc_test,
    reader_result,
    summarize_readers,
    welch_t_test,
)
from neocus.stats.results import AsDict, AucResult, ComparisonResult
from neocus.stats.roc import RocCurve, roc_auc, roc_curve
from neocus.stats.subgroups import SubgroupAnalysis, subgroup_analysis
from neocus.stats.thresholds import youden_threshold

MODEL_NAME = "model"
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ModelEvaluation(AsDict):
    """The model on all cases: binary metrics at the operating point and the AUC of its scores."""

    threshold: float | None  # None when the file's own prediction column was used
    threshold_rule: str
    metrics: BinaryMetrics
    auc: AucResult


@dataclass(frozen=True)
class CorrectionSummary(AsDict):
    """Reads of the same reader and case without and with AI.

    ``corrected`` of ``wrong_without`` reads that were wrong without AI became right with AI;
    ``broken`` of ``right_without`` right reads became wrong. ``test`` is the two-sided Pearson
    chi-square test of right / wrong reads without vs with AI.
    """

    n_pairs: int
    wrong_without: int
    corrected: int
    right_without: int
    broken: int
    test: ComparisonResult


@dataclass(frozen=True)
class ReaderGroupEvaluation(AsDict):
    """One reader group in one condition, with its tests."""

    summary: ReaderGroupSummary
    fleiss: FleissKappaResult | None
    vs_model: ComparisonResult | None
    vs_without_ai: ComparisonResult | None = None
    mean_time_s: float = math.nan
    time_test: ComparisonResult | None = None
    corrections: CorrectionSummary | None = None

    @property
    def label(self) -> str:
        return f"{self.summary.group} ({'with AI' if self.summary.with_ai else 'without AI'})"


@dataclass(frozen=True)
class ReaderAgreement(AsDict):
    """Cohen's kappa between the model's calls and one reader's (binary) calls on that reader's cases."""

    reader_id: str
    group: str
    with_ai: bool
    kappa: KappaResult


@dataclass(frozen=True)
class EvaluationReport(AsDict):
    """Everything :func:`write_report` writes. ``warnings`` lists degenerate-data warnings raised."""

    source: str
    readers_source: str | None
    n_cases: int
    n_pos: int
    n_neg: int
    level: float
    model: ModelEvaluation
    roc: RocCurve
    readers: tuple[ReaderResult, ...] = ()
    groups: tuple[ReaderGroupEvaluation, ...] = ()
    agreements: tuple[ReaderAgreement, ...] = ()
    conditions: dict[str, tuple[ConditionRow, ...]] = field(default_factory=dict)
    subgroups: tuple[SubgroupAnalysis, ...] = ()
    warnings: tuple[str, ...] = ()


def model_calls(
    pred: Predictions, *, threshold: float | None = None, youden: bool = False
) -> tuple[np.ndarray, float | None, str]:
    """The model's 0/1 calls and how they were made: Youden's rule (``youden``), a fixed ``threshold``,
    the file's ``prediction`` column, or ``score >= 0.5`` (in that order of precedence)."""
    if youden and threshold is not None:
        raise NeocusError("give either a threshold or Youden's rule, not both")
    if youden:
        t = youden_threshold(pred.label, pred.score).threshold
        return (pred.score >= t).astype(np.int8), t, "Youden (maximises sensitivity + specificity - 1 on these cases)"
    if threshold is not None:
        if not math.isfinite(threshold):
            raise NeocusError(f"threshold must be a finite number, got {threshold}")
        return (pred.score >= threshold).astype(np.int8), float(threshold), "fixed threshold"
    if pred.prediction is not None:
        return pred.prediction.copy(), None, "prediction column of the file"
    return (pred.score >= DEFAULT_THRESHOLD).astype(np.int8), DEFAULT_THRESHOLD, "default threshold 0.5"


def _where(source: str, exc: StatsInputError) -> NeocusError:
    return NeocusError(exc.what, where=source, hint=exc.hint)


def build_report(
    pred: Predictions,
    reads: ReaderReads | None = None,
    *,
    threshold: float | None = None,
    youden: bool = False,
    subgroups: Sequence[str] = (),
    positive_from: float | None = None,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> EvaluationReport:
    """Compute the report (see module docstring). Degenerate-data warnings are collected in
    ``report.warnings`` instead of being raised."""
    for col in subgroups:
        if col not in pred.metadata:
            known = ", ".join(sorted(pred.metadata)) or "none"
            raise NeocusError(f"no metadata column {col!r} for `subgroups`", where=pred.source, hint=f"metadata columns: {known}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DegenerateDataWarning)
        report = _build(pred, reads, threshold, youden, tuple(subgroups), positive_from, level, n_boot, seed)
    seen: list[str] = []
    for w in caught:
        if issubclass(w.category, DegenerateDataWarning):
            if str(w.message) not in seen:
                seen.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return dataclasses.replace(report, warnings=tuple(seen))


def _build(pred, reads, threshold, youden, subgroups, positive_from, level, n_boot, seed) -> EvaluationReport:
    try:
        calls, t, rule = model_calls(pred, threshold=threshold, youden=youden)
        model = ModelEvaluation(
            t, rule, binary_metrics(pred.label, calls, level=level, n_boot=n_boot, seed=seed),
            roc_auc(pred.label, pred.score, level=level),
        )
        curve = roc_curve(pred.label, pred.score)
    except StatsInputError as exc:
        raise _where(pred.source, exc) from None
    conds = conditions_of(pred)
    conditions: dict[str, tuple[ConditionRow, ...]] = {}
    if conds:
        for message in label_conflicts(conds, pred.label):
            warn_degenerate(message)
        conditions[MODEL_NAME] = condition_rows(conds, calls)
    subs = []
    for col in subgroups:
        keep = pred.metadata[col] != ""
        try:
            subs.append(subgroup_analysis(pred.label[keep], pred.score[keep], pred.metadata[col][keep], column=col, level=level))
        except StatsInputError as exc:
            raise _where(pred.source, exc) from None
    readers: tuple[ReaderResult, ...] = ()
    groups: tuple[ReaderGroupEvaluation, ...] = ()
    agreements: tuple[ReaderAgreement, ...] = ()
    if reads is not None:
        readers, groups, agreements, reader_conditions = _readers_part(
            pred, reads, calls, conds, positive_from, level, n_boot, seed
        )
        conditions.update(reader_conditions)
    n_pos = int(pred.label.sum())
    return EvaluationReport(
        source=Path(pred.source).name,
        readers_source=Path(reads.source).name if reads is not None else None,
        n_cases=pred.n, n_pos=n_pos, n_neg=pred.n - n_pos, level=level,
        model=model, roc=curve, readers=readers, groups=groups, agreements=agreements,
        conditions=conditions, subgroups=tuple(subs),
    )


def _ordered_unique(values) -> list:
    out: list = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _readers_part(pred: Predictions, reads: ReaderReads, model_call: np.ndarray, conds, positive_from, level, n_boot, seed):
    if positive_from is None:  # one scale for the whole file, so a reader who used few levels is not misread
        try:
            positive_from = default_positive_from(reads.call)
        except StatsInputError as exc:
            raise NeocusError(exc.what, where=reads.source, hint="give `positive_from`") from None
    results: list[ReaderResult] = []
    agreements: list[ReaderAgreement] = []
    binary_by_read = np.zeros(reads.n, dtype=np.int8)
    vs_model_delta: dict[tuple[str, bool], list[tuple[float, float]]] = {}
    for rid in _ordered_unique(reads.reader_id.tolist()):
        for ai in (0, 1):
            sel = (reads.reader_id == rid) & (reads.with_ai == ai)
            if not sel.any():
                continue
            idx = reads.case_index[sel]
            y = pred.label[idx]
            group = str(reads.group[sel][0])
            try:
                bin_calls = binarize_calls(reads.call[sel], positive_from=positive_from)
                res = reader_result(
                    y, reads.call[sel], reader_id=rid, group=group, with_ai=bool(ai), positive_from=positive_from,
                    times_s=reads.time_s[sel], level=level, n_boot=n_boot, seed=seed,
                )
                model_auc = roc_auc(y, pred.score[idx], level=level).auc
            except StatsInputError as exc:
                raise NeocusError(f"reader {rid!r} ({'with' if ai else 'without'} AI): {exc.what}", where=reads.source) from None
            binary_by_read[sel] = bin_calls
            results.append(res)
            vs_model_delta.setdefault((group, bool(ai)), []).append((model_auc, res.auc.auc))
            agreements.append(ReaderAgreement(rid, group, bool(ai), cohens_kappa(model_call[idx], bin_calls, categories=(0, 1), level=level)))
    groups: list[ReaderGroupEvaluation] = []
    conditions: dict[str, tuple[ConditionRow, ...]] = {}
    by_key: dict[tuple[str, bool], list[ReaderResult]] = {}
    for r in results:
        by_key.setdefault((r.group, r.with_ai), []).append(r)
    group_order = _ordered_unique(reads.group.tolist())
    for (group, ai), members in sorted(by_key.items(), key=lambda kv: (group_order.index(kv[0][0]), kv[0][1])):
        summary = summarize_readers(members, level=level, n_boot=n_boot, seed=seed)
        sel = (reads.group == group) & (reads.with_ai == int(ai))
        fleiss = _group_fleiss(reads, sel, binary_by_read)
        # one-sided Wilcoxon of model AUC minus reader AUC, each pair on that reader's cases
        model_aucs, reader_aucs = zip(*vs_model_delta[(group, ai)], strict=True)
        vs_model = delta_auc_test(model_aucs, reader_aucs, alternative="greater")
        vs_without = timing = corrections = None
        mean_time = float(np.nanmean(reads.time_s[sel])) if np.isfinite(reads.time_s[sel]).any() else math.nan
        if ai:
            without = {r.reader_id: r for r in by_key.get((group, False), [])}
            paired = [(r.auc.auc, without[r.reader_id].auc.auc) for r in members if r.reader_id in without]
            if paired:
                vs_without = delta_auc_test([p[0] for p in paired], [p[1] for p in paired], alternative="greater")
            sel0 = (reads.group == group) & (reads.with_ai == 0)
            t1, t0 = reads.time_s[sel], reads.time_s[sel0]
            t1, t0 = t1[np.isfinite(t1)], t0[np.isfinite(t0)]
            if t1.size >= 2 and t0.size >= 2:
                timing = welch_t_test(t1, t0, alternative="less")
            corrections = _corrections(pred, reads, group, binary_by_read)
        groups.append(ReaderGroupEvaluation(summary, fleiss, vs_model, vs_without, mean_time, timing, corrections))
        if conds:
            conditions[f"{group} ({'with AI' if ai else 'without AI'})"] = condition_rows(
                conds, binary_by_read[sel], case_index=reads.case_index[sel]
            )
    return tuple(results), tuple(groups), tuple(agreements), conditions


def _group_fleiss(reads: ReaderReads, sel: np.ndarray, binary_calls: np.ndarray) -> FleissKappaResult | None:
    """Fleiss' kappa of the group's binary calls over the cases read by every reader of the group."""
    rids = _ordered_unique(reads.reader_id[sel].tolist())
    if len(rids) < 2:
        return None
    per_reader = {}
    for rid in rids:
        m = sel & (reads.reader_id == rid)
        per_reader[rid] = dict(zip(reads.case_index[m].tolist(), binary_calls[m].tolist(), strict=True))
    common = set.intersection(*(set(d) for d in per_reader.values()))
    if not common:
        return None
    cases = sorted(common)
    matrix = np.array([[per_reader[r][c] for r in rids] for c in cases])
    return fleiss_kappa(matrix, categories=(0, 1))


def _corrections(pred: Predictions, reads: ReaderReads, group: str, binary_calls: np.ndarray) -> CorrectionSummary | None:
    sel = reads.group == group
    before: dict[tuple[str, int], int] = {}
    after: dict[tuple[str, int], int] = {}
    for i in np.flatnonzero(sel):
        key = (reads.reader_id[i], int(reads.case_index[i]))
        (after if reads.with_ai[i] else before)[key] = int(binary_calls[i] == pred.label[reads.case_index[i]])
    keys = [k for k in before if k in after]
    if not keys:
        return None
    right0 = sum(before[k] for k in keys)
    right1 = sum(after[k] for k in keys)
    n = len(keys)
    corrected = sum(1 for k in keys if not before[k] and after[k])
    broken = sum(1 for k in keys if before[k] and not after[k])
    test = chi_square_test([[right0, n - right0], [right1, n - right1]])
    return CorrectionSummary(n, n - right0, corrected, right0, broken, test)
