"""DeLong's method: AUC covariance of one or several models on the same cases, and the DeLong tests.

The DeLong variance/covariance uses the structural components (placements) of DeLong et al. (1988),
computed with midranks as in Sun & Xu (2014): O(k n log n) for k models on n cases, identical to
pROC's ``var(roc, method="delong")``/``cov``. Tests: paired (same cases) -> Z with normal p-value;
unpaired (independent groups) -> pROC's ``D`` with a t reference distribution and Welch-Satterthwaite
degrees of freedom. Labels, scores and ties follow :mod:`neocus.stats.roc`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from neocus.errors import StatsInputError
from neocus.stats.checks import (
    Alternative,
    as_alternative,
    as_binary_labels,
    as_scores,
    check_level,
    labels_and_scores,
    require_both_classes,
    same_length,
    warn_degenerate,
)
from neocus.stats.results import AsDict, AucComparisonResult, ComparisonResult, Interval


@dataclass(frozen=True, eq=False)
class DelongResult(AsDict):
    """AUCs of k models on the same cases and their DeLong covariance matrix (k x k).

    ``placements_pos`` (k x n_pos) and ``placements_neg`` (k x n_neg) are DeLong's structural
    components V10 and V01; ``covariance = cov(V10) / n_pos + cov(V01) / n_neg`` (ddof = 1). The
    covariance is NaN when a class has a single case.
    """

    aucs: np.ndarray
    covariance: np.ndarray
    n_pos: int
    n_neg: int
    placements_pos: np.ndarray = field(repr=False, metadata={"to_dict": False})
    placements_neg: np.ndarray = field(repr=False, metadata={"to_dict": False})

    @property
    def variances(self) -> np.ndarray:
        return np.diag(self.covariance).copy()

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.variances)


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


def delong_covariance(y_true, y_score) -> DelongResult:
    """Fast DeLong (Sun & Xu 2014): AUCs and their covariance for one model (1-D scores, n cases) or
    k models at once (2-D scores, k x n) evaluated on the same cases."""
    y, s = labels_and_scores(y_true, y_score, many=True)
    return _delong_from_arrays(y, s)


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
    y_true, y_score, y_score_b, *, alternative: Alternative | str = "two-sided", level: float = 0.95
) -> AucComparisonResult:
    """DeLong's test for two correlated ROC curves (two models scored on the same cases).

    Equals pROC's ``roc.test(roc1, roc2, method="delong", paired=TRUE)``: ``Z = (AUC_a - AUC_b) / se``
    with a normal p-value; ``alternative="greater"`` tests AUC_a > AUC_b (``y_score`` is model a,
    ``y_score_b`` model b). ``ci`` is pROC's interval of the difference ``d +/- z * se`` (not clipped).
    """
    alternative = as_alternative(alternative)
    level = check_level(level)
    y = as_binary_labels(y_true, name="y_true")
    a = as_scores(y_score, name="y_score")
    b = as_scores(y_score_b, name="y_score_b")
    same_length(y_true=y, y_score=a, y_score_b=b)
    require_both_classes(y, name="y_true")
    res = _delong_from_arrays(y, np.vstack([a, b]))
    d = float(res.aucs[0] - res.aucs[1])
    contrast = np.array([1.0, -1.0])
    se = float(np.sqrt(max(0.0, contrast @ res.covariance @ contrast))) if not np.isnan(res.covariance).any() else math.nan
    z = math.nan if math.isnan(se) else _ratio(d, se)
    crit = float(sps.norm.ppf(1 - (1 - level) / 2))
    ci = Interval(d - crit * se, d + crit * se, level, "DeLong")
    return _two_aucs(
        float(res.aucs[0]), float(res.aucs[1]), statistic=z, p_value=_p_normal(z, alternative),
        method="DeLong's test for two correlated ROC curves", alternative=alternative, se=se, ci=ci, statistic_name="Z",
    )


def delong_test_unpaired(
    y_true, y_score, y_true_b, y_score_b, *, alternative: Alternative | str = "two-sided", level: float = 0.95
) -> AucComparisonResult:
    """DeLong's test for two ROC curves on independent groups of cases (e.g. two centres).

    Equals pROC's ``roc.test(roc1, roc2, method="delong", paired=FALSE)``: statistic ``D = (AUC_a -
    AUC_b) / sqrt(V_a + V_b)`` with a t reference distribution and
    ``df = (V_a + V_b)^2 / (V_a^2 / (N_a - 1) + V_b^2 / (N_b - 1))``. ``ci`` (not given by pROC) is
    ``d +/- t_df * se``, consistent with the test.
    """
    alternative = as_alternative(alternative)
    level = check_level(level)
    ya, sa = labels_and_scores(y_true, y_score, label_name="y_true", score_name="y_score")
    yb, sb = labels_and_scores(y_true_b, y_score_b, label_name="y_true_b", score_name="y_score_b")
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
    return _two_aucs(
        float(ra.aucs[0]), float(rb.aucs[0]), statistic=stat, p_value=p, method="DeLong's test for two ROC curves",
        alternative=alternative, se=se, ci=ci, statistic_name="D", df=df,
    )


def _two_aucs(auc: float, auc_b: float, **test) -> AucComparisonResult:
    """A DeLong test's result naming both AUCs; ``difference = auc - auc_b``."""
    return AucComparisonResult(difference=auc - auc_b, estimates=(auc, auc_b), auc=auc, auc_b=auc_b, **test)


def delong_test_equal_aucs(y_true, y_score) -> ComparisonResult:
    """Test that k >= 2 correlated models (k x n scores on the same cases) share one AUC.

    DeLong et al. (1988): chi-square = (L theta)' (L S L')^-1 (L theta) with the contrasts
    L = [I | -1] (each model against the last) and df = rank(L S L'). With k = 2 the statistic is the
    square of the paired Z.
    """
    y, s = labels_and_scores(y_true, y_score, many=True)
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
        alternative=Alternative.TWO_SIDED,
        statistic_name="chi2",
        df=df,
        estimates=tuple(float(a) for a in res.aucs),
    )
