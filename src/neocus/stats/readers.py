"""Reader studies: radiologists' calls against the reference standard, with and without AI.

Conventions
-----------
* A *call* is a reader's judgement of one case: binary (0 = non-severe, 1 = severe) or ordinal
  confidence (e.g. 1-5, higher = more likely severe). A call counts as positive when
  ``call >= positive_from``; by default ``positive_from`` is 1 for binary calls and 4 for a 1-5 scale
  ("probably severe" or "definitely severe").
* A reader's AUC is the empirical AUC of the calls (the trapezoidal ROC of the ordinal scale, i.e.
  the Mann-Whitney estimate with ties counted 1/2); for binary calls it equals
  (sensitivity + specificity) / 2.
* Group summaries give the mean of each reader's metric (as the NCLS paper's Table 2) together with
  the pooled-reads proportion and its Clopper-Pearson interval, and the mean AUC with a Student-t
  interval over readers.
* Tests return :class:`~neocus.stats.results.ComparisonResult`; ``difference`` is first minus second.
  ``alternative="greater"`` means first > second (e.g. AUC with AI > without AI); every test defaults
  to ``"two-sided"``, so a one-sided question (the NCLS paper's) is asked explicitly.
* Blinding indices take a 3 x 2 table of counts: rows = the guess (arm 1, arm 2, don't know), columns =
  the actual arm (arm 1, arm 2), as in the R package BI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from neocus.errors import StatsInputError
from neocus.stats.checks import (
    Alternative,
    as_alternative,
    as_binary_labels,
    as_scores,
    require_both_classes,
    same_length,
    warn_degenerate,
)
from neocus.stats.proportions import BinaryMetrics, ConfusionMatrix, binary_metrics
from neocus.stats.results import (
    AsDict,
    AucResult,
    ComparisonResult,
    EstimateResult,
    Interval,
)
from neocus.stats.roc import roc_auc

METRIC_NAMES: tuple[str, ...] = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "f1", "auc")


# --------------------------------------------------------------------------------------------------
# calls -> metrics
# --------------------------------------------------------------------------------------------------


def default_positive_from(calls: np.ndarray) -> float:
    """1 for binary (0/1) calls, 4 for an ordinal 1-5 scale; anything else must be given explicitly."""
    values = set(np.unique(calls).tolist())
    if values <= {0.0, 1.0}:
        return 1.0
    if values <= {1.0, 2.0, 3.0, 4.0, 5.0}:
        return 4.0
    raise StatsInputError(
        f"calls are neither 0/1 nor a 1-5 scale (values {sorted(values)[:6]}); pass positive_from explicitly"
    )


def binarize_calls(calls, *, positive_from: float | None = None) -> np.ndarray:
    """0/1 calls: 1 where ``call >= positive_from`` (see module docstring for the default)."""
    c = as_scores(calls, name="calls")
    cut = default_positive_from(c) if positive_from is None else float(positive_from)
    return (c >= cut).astype(np.int8)


@dataclass(frozen=True)
class ReaderResult(AsDict):
    """One reader in one condition (with or without AI): binary metrics from the calls and the AUC."""

    reader_id: str
    group: str
    with_ai: bool
    n_cases: int
    metrics: BinaryMetrics
    auc: AucResult
    mean_time_s: float = math.nan

    def value(self, metric: str) -> float:
        """Point estimate of ``metric`` (one of :data:`METRIC_NAMES`)."""
        if metric == "auc":
            return self.auc.auc
        return getattr(self.metrics, metric).estimate


def reader_result(
    y_true,
    calls,
    *,
    reader_id: str = "reader",
    group: str = "",
    with_ai: bool = False,
    positive_from: float | None = None,
    times_s=None,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int | None = 0,
) -> ReaderResult:
    """Metrics of one reader: sensitivity... F1 from the binarised calls, AUC (DeLong CI) from the calls."""
    y = as_binary_labels(y_true, name="y_true")
    c = as_scores(calls, name="calls")
    same_length(y_true=y, calls=c)
    require_both_classes(y, name=f"labels of the cases read by {reader_id}")
    metrics = binary_metrics(y, binarize_calls(c, positive_from=positive_from), level=level, n_boot=n_boot, seed=seed)
    auc = roc_auc(y, c, level=level)
    mean_time = math.nan
    if times_s is not None:
        t = np.asarray(times_s, dtype=np.float64)
        t = t[np.isfinite(t)]
        mean_time = float(t.mean()) if t.size else math.nan
    return ReaderResult(str(reader_id), str(group), bool(with_ai), int(y.size), metrics, auc, mean_time)


# --------------------------------------------------------------------------------------------------
# over readers
# --------------------------------------------------------------------------------------------------


def mean_over_readers(values, *, level: float = 0.95) -> EstimateResult:
    """Mean of per-reader values with a Student-t interval over readers (NaN values are skipped).

    One reader gives the value itself with an undefined (NaN) interval and a warning.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    method = "Student t over readers"
    if v.size == 0:
        warn_degenerate("no reader has a defined value; mean is NaN")
        return EstimateResult(math.nan, Interval(math.nan, math.nan, level, method))
    mean = float(v.mean())
    if v.size == 1:
        warn_degenerate("a single reader: the interval over readers is undefined (NaN)")
        return EstimateResult(mean, Interval(math.nan, math.nan, level, method))
    half = float(stats.t.ppf(0.5 + level / 2.0, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return EstimateResult(mean, Interval(mean - half, mean + half, level, method))


@dataclass(frozen=True)
class ReaderGroupSummary(AsDict):
    """Readers of one group in one condition.

    ``mean`` maps each metric of :data:`METRIC_NAMES` to its mean over readers with a t interval;
    ``pooled`` holds the metrics of all reads pooled (intervals: Clopper-Pearson, as in the NCLS
    paper's Table 2 for the radiologist groups).
    """

    group: str
    with_ai: bool
    n_readers: int
    reader_ids: tuple[str, ...]
    mean: dict[str, EstimateResult]
    pooled: BinaryMetrics


def summarize_readers(
    results: Sequence[ReaderResult], *, level: float = 0.95, n_boot: int = 2000, seed: int | None = 0
) -> ReaderGroupSummary:
    """Mean over readers and pooled reads of a group of :class:`ReaderResult` (same group and condition)."""
    if not results:
        raise StatsInputError("no readers to summarise")
    keys = {(r.group, r.with_ai) for r in results}
    if len(keys) > 1:
        raise StatsInputError(f"summarize_readers needs one group and condition, got {sorted(keys)}")
    group, with_ai = keys.pop()
    mean = {m: mean_over_readers([r.value(m) for r in results], level=level) for m in METRIC_NAMES}
    cms = [r.metrics.confusion for r in results]
    pooled_cm = ConfusionMatrix(
        tp=sum(c.tp for c in cms), fp=sum(c.fp for c in cms), fn=sum(c.fn for c in cms), tn=sum(c.tn for c in cms)
    )
    pooled = binary_metrics(pooled_cm, level=level, n_boot=n_boot, seed=seed)
    return ReaderGroupSummary(group, with_ai, len(results), tuple(r.reader_id for r in results), mean, pooled)


# --------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------


def wilcoxon_signed_rank(first, second=None, *, alternative: Alternative | str = "two-sided") -> ComparisonResult:
    """Paired Wilcoxon signed-rank test of ``first - second`` (or of ``first`` alone against 0).

    Zero differences are dropped (Wilcoxon's convention); the p-value is exact for fewer than 50
    non-zero differences without ties (scipy's ``method="auto"``). ``difference`` is the mean
    difference. When every difference is zero the test has no information: statistic 0, p = 1 and a
    warning. When so few differences are non-zero that p < 0.05 is unattainable (fewer than 5 one-sided,
    6 two-sided) a warning says so.
    """
    alt = as_alternative(alternative)
    a = as_scores(first, name="first")
    d = a.copy()
    estimates: tuple[float, ...] = (float(a.mean()),)
    if second is not None:
        b = as_scores(second, name="second")
        same_length(first=a, second=b)
        d = a - b
        estimates = (float(a.mean()), float(b.mean()))
    nonzero = int(np.count_nonzero(d))
    method = "Wilcoxon signed-rank (paired)"
    if nonzero == 0:
        warn_degenerate("Wilcoxon signed-rank: every difference is zero; reported as statistic 0, p = 1")
        return ComparisonResult(0.0, 1.0, method, alt, 0.0, statistic_name="W", estimates=estimates)
    smallest = (2.0 if alt == "two-sided" else 1.0) / 2.0**nonzero
    if smallest > 0.05:
        warn_degenerate(
            f"Wilcoxon signed-rank on {nonzero} non-zero differences: the smallest attainable {alt} p-value is "
            f"{smallest:.4g}, so p < 0.05 is impossible"
        )
    res = stats.wilcoxon(d, alternative=alt, zero_method="wilcox")
    return ComparisonResult(
        float(res.statistic), float(res.pvalue), method, alt, float(d.mean()), statistic_name="W", estimates=estimates
    )


def delta_auc_test(auc_with, auc_without, *, alternative: Alternative | str = "two-sided") -> ComparisonResult:
    """Reader-level ΔAUC (with AI minus without AI, same readers in the same order), Wilcoxon signed-rank
    (the NCLS paper asks one-sided: ``alternative="greater"``)."""
    return wilcoxon_signed_rank(auc_with, auc_without, alternative=alternative)


def ai_vs_readers_test(ai_auc: float, reader_aucs, *, alternative: Alternative | str = "two-sided") -> ComparisonResult:
    """AI's AUC against each reader's: Wilcoxon signed-rank on ``ai_auc - reader_auc`` over readers
    (the NCLS paper asks one-sided: ``alternative="greater"``)."""
    r = as_scores(reader_aucs, name="reader_aucs")
    return wilcoxon_signed_rank(np.full(r.size, float(ai_auc)), r, alternative=alternative)


def welch_t_test(first, second, *, alternative: Alternative | str = "two-sided") -> ComparisonResult:
    """Welch's unequal-variance t test of mean(first) vs mean(second) (e.g. reading times in seconds).

    ``alternative="less"`` tests first < second (e.g. reading with AI is faster).
    """
    alt = as_alternative(alternative)
    a, b = as_scores(first, name="first"), as_scores(second, name="second")
    if a.size < 2 or b.size < 2:
        raise StatsInputError(f"Welch's t test needs at least 2 values per group, got {a.size} and {b.size}")
    method = "Welch t test"
    if a.var(ddof=1) == 0 and b.var(ddof=1) == 0:
        warn_degenerate("Welch t test: both groups have zero variance; the test is undefined (NaN)")
        return ComparisonResult(math.nan, math.nan, method, alt, float(a.mean() - b.mean()), statistic_name="t",
                                estimates=(float(a.mean()), float(b.mean())))
    res = stats.ttest_ind(a, b, equal_var=False, alternative=alt)
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return ComparisonResult(
        float(res.statistic), float(res.pvalue), method, alt, float(a.mean() - b.mean()), se,
        statistic_name="t", df=float(res.df), estimates=(float(a.mean()), float(b.mean())),
    )


def chi_square_test(table) -> ComparisonResult:
    """Pearson chi-square test of independence on an r x c table of counts (no continuity correction).

    Rows or columns that are entirely zero carry no information and are dropped; when fewer than two
    rows or columns remain the test is degenerate: statistic 0, p = 1, df 0 and a warning.
    """
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or min(t.shape) < 2:
        raise StatsInputError(f"chi-square test needs an r x c table with r, c >= 2, got shape {t.shape}")
    if not np.isfinite(t).all() or (t < 0).any():
        raise StatsInputError("chi-square table must hold non-negative finite counts")
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    method = "Pearson chi-square"
    if min(t.shape) < 2:
        warn_degenerate("chi-square test: all counts fall in one row or column; reported as statistic 0, p = 1")
        return ComparisonResult(0.0, 1.0, method, "two-sided", statistic_name="chi2", df=0.0)
    chi2, p, dof, expected = stats.chi2_contingency(t, correction=False)
    if (expected < 5).any():
        warn_degenerate("chi-square test: some expected counts are below 5; the p-value is approximate")
    return ComparisonResult(float(chi2), float(p), method, "two-sided", statistic_name="chi2", df=float(dof))


def compare_rates(count_a: int, total_a: int, count_b: int, total_b: int) -> ComparisonResult:
    """Two proportions (e.g. correction rates with / without AI) by the two-sided Pearson chi-square test.

    ``difference`` is rate_a - rate_b; ``estimates`` are the two rates.
    """
    for c, n, nm in ((count_a, total_a, "a"), (count_b, total_b, "b")):
        if int(c) != c or int(n) != n or not 0 <= c <= n or n == 0:
            raise StatsInputError(f"rate {nm} must be count/total with 0 <= count <= total and total > 0, got {c}/{n}")
    res = chi_square_test([[count_a, total_a - count_a], [count_b, total_b - count_b]])
    ra, rb = count_a / total_a, count_b / total_b
    return ComparisonResult(res.statistic, res.p_value, res.method, res.alternative, ra - rb,
                            statistic_name=res.statistic_name, df=res.df, estimates=(ra, rb))


# --------------------------------------------------------------------------------------------------
# blinding
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlindingIndexResult(AsDict):
    """A blinding index with its standard error, interval and z test.

    Bang's index (per arm) is in [-1, 1]: 0 = random guessing, 1 = every guess correct, -1 = every guess
    wrong; ``p_value`` tests H0: BI = 0 (``alternative``). James' index (overall) is in [0, 1]:
    1 = complete blinding (all "don't know"), 0.5 = random guessing, 0 = complete unblinding;
    ``p_value`` tests H0: BI = 0.5 and unblinding is claimed when the interval lies below 0.5.
    ``boot_ci`` is a percentile-bootstrap interval (multinomial resampling) when requested.
    """

    index: str
    arm: str
    estimate: float
    se: float
    ci: Interval
    z: float
    p_value: float
    alternative: str
    n: int
    boot_ci: Interval | None = None

    def __str__(self) -> str:
        return f"{self.index} BI ({self.arm}) {self.estimate:.3f} ({self.ci})"


def _blinding_table(table) -> np.ndarray:
    t = np.asarray(table, dtype=np.float64)
    if t.shape != (3, 2):
        raise StatsInputError(
            f"blinding table must be 3 x 2 (rows: guess arm 1, guess arm 2, don't know; columns: actual arm), got {t.shape}"
        )
    if not np.isfinite(t).all() or (t < 0).any() or (t != np.round(t)).any():
        raise StatsInputError("blinding table must hold non-negative whole counts")
    return t


def _z_interval(est: float, se: float, level: float, alt: str, lo: float, hi: float, null: float, method: str):
    if alt == "two-sided":
        q = stats.norm.ppf(0.5 + level / 2.0)
        ci = Interval(est - q * se, est + q * se, level, method)
    else:
        q = stats.norm.ppf(level)
        ci = Interval(est - q * se, hi, level, method + ", one-sided") if alt == "greater" else Interval(lo, est + q * se, level, method + ", one-sided")
    if se > 0:
        z = (est - null) / se
        p = {"two-sided": 2 * stats.norm.sf(abs(z)), "greater": stats.norm.sf(z), "less": stats.norm.cdf(z)}[alt]
    else:
        z, p = math.nan, math.nan
    return ci, z, float(p)


def bang_index_value(correct, incorrect, dont_know):
    """Bang's BI = (correct - incorrect) / (correct + incorrect + don't know); works on arrays too."""
    c, i, d = (np.asarray(v, dtype=np.float64) for v in (correct, incorrect, dont_know))
    return (c - i) / (c + i + d)


def bang_blinding_index(
    correct: int,
    incorrect: int,
    dont_know: int,
    *,
    arm: str = "arm",
    level: float = 0.95,
    alternative: Alternative | str = "two-sided",
    n_boot: int = 0,
    seed: int | None = 0,
) -> BlindingIndexResult:
    """Bang, Ni & Davis (2004) blinding index of one arm from its counts of guesses.

    BI = (2 * correct / (correct + incorrect) - 1) * (correct + incorrect) / n
       = (correct - incorrect) / n, with n including "don't know" answers.
    SE from the multinomial: Var = [p_c (1 - p_c) + p_i (1 - p_i) + 2 p_c p_i] / n
    (= [p_c + p_i - (p_c - p_i)^2] / n). The Wald interval is clipped to [-1, 1] only for one-sided
    bounds (as in the R package BI). ``n_boot > 0`` adds a percentile-bootstrap interval.
    An arm whose answers are all "don't know" gives BI = 0 with SE 0 and a warning.
    """
    alt = as_alternative(alternative)
    counts = np.array([correct, incorrect, dont_know], dtype=np.float64)
    if not np.isfinite(counts).all() or (counts < 0).any() or (counts != np.round(counts)).any():
        raise StatsInputError(f"blinding counts must be non-negative whole numbers, got {counts.tolist()}")
    n = float(counts.sum())
    if n == 0:
        raise StatsInputError(f"arm {arm!r} has no answers")
    p_c, p_i = counts[0] / n, counts[1] / n
    est = p_c - p_i
    se = math.sqrt(max(p_c * (1 - p_c) + p_i * (1 - p_i) + 2 * p_c * p_i, 0.0) / n)
    if counts[0] + counts[1] == 0:
        warn_degenerate(f"arm {arm!r}: every answer is \"don't know\"; Bang's BI is 0 with SE 0")
    ci, z, p = _z_interval(est, se, level, alt, -1.0, 1.0, 0.0, "Wald (Bang 2004)")
    boot = None
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(int(n), counts / n, size=int(n_boot))
        values = bang_index_value(draws[:, 0], draws[:, 1], draws[:, 2])
        lo, hi = np.quantile(values, [0.5 - level / 2.0, 0.5 + level / 2.0])
        boot = Interval(float(lo), float(hi), level, "percentile bootstrap")
    return BlindingIndexResult("Bang", arm, float(est), se, ci, z, p, alt, int(n), boot)


def james_blinding_index(
    table, *, level: float = 0.95, alternative: Alternative | str = "two-sided", weights=None
) -> BlindingIndexResult:
    """James et al. (1996) blinding index over both arms from a 3 x 2 table (see module docstring).

    BI = (1 + P_dk + (1 - P_dk) * kappa_d) / 2, where P_dk is the share of "don't know" answers and
    kappa_d = (P_do - P_de) / P_de is a weighted-disagreement kappa among the answers that are a guess
    (disagreement weights: 0 correct, 0.5 incorrect, or ``weights`` as a 2 x 2 matrix guess x arm).
    The large-sample variance is James' (1996) eq. as implemented in the R package BI. All answers
    "don't know" gives BI = 1 with SE 0 (James 1996, p. 1425). Undefined cases give NaN and a warning.
    """
    alt = as_alternative(alternative)
    x = _blinding_table(table)
    w = np.array([[0.0, 0.5], [0.5, 0.0]]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (2, 2):
        raise StatsInputError(f"James weights must be 2 x 2 (guess x actual arm), got {w.shape}")
    n = float(x.sum())
    if n == 0:
        raise StatsInputError("blinding table has no answers")
    method = "Wald (James 1996)"
    if x[:2].sum() == 0:
        ci, z, p = _z_interval(1.0, 0.0, level, alt, 0.0, 1.0, 0.5, method)
        return BlindingIndexResult("James", "overall", 1.0, 0.0, ci, z, p, alt, int(n))
    P = x / n
    p_dk = float(P[2].sum())
    guess = P[:2]  # guesses (rows) by actual arm (columns)
    row = guess.sum(axis=1)  # share guessing arm i
    col = guess.sum(axis=0)  # share in arm j who made a guess
    expected = float((w * np.outer(row, col)).sum())
    if expected == 0 or p_dk == 1:
        warn_degenerate("James' blinding index is undefined for this table (no expected disagreement)")
        nan_ci = Interval(math.nan, math.nan, level, method)
        return BlindingIndexResult("James", "overall", math.nan, math.nan, nan_ci, math.nan, math.nan, alt, int(n))
    g = 1.0 - p_dk
    observed = float((w * guess).sum()) / g
    kappa = (observed - expected / g**2) / (expected / g**2)
    est = (1.0 + p_dk + g * kappa) / 2.0
    # extra_ij = sum_r (w_rj * row_r + w_ir * col_r)
    extra = (w * row[:, None]).sum(axis=0)[None, :] + (w * col[None, :]).sum(axis=1)[:, None]
    v1 = float((guess * g**2 * (g * w - (1.0 + kappa) * extra) ** 2).sum()) / (4.0 * expected**2)
    v2 = p_dk * g - g * (1.0 + kappa) * (p_dk + g * (1.0 + kappa) / 4.0)
    se = math.sqrt(max((v1 + v2) / n, 0.0))
    ci, z, p = _z_interval(est, se, level, alt, 0.0, 1.0, 0.5, method)
    return BlindingIndexResult("James", "overall", float(est), se, ci, z, p, alt, int(n))


@dataclass(frozen=True)
class BlindingReport(AsDict):
    """Bang's index for each arm and James' overall index from one 3 x 2 table."""

    bang: tuple[BlindingIndexResult, BlindingIndexResult]
    james: BlindingIndexResult


def blinding_indices(
    table,
    *,
    arms: tuple[str, str] = ("arm 1", "arm 2"),
    level: float = 0.95,
    alternative_bang: Alternative | str = "two-sided",
    alternative_james: Alternative | str = "two-sided",
    n_boot: int = 0,
    seed: int | None = 0,
) -> BlindingReport:
    """Both indices from a 3 x 2 table: rows guess arm 1 / guess arm 2 / don't know, columns actual arm."""
    x = _blinding_table(table)
    bang = tuple(
        bang_blinding_index(
            int(x[j, j]), int(x[1 - j, j]), int(x[2, j]), arm=arms[j], level=level,
            alternative=alternative_bang, n_boot=n_boot, seed=seed,
        )
        for j in (0, 1)
    )
    return BlindingReport(bang, james_blinding_index(x, level=level, alternative=alternative_james))  # type: ignore[arg-type]
