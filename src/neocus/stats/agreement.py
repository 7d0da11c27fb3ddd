"""Agreement between raters: Cohen's kappa (two raters) and Fleiss' kappa (many raters).

Conventions
-----------
* Ratings are category labels (numbers or strings). For weighted kappa the categories are ordered
  (sorted, or as given by ``categories=``) and the distance between two categories is the difference
  of their *positions* in that order (as in scikit-learn and statsmodels). Pass the full scale, e.g.
  ``categories=range(1, 6)``, when some levels were never used.
* Weights are *agreement* weights ``w_ij`` in [0, 1]: ``"none"`` = identity, ``"linear"`` =
  ``1 - |i-j|/(k-1)``, ``"quadratic"`` = ``1 - (i-j)^2/(k-1)^2`` (Cicchetti-Allison / Fleiss-Cohen).
* Cohen's kappa standard errors follow Fleiss, Cohen & Everitt (1969), Psychol Bull 72:323-327:
  ``se`` is the large-sample SE used for the confidence interval; ``se0`` is the SE under
  H0: kappa = 0, used for the z test. The interval is Wald (kappa +- z * se), clipped to [-1, 1].
* Fleiss' kappa follows Fleiss (1971), Psychol Bull 76:378-382, with the H0 standard error of
  Fleiss, Nee & Landis (1979), Psychol Bull 86:974-977 (every subject rated by the same number of
  raters). It does not reduce to Cohen's kappa for two raters (it is Scott's pi generalised).
* ``p_value`` is two-sided; ``p_value_greater`` is one-sided for kappa > 0.
* Undefined kappa (chance agreement = 1, e.g. every rating is the same category) gives NaN
  estimates with a :class:`~neocus.stats.checks.DegenerateDataWarning`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import stats

from neocus.errors import StatsInputError, parse_choice
from neocus.stats.checks import check_level, same_length, warn_degenerate
from neocus.stats.results import AsDict, Interval


class KappaWeights(StrEnum):
    """Agreement weights of Cohen's kappa (see the module docstring)."""

    NONE = "none"
    LINEAR = "linear"
    QUADRATIC = "quadratic"


@dataclass(frozen=True)
class KappaResult(AsDict):
    """Cohen's kappa of two raters over ``n`` items.

    ``se`` (Fleiss-Cohen-Everitt large-sample SE) gives ``ci``; ``se0`` (SE under H0: kappa = 0)
    gives ``z = kappa / se0`` and the p-values. ``observed`` / ``expected`` are the (weighted)
    observed and chance agreement.
    """

    kappa: float
    se: float
    se0: float
    ci: Interval
    z: float
    p_value: float
    p_value_greater: float
    observed: float
    expected: float
    n: int
    weights: str
    categories: tuple[Any, ...]

    def __str__(self) -> str:
        return f"kappa {self.kappa:.3f} ({self.ci}), p = {self.p_value:.3g}"


@dataclass(frozen=True)
class FleissKappaResult(AsDict):
    """Fleiss' kappa of ``n_raters`` raters over ``n_subjects`` subjects.

    ``se0`` is the SE under H0: kappa = 0 (Fleiss, Nee & Landis 1979); ``z = kappa / se0``.
    ``category_kappas`` holds the kappa of each category (in ``categories`` order), each with
    H0 SE ``category_se0``.
    """

    kappa: float
    se0: float
    z: float
    p_value: float
    p_value_greater: float
    n_subjects: int
    n_raters: int
    categories: tuple[Any, ...]
    category_kappas: tuple[float, ...]
    category_se0: float

    def __str__(self) -> str:
        return f"Fleiss kappa {self.kappa:.4f} (z = {self.z:.3g}, p = {self.p_value:.3g})"


def agreement_weights(k: int, *, weights: KappaWeights | str = KappaWeights.NONE) -> np.ndarray:
    """k x k agreement-weight matrix (1 on the diagonal; see module docstring)."""
    weights = parse_choice(KappaWeights, weights, what="weights", error=StatsInputError)
    if weights is KappaWeights.NONE or k == 1:
        return np.eye(k)
    idx = np.arange(k, dtype=np.float64)
    dist = np.abs(idx[:, None] - idx[None, :]) / (k - 1)
    return 1.0 - (dist if weights is KappaWeights.LINEAR else dist**2)


