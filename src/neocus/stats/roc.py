"""ROC analysis: curve data, AUC with DeLong or bootstrap intervals, the ROC plot.

Conventions (the same as R's pROC with ``direction = "<"``):

* Labels are 0/1 (1 = condition present). A higher score means "more likely positive"; the direction
  is never flipped automatically, so an AUC below 0.5 is reported as such.
* A case is called positive at threshold ``t`` iff ``score >= t``. Curve thresholds are pROC's: the
  midpoints between consecutive distinct scores plus -inf (everything positive) and +inf (nothing).
  Tied scores move the curve diagonally, in one step.
* AUC is the Mann-Whitney estimate P(S_pos > S_neg) + 0.5 P(S_pos = S_neg).
* Intervals for one AUC are pROC's: DeLong (:mod:`neocus.stats.delong`), normal, clipped to [0, 1];
  or a stratified percentile bootstrap. The DeLong tests live in :mod:`neocus.stats.delong`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
from scipy import stats as sps

from neocus.atomic import atomic_target
from neocus.errors import StatsInputError, parse_choice
from neocus.stats.checks import check_level, labels_and_scores, warn_degenerate
from neocus.stats.delong import (  # noqa: F401  (re-exported: these lived here before the split)
    DelongResult,
    _delong_from_arrays,
    delong_covariance,
    delong_test_equal_aucs,
    delong_test_paired,
    delong_test_unpaired,
)
from neocus.stats.results import AsDict, AucResult, Interval


class CiMethod(StrEnum):
    """How :func:`roc_auc` makes the interval of one AUC."""

    DELONG = "delong"
    BOOTSTRAP = "bootstrap"


AucCiMethod = CiMethod  # the earlier name (a Literal of the same strings)

# --------------------------------------------------------------------------------------------- curve


@dataclass(frozen=True, eq=False)
class RocCurve(AsDict):
    """ROC curve points, ordered from the strictest threshold (+inf, nothing positive) to -inf.

    ``thresholds[i]`` gives ``sensitivity[i]`` and ``specificity[i]`` when ``score >= threshold`` is
    called positive; ``fpr = 1 - specificity`` rises from 0 to 1 along the arrays.
    """

    thresholds: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    auc: float
    n_pos: int
    n_neg: int

    @property
    def fpr(self) -> np.ndarray:
        return 1.0 - self.specificity

    @property
    def tpr(self) -> np.ndarray:
        return self.sensitivity


def roc_curve(y_true, y_score) -> RocCurve:
    """ROC curve of one model, ties handled like pROC (one diagonal step per distinct score).

    ``to_dict()`` gives the thresholds with -inf / +inf as ``None`` (the first and last entries)."""
    y, s = labels_and_scores(y_true, y_score)
    s = s[0]
    distinct = np.unique(s)  # ascending
    # Threshold j (0..G) lies below distinct[j]: positives are scores >= distinct[j]; j = G: none.
    # Counting by index keeps ties exact even where a float midpoint would round onto a score.
    group = np.searchsorted(distinct, s)
    n_groups = len(distinct)
    pos_per_group = np.bincount(group[y == 1], minlength=n_groups)
    neg_per_group = np.bincount(group[y == 0], minlength=n_groups)
    n_pos, n_neg = int(pos_per_group.sum()), int(neg_per_group.sum())
    # cases at or above distinct[j], for j = 0..G
    tp = np.concatenate([np.cumsum(pos_per_group[::-1])[::-1], [0]])
    fp = np.concatenate([np.cumsum(neg_per_group[::-1])[::-1], [0]])
    thresholds = _midpoint_thresholds(distinct)
    sens = tp / n_pos
    spec = 1.0 - fp / n_neg
    return RocCurve(
        thresholds=thresholds[::-1].copy(),
        sensitivity=sens[::-1].copy(),
        specificity=spec[::-1].copy(),
        auc=float(_auc_from_groups(pos_per_group, neg_per_group)),
        n_pos=n_pos,
        n_neg=n_neg,
    )


def _midpoint_thresholds(distinct: np.ndarray) -> np.ndarray:
    """-inf, midpoints between consecutive distinct scores (ascending), +inf -- as pROC chooses them.

    Each threshold t_j must satisfy lower < t_j <= upper so that ``score >= t_j`` selects exactly the
    scores from ``upper`` up. Near-equal scores can make the float midpoint round onto ``lower``; then
    ``upper`` itself is used. Huge magnitudes are halved before adding, to avoid overflow.
    """
    lower = np.concatenate([[-np.inf], distinct])
    upper = np.concatenate([distinct, [np.inf]])
    with np.errstate(over="ignore", invalid="ignore"):
        mid = (lower + upper) / 2
        mid = np.where(np.abs(mid) > 1e100, lower / 2 + upper / 2, mid)
    return np.where((mid <= lower) & np.isfinite(lower), upper, mid)


def _auc_from_groups(pos_per_group: np.ndarray, neg_per_group: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC from per-distinct-score counts (last axis = groups in ascending score order)."""
    neg_below = np.cumsum(neg_per_group, axis=-1) - neg_per_group
    wins = np.sum(pos_per_group * (neg_below + 0.5 * neg_per_group), axis=-1)
    return wins / (pos_per_group.sum(axis=-1) * neg_per_group.sum(axis=-1))


