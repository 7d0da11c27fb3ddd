"""ROC analysis: curve data, AUC with DeLong or bootstrap intervals, DeLong tests.

Conventions (the same as R's pROC with ``direction = "<"``):

* Labels are 0/1 (1 = condition present). A higher score means "more likely positive"; the direction
  is never flipped automatically, so an AUC below 0.5 is reported as such.
* A case is called positive at threshold ``t`` iff ``score >= t``. Curve thresholds are pROC's: the
  midpoints between consecutive distinct scores plus -inf (everything positive) and +inf (nothing).
  Tied scores move the curve diagonally, in one step.
* AUC is the Mann-Whitney estimate P(S_pos > S_neg) + 0.5 P(S_pos = S_neg).
* DeLong variance/covariance uses the structural components (placements) of DeLong et al. (1988),
  computed with midranks as in Sun & Xu (2014): O(k n log n) for k models on n cases, identical to
  pROC's ``var(roc, method="delong")``/``cov``. Intervals for one AUC are pROC's: normal, clipped to
  [0, 1]. Tests: paired (same cases) -> Z with normal p-value; unpaired (independent groups) -> pROC's
  ``D`` with a t reference distribution and Welch-Satterthwaite degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import stats as sps

from neocus.atomic import atomic_target
from neocus.errors import StatsInputError
from neocus.stats.checks import (
    as_alternative,
    as_binary_labels,
    as_score_matrix,
    as_scores,
    require_both_classes,
    same_length,
    warn_degenerate,
)
from neocus.stats.results import AucResult, ComparisonResult, Interval

AucCiMethod = Literal["delong", "bootstrap"]


def _labels_and_scores(
    y_true, scores, label_name: str = "labels", score_name: str = "scores", many: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Checked 0/1 labels and a (k, n) score matrix; ``many=False`` insists on one model's 1-D scores."""
    y = as_binary_labels(y_true, label_name)
    s = as_score_matrix(scores, score_name) if many else as_scores(scores, score_name)[np.newaxis, :]
    same_length(**{label_name: y, score_name: s[0]})
    require_both_classes(y, label_name)
    return y, s


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise StatsInputError(f"confidence level must be between 0 and 1 (exclusive), got {level}")
    return level


# --------------------------------------------------------------------------------------------- curve