def _categories(values: Sequence[np.ndarray], categories: Sequence[Any] | None, name: str) -> tuple[Any, ...]:
    for arr in values:
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            raise StatsInputError(f"{name} contains NaN at index {int(np.flatnonzero(np.isnan(arr))[0])}")
    seen = np.unique(np.concatenate([np.asarray(v).ravel() for v in values]))
    if categories is None:
        return tuple(seen.tolist())
    cats = tuple(categories)
    if len(set(cats)) != len(cats):
        raise StatsInputError(f"categories has duplicates: {cats}")
    unknown = sorted(set(seen.tolist()) - set(cats), key=str)
    if unknown:
        raise StatsInputError(f"{name} has values not in categories {cats}: {unknown[:5]}")
    return cats


def confusion_table(rater_a, rater_b, *, categories: Sequence[Any] | None = None) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Counts table (rows rater_a, columns rater_b) over the ordered categories; returns (table, categories)."""
    a, b = np.asarray(rater_a), np.asarray(rater_b)
    for arr, nm in ((a, "rater_a"), (b, "rater_b")):
        if arr.ndim != 1:
            raise StatsInputError(f"{nm} must be one-dimensional, got shape {arr.shape}")
        if arr.size == 0:
            raise StatsInputError(f"{nm} is empty")
    same_length(rater_a=a, rater_b=b)
    cats = _categories([a, b], categories, "ratings")
    index = {c: i for i, c in enumerate(cats)}
    ia = np.fromiter((index[v] for v in a.tolist()), dtype=np.intp, count=a.size)
    ib = np.fromiter((index[v] for v in b.tolist()), dtype=np.intp, count=b.size)
    table = np.zeros((len(cats), len(cats)), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    return table, cats


def cohens_kappa(
    rater_a,
    rater_b,
    *,
    weights: KappaWeights | str = KappaWeights.NONE,
    categories: Sequence[Any] | None = None,
    level: float = 0.95,
) -> KappaResult:
    """Cohen's kappa between two raters' ratings of the same items (same order)."""
    table, cats = confusion_table(rater_a, rater_b, categories=categories)
    return cohens_kappa_table(table, weights=weights, level=level, categories=cats)


def cohens_kappa_table(
    table,
    *,
    weights: KappaWeights | str = KappaWeights.NONE,
    level: float = 0.95,
    categories: Sequence[Any] | None = None,
) -> KappaResult:
    """Cohen's kappa from a square table of counts (rows rater A, columns rater B, ordered categories)."""
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise StatsInputError(f"kappa table must be square, got shape {t.shape}")
    if not np.isfinite(t).all() or (t < 0).any():
        raise StatsInputError("kappa table must hold non-negative finite counts")
    check_level(level)
    n = float(t.sum())
    if n == 0:
        raise StatsInputError("kappa table is empty (no rated items)")
    k = t.shape[0]
    cats = tuple(categories) if categories is not None else tuple(range(k))
    w = agreement_weights(k, weights=weights)
    p = t / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    p_o = float((w * p).sum())
    p_e = float((w * np.outer(row, col)).sum())
    nan_ci = Interval(math.nan, math.nan, level, "Wald (Fleiss-Cohen-Everitt SE)")
    if math.isclose(p_e, 1.0, rel_tol=0, abs_tol=1e-12):
        warn_degenerate("kappa is undefined: chance agreement is 1 (both raters used a single, identical category)")
        nan = math.nan
        return KappaResult(nan, nan, nan, nan_ci, nan, nan, nan, p_o, p_e, int(n), weights, cats)
    kappa = (p_o - p_e) / (1.0 - p_e)
    w_row = w @ col  # mean weight of row category i against rater B's margin
    w_col = row @ w  # mean weight of column category j against rater A's margin
    spread = w_row[:, None] + w_col[None, :]
    var = ((p * (w - spread * (1.0 - kappa)) ** 2).sum() - (kappa - p_e * (1.0 - kappa)) ** 2) / (n * (1.0 - p_e) ** 2)
    var0 = ((np.outer(row, col) * (w - spread) ** 2).sum() - p_e**2) / (n * (1.0 - p_e) ** 2)
    se, se0 = math.sqrt(max(var, 0.0)), math.sqrt(max(var0, 0.0))
    zq = stats.norm.ppf(0.5 + level / 2.0)
    ci = Interval(max(-1.0, kappa - zq * se), min(1.0, kappa + zq * se), level, "Wald (Fleiss-Cohen-Everitt SE)")
    z, p_two, p_greater = _z_test(kappa, se0)
    return KappaResult(kappa, se, se0, ci, z, p_two, p_greater, p_o, p_e, int(n), weights, cats)