def auc_score(y_true, y_score) -> float:
    """Mann-Whitney AUC of one model (ties count one half); one number, like scikit-learn's
    ``roc_auc_score`` (:func:`roc_auc` gives the AUC with its variance and interval)."""
    y, s = labels_and_scores(y_true, y_score)
    distinct, group = np.unique(s[0], return_inverse=True)
    pos = np.bincount(group[y == 1], minlength=len(distinct))
    neg = np.bincount(group[y == 0], minlength=len(distinct))
    return float(_auc_from_groups(pos, neg))


def _resample_group_counts(rng: np.random.Generator, groups: np.ndarray, n_groups: int, size: int) -> np.ndarray:
    """Counts per distinct score after resampling one class's cases with replacement, ``size`` times.

    ``groups`` holds the distinct-score index of each case of the class. With few distinct scores a
    multinomial draw over them is cheapest (O(size x groups)); otherwise cases are drawn by index
    and counted (O(size x cases)). Both give exactly the distribution of case resampling.
    """
    k = groups.size
    if n_groups * 8 < k:
        counts = np.bincount(groups, minlength=n_groups)
        return rng.multinomial(k, counts / k, size=size)
    picked = groups[rng.integers(0, k, size=(size, k))]
    picked += (np.arange(size) * n_groups)[:, None]
    return np.bincount(picked.ravel(), minlength=size * n_groups).reshape(size, n_groups)


@dataclass(frozen=True, eq=False)
class AucBootstrap(AsDict):
    """The AUC, its percentile-bootstrap interval and the ``n_boot`` bootstrap AUCs (``samples``)."""

    auc: float
    ci: Interval
    samples: np.ndarray = field(repr=False)