@dataclass(frozen=True, eq=False)
class RocCurve:
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

    def to_dict(self) -> dict:
        def finite_or_none(values):
            return [float(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf") for v in values]

        return {
            "thresholds": finite_or_none(self.thresholds),
            "sensitivity": self.sensitivity.tolist(),
            "specificity": self.specificity.tolist(),
            "auc": self.auc,
            "n_pos": self.n_pos,
            "n_neg": self.n_neg,
        }


def roc_curve(y_true, scores) -> RocCurve:
    """ROC curve of one model, ties handled like pROC (one diagonal step per distinct score)."""
    y, s = _labels_and_scores(y_true, scores)
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


# ------------------------------------------------------------------------------------------- DeLong


@dataclass(frozen=True, eq=False)
class DelongResult:
    """AUCs of k models on the same cases and their DeLong covariance matrix (k x k).

    ``placements_pos`` (k x n_pos) and ``placements_neg`` (k x n_neg) are DeLong's structural
    components V10 and V01; ``covariance = cov(V10) / n_pos + cov(V01) / n_neg`` (ddof = 1). The
    covariance is NaN when a class has a single case.
    """

    aucs: np.ndarray
    covariance: np.ndarray
    placements_pos: np.ndarray = field(repr=False)
    placements_neg: np.ndarray = field(repr=False)
    n_pos: int
    n_neg: int

    @property
    def variances(self) -> np.ndarray:
        return np.diag(self.covariance).copy()

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.variances)

    def to_dict(self) -> dict:
        """AUCs and covariance as plain lists (NaN -> None); placements are left out."""
        def plain(a: np.ndarray):
            return np.where(np.isnan(a), None, a).tolist()

        return {"aucs": plain(self.aucs), "covariance": plain(self.covariance), "n_pos": self.n_pos, "n_neg": self.n_neg}


def _placements(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong placements of every case for k models at once (one sort per model, Sun & Xu 2014).

    For a positive case: V10 = P(negative score < its score) + 0.5 P(tie). For a negative case:
    V01 = P(positive score > its score) + 0.5 P(tie). Returned in case order, shape (k, n) each,
    with only the entries of the relevant class meaningful (the other class's entries are zero).
    """
    k, n_cases = s.shape
    order = np.argsort(s, axis=1)
    sorted_s = np.take_along_axis(s, order, axis=1)
    is_pos = (y == 1)[order]  # (k, n) labels in sorted order
    m = int(is_pos[0].sum())
    n = n_cases - m
    idx = np.broadcast_to(np.arange(n_cases), (k, n_cases))
    starts_run = np.ones((k, n_cases), dtype=bool)
    starts_run[:, 1:] = sorted_s[:, 1:] != sorted_s[:, :-1]
    ends_run = np.ones((k, n_cases), dtype=bool)
    ends_run[:, :-1] = starts_run[:, 1:]
    run_start = np.maximum.accumulate(np.where(starts_run, idx, 0), axis=1)
    run_stop = np.minimum.accumulate(np.where(ends_run, idx, n_cases - 1)[:, ::-1], axis=1)[:, ::-1] + 1
    zeros = np.zeros((k, 1))
    pos_prefix = np.hstack([zeros, np.cumsum(is_pos, axis=1)])  # positives before sorted position j
    neg_prefix = np.arange(n_cases + 1)[None, :] - pos_prefix
    rows = np.arange(k)[:, None]
    neg_below = neg_prefix[rows, run_start]
    neg_tied = neg_prefix[rows, run_stop] - neg_below
    pos_below_stop = pos_prefix[rows, run_stop]
    pos_tied = pos_below_stop - pos_prefix[rows, run_start]
    sorted_v10 = np.where(is_pos, (neg_below + 0.5 * neg_tied) / n, 0.0)
    sorted_v01 = np.where(is_pos, 0.0, (m - pos_below_stop + 0.5 * pos_tied) / m)
    v10 = np.empty((k, n_cases))
    v01 = np.empty((k, n_cases))
    np.put_along_axis(v10, order, sorted_v10, axis=1)
    np.put_along_axis(v01, order, sorted_v01, axis=1)
    return v10, v01


def _delong_from_arrays(y: np.ndarray, s: np.ndarray, warn: bool = True) -> DelongResult:
    pos = y == 1
    all_v10, all_v01 = _placements(y, s)
    v10, v01 = all_v10[:, pos], all_v01[:, ~pos]
    m, n = v10.shape[1], v01.shape[1]
    aucs = v10.mean(axis=1)
    k = s.shape[0]
    if m < 2 or n < 2:
        if warn:
            warn_degenerate(
                f"DeLong variance is undefined with {m} positive and {n} negative case(s); reported as NaN"
            )
        cov = np.full((k, k), np.nan)
    else:
        d10 = v10 - aucs[:, None]
        d01 = v01 - aucs[:, None]
        cov = (d10 @ d10.T) / ((m - 1) * m) + (d01 @ d01.T) / ((n - 1) * n)
    return DelongResult(aucs=aucs, covariance=cov, placements_pos=v10, placements_neg=v01, n_pos=m, n_neg=n)


def delong_covariance(y_true, scores) -> DelongResult:
    """Fast DeLong (Sun & Xu 2014): AUCs and their covariance for one model (1-D scores, n cases) or
    k models at once (2-D scores, k x n) evaluated on the same cases."""
    y, s = _labels_and_scores(y_true, scores, many=True)
    return _delong_from_arrays(y, s)


def auc_score(y_true, scores) -> float:
    """Mann-Whitney AUC of one model (ties count one half)."""
    y, s = _labels_and_scores(y_true, scores)
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


def bootstrap_auc_ci(
    y_true, scores, level: float = 0.95, n_boot: int = 2000, seed: int | None = 0
) -> tuple[Interval, np.ndarray]:
    """Percentile interval of the AUC from a stratified bootstrap (positives and negatives resampled
    separately, keeping their counts, like pROC's default ``boot.stratified = TRUE``).

    Returns the interval and the bootstrap AUCs (``n_boot`` of them). Each resample is reduced to
    counts per distinct score, from which the AUC follows in one pass; memory stays bounded by
    working in batches. ``seed`` makes the result reproducible.
    """
    level = _check_level(level)
    if n_boot < 1:
        raise StatsInputError(f"n_boot must be at least 1, got {n_boot}")
    y, s = _labels_and_scores(y_true, scores)
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
    return Interval(float(low), float(high), level, "percentile bootstrap (stratified)"), out


def roc_auc(
    y_true,
    scores,
    level: float = 0.95,
    ci_method: AucCiMethod = "delong",
    n_boot: int = 2000,
    seed: int | None = 0,
) -> AucResult:
    """AUC of one model with a DeLong (default; equals pROC's ``ci.auc``) or bootstrap interval.

    The DeLong interval is ``auc +/- z * se`` clipped to [0, 1]. With a single case in a class the
    standard error and DeLong interval are NaN (warned). Perfect separation gives se 0 and the
    zero-width interval [1, 1] (warned: the interval is not informative).
    """
    level = _check_level(level)
    if ci_method not in ("delong", "bootstrap"):
        raise StatsInputError(f"unknown AUC interval method {ci_method!r}; use 'delong' or 'bootstrap'")
    y, s = _labels_and_scores(y_true, scores)
    res = _delong_from_arrays(y, s)
    auc = float(res.aucs[0])
    se = float(res.se[0])
    if ci_method == "delong":
        if math.isnan(se):
            ci = Interval(math.nan, math.nan, level, "DeLong")
        else:
            if se == 0.0:
                warn_degenerate(f"DeLong standard error is 0 (AUC = {auc:g}): the interval has zero width")
            z = float(sps.norm.ppf(1 - (1 - level) / 2))
            ci = Interval(max(0.0, auc - z * se), min(1.0, auc + z * se), level, "DeLong")
    else:
        ci, _ = bootstrap_auc_ci(y, s[0], level=level, n_boot=n_boot, seed=seed)
    return AucResult(auc=auc, se=se, ci=ci, method=ci.method, n_pos=res.n_pos, n_neg=res.n_neg)


def _p_normal(z: float, alternative: str) -> float:
    if math.isnan(z):
        return math.nan
    if alternative == "two-sided":
        return float(2 * sps.norm.sf(abs(z)))
    return float(sps.norm.sf(z)) if alternative == "greater" else float(sps.norm.cdf(z))


def _p_t(t: float, df: float, alternative: str) -> float:
    if math.isnan(t) or math.isnan(df):
        return math.nan
    if alternative == "two-sided":
        return float(2 * sps.t.sf(abs(t), df))
    return float(sps.t.sf(t, df)) if alternative == "greater" else float(sps.t.cdf(t, df))


def _ratio(d: float, se: float) -> float:
    """d / se with pROC's convention: no difference and no variance -> 0 (not NaN)."""
    if se == 0.0:
        if d == 0.0:
            warn_degenerate("DeLong standard error of the difference is 0 and so is the difference: statistic set to 0")
            return 0.0
        warn_degenerate("DeLong standard error of the difference is 0 with a non-zero difference")
        return math.copysign(math.inf, d)
    return d / se


def delong_test_paired(
    y_true, scores_a, scores_b, alternative: str = "two-sided", level: float = 0.95
) -> ComparisonResult:
    """DeLong's test for two correlated ROC curves (two models scored on the same cases).

    Equals pROC's ``roc.test(roc1, roc2, method="delong", paired=TRUE)``: ``Z = (AUC_a - AUC_b) / se``
    with a normal p-value; ``alternative="greater"`` tests AUC_a > AUC_b. ``ci`` is pROC's interval of
    the difference ``d +/- z * se`` (not clipped).
    """
    alternative = as_alternative(alternative)
    level = _check_level(level)
    y = as_binary_labels(y_true)
    a = as_scores(scores_a, "scores_a")
    b = as_scores(scores_b, "scores_b")
    same_length(labels=y, scores_a=a, scores_b=b)
    require_both_classes(y)
    res = _delong_from_arrays(y, np.vstack([a, b]))
    d = float(res.aucs[0] - res.aucs[1])
    contrast = np.array([1.0, -1.0])
    se = float(np.sqrt(max(0.0, contrast @ res.covariance @ contrast))) if not np.isnan(res.covariance).any() else math.nan
    z = math.nan if math.isnan(se) else _ratio(d, se)
    crit = float(sps.norm.ppf(1 - (1 - level) / 2))
    ci = Interval(d - crit * se, d + crit * se, level, "DeLong")
    return ComparisonResult(
        statistic=z,
        p_value=_p_normal(z, alternative),
        method="DeLong's test for two correlated ROC curves",
        alternative=alternative,
        difference=d,
        se=se,
        ci=ci,
        statistic_name="Z",
        estimates=(float(res.aucs[0]), float(res.aucs[1])),
    )


def delong_test_unpaired(
    y_a, scores_a, y_b, scores_b, alternative: str = "two-sided", level: float = 0.95
) -> ComparisonResult:
    """DeLong's test for two ROC curves on independent groups of cases (e.g. two centres).

    Equals pROC's ``roc.test(roc1, roc2, method="delong", paired=FALSE)``: statistic ``D = (AUC_a -
    AUC_b) / sqrt(V_a + V_b)`` with a t reference distribution and
    ``df = (V_a + V_b)^2 / (V_a^2 / (N_a - 1) + V_b^2 / (N_b - 1))``. ``ci`` (not given by pROC) is
    ``d +/- t_df * se``, consistent with the test.
    """
    alternative = as_alternative(alternative)
    level = _check_level(level)
    ya, sa = _labels_and_scores(y_a, scores_a, "labels_a", "scores_a")
    yb, sb = _labels_and_scores(y_b, scores_b, "labels_b", "scores_b")
    ra = _delong_from_arrays(ya, sa)
    rb = _delong_from_arrays(yb, sb)
    va, vb = float(ra.covariance[0, 0]), float(rb.covariance[0, 0])
    d = float(ra.aucs[0] - rb.aucs[0])
    se = math.sqrt(va + vb) if not (math.isnan(va) or math.isnan(vb)) else math.nan
    if math.isnan(se):
        stat, df = math.nan, math.nan
    else:
        stat = _ratio(d, se)
        denom = va**2 / (len(ya) - 1) + vb**2 / (len(yb) - 1)
        df = (va + vb) ** 2 / denom if denom > 0 else math.nan
    if math.isnan(df) or math.isnan(se):
        ci = Interval(math.nan, math.nan, level, "DeLong (t)")
    else:
        crit = float(sps.t.ppf(1 - (1 - level) / 2, df))
        ci = Interval(d - crit * se, d + crit * se, level, "DeLong (t)")
    if math.isnan(df) and (stat == 0.0 or math.isinf(stat)):
        p = _p_normal(stat, alternative)  # zero variance: the limit does not depend on df
    else:
        p = _p_t(stat, df, alternative)
    return ComparisonResult(
        statistic=stat,
        p_value=p,
        method="DeLong's test for two ROC curves",
        alternative=alternative,
        difference=d,
        se=se,
        ci=ci,
        statistic_name="D",
        df=df,
        estimates=(float(ra.aucs[0]), float(rb.aucs[0])),
    )


def delong_test_equal_aucs(y_true, scores) -> ComparisonResult:
    """Test that k >= 2 correlated models (k x n scores on the same cases) share one AUC.

    DeLong et al. (1988): chi-square = (L theta)' (L S L')^-1 (L theta) with the contrasts
    L = [I | -1] (each model against the last) and df = rank(L S L'). With k = 2 the statistic is the
    square of the paired Z.
    """
    y, s = _labels_and_scores(y_true, scores, many=True)
    k = s.shape[0]
    if k < 2:
        raise StatsInputError(f"comparing AUCs needs at least 2 models, got {k}")
    res = _delong_from_arrays(y, s)
    contrasts = np.hstack([np.eye(k - 1), -np.ones((k - 1, 1))])
    diff = contrasts @ res.aucs
    cov = contrasts @ res.covariance @ contrasts.T
    if np.isnan(cov).any():
        stat, df = math.nan, math.nan
    else:
        df = float(np.linalg.matrix_rank(cov))
        if df == 0:
            stat = 0.0 if np.allclose(diff, 0) else math.inf
            df = float(k - 1)
            warn_degenerate("DeLong covariance of the AUC differences is 0")
        else:
            stat = float(diff @ np.linalg.pinv(cov) @ diff)
    p = float(sps.chi2.sf(stat, df)) if not math.isnan(stat) else math.nan
    return ComparisonResult(
        statistic=stat,
        p_value=p,
        method=f"DeLong's test for equality of {k} correlated AUCs",
        alternative="two-sided",
        statistic_name="chi2",
        df=df,
        estimates=tuple(float(a) for a in res.aucs),
    )


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