def fleiss_kappa(ratings, *, categories: Sequence[Any] | None = None) -> FleissKappaResult:
    """Fleiss' kappa from a subjects x raters matrix of category labels (no missing ratings)."""
    r = np.asarray(ratings)
    if r.ndim != 2:
        raise StatsInputError(f"ratings must be a 2-D subjects x raters matrix, got shape {r.shape}")
    if r.shape[0] == 0:
        raise StatsInputError("ratings has no subjects")
    if r.shape[1] < 2:
        raise StatsInputError(f"Fleiss' kappa needs at least 2 raters per subject, got {r.shape[1]}")
    cats = _categories([r], categories, "ratings")
    counts = np.stack([(r == c).sum(axis=1) for c in cats], axis=1)
    return fleiss_kappa_table(counts, categories=cats)


def fleiss_kappa_table(counts, *, categories: Sequence[Any] | None = None) -> FleissKappaResult:
    """Fleiss' kappa from a subjects x categories table: how many raters put subject i in category j."""
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2:
        raise StatsInputError(f"counts must be a 2-D subjects x categories table, got shape {x.shape}")
    if x.shape[0] == 0:
        raise StatsInputError("counts has no subjects")
    if not np.isfinite(x).all() or (x < 0).any() or (x != np.round(x)).any():
        raise StatsInputError("counts must be non-negative whole numbers")
    per_subject = x.sum(axis=1)
    m = float(per_subject[0])
    if (per_subject != m).any():
        i = int(np.flatnonzero(per_subject != m)[0])
        raise StatsInputError(
            f"every subject needs the same number of ratings: subject 0 has {m:g}, subject {i} has {per_subject[i]:g}"
        )
    if m < 2:
        raise StatsInputError(f"Fleiss' kappa needs at least 2 raters per subject, got {m:g}")
    n_sub, k = x.shape
    cats = tuple(categories) if categories is not None else tuple(range(k))
    p_j = x.sum(axis=0) / (n_sub * m)
    pq = p_j * (1.0 - p_j)
    sum_pq = float(pq.sum())
    agree_i = ((x * (x - 1.0)).sum(axis=1)) / (m * (m - 1.0))
    p_bar = float(agree_i.mean())
    p_e = float((p_j**2).sum())
    denom = n_sub * m * (m - 1.0)
    se_cat = math.sqrt(2.0 / denom)
    if sum_pq == 0.0:
        warn_degenerate("Fleiss' kappa is undefined: every rating is the same category")
        nan = math.nan
        return FleissKappaResult(nan, nan, nan, nan, nan, n_sub, int(m), cats, tuple([nan] * k), se_cat)
    kappa = (p_bar - p_e) / (1.0 - p_e)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa_j = 1.0 - (x * (m - x)).sum(axis=0) / (denom * pq)
    kappa_j = np.where(pq > 0, kappa_j, np.nan)
    var0 = 2.0 * (sum_pq**2 - float((pq * (1.0 - 2.0 * p_j)).sum())) / (denom * sum_pq**2)
    se0 = math.sqrt(max(var0, 0.0))
    z, p_two, p_greater = _z_test(kappa, se0)
    return FleissKappaResult(kappa, se0, z, p_two, p_greater, n_sub, int(m), cats, tuple(kappa_j.tolist()), se_cat)


def _z_test(estimate: float, se0: float) -> tuple[float, float, float]:
    if se0 <= 0.0 or not math.isfinite(se0):
        warn_degenerate("the null standard error of kappa is 0; z test undefined")
        return math.nan, math.nan, math.nan
    z = estimate / se0
    return z, float(2.0 * stats.norm.sf(abs(z))), float(stats.norm.sf(z))