def bootstrap_auc_ci(
    y_true, y_score, *, level: float = 0.95, n_boot: int = 2000, seed: int | None = 0
) -> AucBootstrap:
    """Percentile interval of the AUC from a stratified bootstrap (positives and negatives resampled
    separately, keeping their counts, like pROC's default ``boot.stratified = TRUE``).

    Returns the AUC, the interval and the bootstrap AUCs (``n_boot`` of them). Each resample is reduced to
    counts per distinct score, from which the AUC follows in one pass; memory stays bounded by
    working in batches. ``seed`` makes the result reproducible.
    """
    level = check_level(level)
    if n_boot < 1:
        raise StatsInputError(f"n_boot must be at least 1, got {n_boot}")
    y, s = labels_and_scores(y_true, y_score)
    distinct, group = np.unique(s[0], return_inverse=True)
    n_groups = len(distinct)
    pos_groups, neg_groups = group[y == 1], group[y == 0]
    rng = np.random.default_rng(seed)
    batch = max(1, min(n_boot, 4_000_000 // max(n_groups, y.size)))
    out = np.empty(n_boot)
    for start in range(0, n_boot, batch):
        b = min(batch, n_boot - start)
        pos_b = _resample_group_counts(rng, pos_groups, n_groups, b)
        neg_b = _resample_group_counts(rng, neg_groups, n_groups, b)
        out[start : start + b] = _auc_from_groups(pos_b, neg_b)
    alpha = 1.0 - level
    low, high = np.quantile(out, [alpha / 2, 1 - alpha / 2])
    pos_all = np.bincount(pos_groups, minlength=n_groups)
    neg_all = np.bincount(neg_groups, minlength=n_groups)
    ci = Interval(float(low), float(high), level, "percentile bootstrap (stratified)")
    return AucBootstrap(auc=float(_auc_from_groups(pos_all, neg_all)), ci=ci, samples=out)


def roc_auc(
    y_true,
    y_score,
    *,
    level: float = 0.95,
    method: CiMethod | str = CiMethod.DELONG,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> AucResult:
    """AUC of one model with a DeLong (default; equals pROC's ``ci.auc``) or bootstrap interval.

    The DeLong interval is ``auc +/- z * se`` clipped to [0, 1]. With a single case in a class the
    standard error and DeLong interval are NaN (warned). Perfect separation gives se 0 and the
    zero-width interval [1, 1] (warned: the interval is not informative).
    """
    level = check_level(level)
    method = parse_choice(CiMethod, method, what="AUC interval method", error=StatsInputError)
    y, s = labels_and_scores(y_true, y_score)
    res = _delong_from_arrays(y, s)
    auc = float(res.aucs[0])
    se = float(res.se[0])
    if method is CiMethod.DELONG:
        if math.isnan(se):
            ci = Interval(math.nan, math.nan, level, "DeLong")
        else:
            if se == 0.0:
                warn_degenerate(f"DeLong standard error is 0 (AUC = {auc:g}): the interval has zero width")
            z = float(sps.norm.ppf(1 - (1 - level) / 2))
            ci = Interval(max(0.0, auc - z * se), min(1.0, auc + z * se), level, "DeLong")
    else:
        ci = bootstrap_auc_ci(y, s[0], level=level, n_boot=n_boot, seed=seed).ci
    variance = float(res.variances[0])
    return AucResult(auc=auc, se=se, ci=ci, method=ci.method, n_pos=res.n_pos, n_neg=res.n_neg, variance=variance)


# --------------------------------------------------------------------------------------------- plot


def plot_roc(
    curves: RocCurve | Mapping[str, RocCurve],
    path: str | Path | None = None,
    *,
    points: Mapping[str, tuple[float, float]] | None = None,
    aucs: Mapping[str, AucResult] | None = None,
    title: str | None = None,
    ax=None,
):
    """Draw ROC curves (x = 1 - specificity, y = sensitivity) and optional operating points.

    ``curves``: one curve or ``{label: curve}``. ``points``: ``{label: (specificity, sensitivity)}``
    marked as dots (e.g. readers, or a chosen threshold). ``aucs``: ``{label: AucResult}`` to print the
    AUC with its interval in the legend (otherwise the curve's AUC alone). Returns the matplotlib
    Figure; with ``path`` also saves it (PNG/SVG/PDF by suffix) atomically.
    """
    from matplotlib.figure import Figure

    if isinstance(curves, RocCurve):
        curves = {"model": curves}
    if ax is None:
        fig = Figure(figsize=(5, 5), dpi=150)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.6", linewidth=0.8)
    for label, curve in curves.items():
        res = (aucs or {}).get(label)
        text = f"{label} (AUC {res.auc:.3f}, {res.ci})" if res is not None else f"{label} (AUC {curve.auc:.3f})"
        # straight segments between thresholds: tied scores make the diagonal step pROC draws
        ax.plot(curve.fpr, curve.sensitivity, linewidth=1.5, label=text)
    for label, (spec, sens) in (points or {}).items():
        ax.plot([1 - spec], [sens], marker="o", linestyle="none", label=label)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("Sensitivity")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    if path is not None:
        path = Path(path)
        with atomic_target(path, make_parents=True) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", bbox_inches="tight")
    return fig

