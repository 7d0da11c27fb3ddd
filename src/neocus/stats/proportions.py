"""Proportions and binary-classifier metrics with confidence intervals.

Conventions:

* Labels are 0/1 (1 = condition present, e.g. severe lesion); predictions are 0/1 (1 = flagged).
* Sensitivity = TP / (TP + FN), specificity = TN / (TN + FP), PPV = TP / (TP + FP),
  NPV = TN / (TN + FN), accuracy = (TP + TN) / N, F1 = 2 TP / (2 TP + FP + FN).
* Intervals are two-sided at ``level`` (default 0.95). The default interval for a proportion is the
  exact Clopper-Pearson interval (as in the NCLS paper); ``method="wilson"`` gives the Wilson score
  interval. Both equal statsmodels' ``proportion_confint`` (``method="beta"`` / ``"wilson"``).
* A zero denominator (e.g. PPV when nothing was predicted positive) gives ``estimate = NaN`` (meaning
  "undefined for this data"), the uninformative interval [0, 1], and a
  :class:`~neocus.stats.checks.DegenerateDataWarning`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import stats as sps

from neocus.errors import StatsInputError, parse_choice
from neocus.stats.checks import as_binary_labels, as_scores, check_level, same_length, warn_degenerate
from neocus.stats.results import AsDict, EstimateResult, Interval, ProportionResult


class ProportionMethod(StrEnum):
    """Interval method of a binomial proportion."""

    CLOPPER_PEARSON = "clopper-pearson"
    WILSON = "wilson"


MethodLike = ProportionMethod | str
_CP = ProportionMethod.CLOPPER_PEARSON  # the default: exact intervals, as in the NCLS paper
_METHOD_NAMES = {ProportionMethod.CLOPPER_PEARSON: "Clopper-Pearson", ProportionMethod.WILSON: "Wilson"}


def _check_counts(count: int, total: int) -> tuple[int, int]:
    if int(count) != count or int(total) != total:
        raise StatsInputError(f"count and total must be whole numbers, got {count}/{total}")
    count, total = int(count), int(total)
    if total < 0 or count < 0 or count > total:
        raise StatsInputError(f"count must satisfy 0 <= count <= total, got {count}/{total}")
    return count, total


def proportion_ci(
    count: int, total: int, *, level: float = 0.95, method: MethodLike = _CP
) -> Interval:
    """Two-sided confidence interval for the binomial proportion ``count / total``.

    ``total == 0`` gives the uninformative interval [0, 1] (no warning here; callers warn).
    """
    count, total = _check_counts(count, total)
    level = check_level(level)
    method = parse_choice(ProportionMethod, method, what="interval method", error=StatsInputError)
    name = _METHOD_NAMES[method]
    if total == 0:
        return Interval(0.0, 1.0, level, name)
    alpha = 1.0 - level
    if method is ProportionMethod.CLOPPER_PEARSON:
        low = 0.0 if count == 0 else float(sps.beta.ppf(alpha / 2, count, total - count + 1))
        high = 1.0 if count == total else float(sps.beta.ppf(1 - alpha / 2, count + 1, total - count))
    else:
        z = float(sps.norm.ppf(1 - alpha / 2))
        p = count / total
        denom = 1 + z * z / total
        centre = (p + z * z / (2 * total)) / denom
        half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
        low, high = max(0.0, centre - half), min(1.0, centre + half)
    return Interval(low, high, level, name)


def proportion(
    count: int,
    total: int,
    *,
    level: float = 0.95,
    method: MethodLike = _CP,
    what: str = "proportion",
) -> ProportionResult:
    """``count / total`` with its interval; ``total == 0`` gives NaN, [0, 1] and a warning naming ``what``."""
    count, total = _check_counts(count, total)
    ci = proportion_ci(count, total, level=level, method=method)
    if total == 0:
        warn_degenerate(f"{what} is undefined: its denominator is 0 (reported as NaN with interval [0, 1])")
        return ProportionResult(math.nan, 0, 0, ci)
    return ProportionResult(count / total, count, total, ci)


@dataclass(frozen=True)
class ConfusionMatrix(AsDict):
    """Counts of a binary classification: true/false positives/negatives.

    ``as_array()`` gives scikit-learn's layout ``[[TN, FP], [FN, TP]]`` (rows = truth 0/1,
    columns = prediction 0/1).
    """

    tp: int
    fp: int
    fn: int
    tn: int

    def __post_init__(self) -> None:
        for name in ("tp", "fp", "fn", "tn"):
            value = getattr(self, name)
            if int(value) != value or value < 0:
                raise StatsInputError(f"confusion-matrix count {name} must be a non-negative whole number, got {value}")
            object.__setattr__(self, name, int(value))

    @classmethod
    def from_predictions(cls, y_true, y_pred) -> ConfusionMatrix:
        """Counts from 0/1 labels and 0/1 predictions (same length)."""
        y = as_binary_labels(y_true, name="labels")
        p = as_binary_labels(y_pred, name="predictions")
        same_length(labels=y, predictions=p)
        tp = int(np.sum((y == 1) & (p == 1)))
        fp = int(np.sum((y == 0) & (p == 1)))
        fn = int(np.sum((y == 1) & (p == 0)))
        return cls(tp=tp, fp=fp, fn=fn, tn=len(y) - tp - fp - fn)

    @classmethod
    def from_scores(cls, y_true, y_score, *, threshold: float) -> ConfusionMatrix:
        """Counts when a case is predicted positive iff ``score >= threshold``."""
        s = as_scores(y_score, name="y_score")
        if math.isnan(threshold):
            raise StatsInputError("threshold is NaN")
        return cls.from_predictions(y_true, (s >= threshold).astype(np.int8))

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def n_pos(self) -> int:
        """Cases with the condition (label 1)."""
        return self.tp + self.fn

    @property
    def n_neg(self) -> int:
        """Cases without the condition (label 0)."""
        return self.tn + self.fp

    def as_array(self) -> np.ndarray:
        return np.array([[self.tn, self.fp], [self.fn, self.tp]], dtype=np.int64)

    def sensitivity(self, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
        return proportion(self.tp, self.tp + self.fn, level=level, method=method, what="sensitivity (no positive cases)")

    def specificity(self, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
        return proportion(self.tn, self.tn + self.fp, level=level, method=method, what="specificity (no negative cases)")

    def ppv(self, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
        return proportion(self.tp, self.tp + self.fp, level=level, method=method, what="PPV (no case predicted positive)")

    def npv(self, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
        return proportion(self.tn, self.tn + self.fn, level=level, method=method, what="NPV (no case predicted negative)")

    def accuracy(self, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
        return proportion(self.tp + self.tn, self.n, level=level, method=method, what="accuracy (no cases)")

    def f1(self) -> float:
        """F1 = 2 TP / (2 TP + FP + FN); NaN (with a warning) when there are no positives at all."""
        denom = 2 * self.tp + self.fp + self.fn
        if denom == 0:
            warn_degenerate("F1 is undefined: no positive cases and none predicted positive (reported as NaN)")
            return math.nan
        return 2 * self.tp / denom



def _confusion(y_true, y_pred) -> ConfusionMatrix:
    return y_true if isinstance(y_true, ConfusionMatrix) else ConfusionMatrix.from_predictions(y_true, y_pred)


def _warn_uninformative_predictions(cm: ConfusionMatrix) -> None:
    if cm.n and cm.tp + cm.fp == cm.n:
        warn_degenerate(f"all {cm.n} cases are predicted positive: specificity is 0 and NPV is undefined")
    elif cm.n and cm.tn + cm.fn == cm.n:
        warn_degenerate(f"all {cm.n} cases are predicted negative: sensitivity is 0 and PPV is undefined")


def sensitivity(y_true, y_pred=None, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
    """TP / (TP + FN) with its interval. ``y_true`` may also be a :class:`ConfusionMatrix`."""
    return _confusion(y_true, y_pred).sensitivity(level=level, method=method)


def specificity(y_true, y_pred=None, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
    """TN / (TN + FP) with its interval. ``y_true`` may also be a :class:`ConfusionMatrix`."""
    return _confusion(y_true, y_pred).specificity(level=level, method=method)


def ppv(y_true, y_pred=None, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
    """Positive predictive value TP / (TP + FP) with its interval."""
    return _confusion(y_true, y_pred).ppv(level=level, method=method)


def npv(y_true, y_pred=None, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
    """Negative predictive value TN / (TN + FN) with its interval."""
    return _confusion(y_true, y_pred).npv(level=level, method=method)


def accuracy(y_true, y_pred=None, *, level: float = 0.95, method: MethodLike = _CP) -> ProportionResult:
    """(TP + TN) / N with its interval."""
    return _confusion(y_true, y_pred).accuracy(level=level, method=method)


def _f1_from_counts(tp: np.ndarray, fp: np.ndarray, n_pos: int) -> np.ndarray:
    # 2TP + FP + FN = TP + FP + n_pos
    denom = tp + fp + n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1), np.nan)


def f1_score(
    y_true,
    y_pred=None,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> EstimateResult:
    """F1 with a percentile bootstrap interval.

    The bootstrap is stratified by the true label (positives and negatives are resampled separately,
    keeping their counts, as pROC does for ROC bootstraps). Resampling cases this way is the same as
    drawing TP ~ Binomial(n_pos, TP/n_pos) and FP ~ Binomial(n_neg, FP/n_neg), which is what is done
    (exactly the same distribution, O(n_boot) time). ``seed`` makes the interval reproducible.
    """
    cm = _confusion(y_true, y_pred)
    level = check_level(level)
    if n_boot < 1:
        raise StatsInputError(f"n_boot must be at least 1, got {n_boot}")
    estimate = cm.f1()
    method = "percentile bootstrap (stratified)"
    if math.isnan(estimate):
        return EstimateResult(math.nan, Interval(math.nan, math.nan, level, method), n_boot)
    rng = np.random.default_rng(seed)
    tp = rng.binomial(cm.n_pos, cm.tp / cm.n_pos, size=n_boot) if cm.n_pos else np.zeros(n_boot, int)
    fp = rng.binomial(cm.n_neg, cm.fp / cm.n_neg, size=n_boot) if cm.n_neg else np.zeros(n_boot, int)
    boot = _f1_from_counts(tp, fp, cm.n_pos)
    boot = boot[~np.isnan(boot)]
    if boot.size == 0:
        return EstimateResult(float(estimate), Interval(math.nan, math.nan, level, method), n_boot)
    alpha = 1.0 - level
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return EstimateResult(float(estimate), Interval(float(low), float(high), level, method), n_boot)


@dataclass(frozen=True)
class BinaryMetrics(AsDict):
    """Everything in one row of a Table 2: the confusion matrix and its metrics with intervals."""

    confusion: ConfusionMatrix
    sensitivity: ProportionResult
    specificity: ProportionResult
    ppv: ProportionResult
    npv: ProportionResult
    accuracy: ProportionResult
    f1: EstimateResult


def binary_metrics(
    y_true,
    y_pred=None,
    *,
    level: float = 0.95,
    method: MethodLike = _CP,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> BinaryMetrics:
    """Sensitivity, specificity, PPV, NPV, accuracy (``method`` intervals) and F1 (bootstrap interval).

    ``y_true`` may be 0/1 labels (with ``y_pred`` 0/1 predictions) or a :class:`ConfusionMatrix`.
    Warns once when every case is predicted positive (or negative), besides the per-metric warnings.
    """
    cm = _confusion(y_true, y_pred)
    _warn_uninformative_predictions(cm)
    return BinaryMetrics(
        confusion=cm,
        sensitivity=cm.sensitivity(level=level, method=method),
        specificity=cm.specificity(level=level, method=method),
        ppv=cm.ppv(level=level, method=method),
        npv=cm.npv(level=level, method=method),
        accuracy=cm.accuracy(level=level, method=method),
        f1=f1_score(cm, level=level, n_boot=n_boot, seed=seed),
    )
