"""Subgroup analyses: AUC per value of a metadata column (GA group, probe, centre...) and pairwise
comparisons between subgroups.

Conventions
-----------
* Each subgroup's AUC has a DeLong interval (:func:`neocus.stats.roc.roc_auc`).
* Subgroups hold different cases, so two subgroups are compared with the *unpaired* DeLong test
  (:func:`neocus.stats.delong.delong_test_unpaired`, pROC's ``paired = FALSE``), two-sided by default.
* With more than two subgroups every pair is compared and the p-values are adjusted with the
  Benjamini-Hochberg step-up procedure (false discovery rate), as in the NCLS paper's GA-group
  analysis. With two subgroups the adjusted p-value equals the raw one.
* A subgroup with a single class (all positive or all negative) has no AUC: it is listed with
  ``auc = None`` and a note, left out of the comparisons, and a warning is emitted.
* Groups are ordered by their value (natural order of the column's values, as strings when mixed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from neocus.errors import StatsInputError
from neocus.stats.checks import (
    Alternative,
    as_alternative,
    as_binary_labels,
    as_scores,
    same_length,
    warn_degenerate,
)
from neocus.stats.results import AsDict, AucResult, ComparisonResult
from neocus.stats.delong import delong_test_unpaired
from neocus.stats.roc import roc_auc


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (same order as given; NaN stays NaN and is not counted).

    adjusted p_(i) = min over j >= i of (m / j) p_(j), capped at 1, for the sorted p-values p_(1..m).
    Equals statsmodels' ``multipletests(p, method="fdr_bh")[1]``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise StatsInputError(f"p-values must be one-dimensional, got shape {p.shape}")
    finite = ~np.isnan(p)
    if ((p[finite] < 0) | (p[finite] > 1)).any():
        raise StatsInputError("p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    q = p[finite]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q, kind="mergesort")
    scaled = q[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    back = np.empty(m)
    back[order] = adjusted
    out[finite] = back
    return out


@dataclass(frozen=True)
class SubgroupAuc(AsDict):
    """One subgroup: its size and AUC (``None`` with a ``note`` when the AUC is undefined)."""

    group: str
    n: int
    n_pos: int
    n_neg: int
    auc: AucResult | None
    note: str = ""


@dataclass(frozen=True)
class SubgroupComparison(AsDict):
    """Unpaired DeLong test of ``group_a`` against ``group_b`` and its BH-adjusted p-value."""

    group_a: str
    group_b: str
    test: ComparisonResult
    p_adjusted: float


@dataclass(frozen=True)
class SubgroupAnalysis(AsDict):
    """AUC per subgroup of ``column`` and all pairwise comparisons."""

    column: str
    groups: tuple[SubgroupAuc, ...]
    comparisons: tuple[SubgroupComparison, ...]
    adjustment: str = "Benjamini-Hochberg"


def _group_key(value) -> str:
    return str(value)


def _natural_order(values) -> list:
    """Numbers in numeric order when every value is a number, otherwise by their text."""
    vals = list(values)
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in vals):
        return sorted(vals)
    return sorted(vals, key=str)


def subgroup_analysis(
    y_true,
    y_score,
    groups,
    *,
    column: str = "group",
    level: float = 0.95,
    alternative: Alternative | str = "two-sided",
) -> SubgroupAnalysis:
    """AUC of ``y_score`` within each value of ``groups`` and unpaired DeLong tests between every pair."""
    alt = as_alternative(alternative)
    y = as_binary_labels(y_true, name="y_true")
    s = as_scores(y_score, name="y_score")
    g = np.asarray(groups)
    if g.ndim != 1:
        raise StatsInputError(f"{column} must be one-dimensional, got shape {g.shape}")
    same_length(y_true=y, y_score=s, **{column: g})
    keys = np.array([_group_key(v) for v in g.tolist()], dtype=object)
    missing = [i for i, v in enumerate(g.tolist()) if v is None or (isinstance(v, float) and math.isnan(v))]
    if missing:
        raise StatsInputError(f"{column} is missing for case index {missing[0]}")
    ordered = [_group_key(v) for v in _natural_order(set(g.tolist()))]
    per_group: list[SubgroupAuc] = []
    usable: list[str] = []
    for key in ordered:
        mask = keys == key
        yk = y[mask]
        n_pos = int(yk.sum())
        n_neg = int(yk.size - n_pos)
        if n_pos == 0 or n_neg == 0:
            only = "positive" if n_neg == 0 else "negative"
            warn_degenerate(f"subgroup {column}={key}: all {yk.size} cases are {only}; its AUC is undefined")
            per_group.append(SubgroupAuc(key, int(yk.size), n_pos, n_neg, None, f"single class (all {only})"))
            continue
        per_group.append(SubgroupAuc(key, int(yk.size), n_pos, n_neg, roc_auc(yk, s[mask], level=level)))
        usable.append(key)
    tests = []
    for a, b in combinations(usable, 2):
        ma, mb = keys == a, keys == b
        tests.append((a, b, delong_test_unpaired(y[ma], s[ma], y[mb], s[mb], alternative=alt, level=level)))
    adjusted = benjamini_hochberg([t.p_value for _, _, t in tests]) if tests else np.array([])
    comparisons = tuple(SubgroupComparison(a, b, t, float(p)) for (a, b, t), p in zip(tests, adjusted, strict=True))
    return SubgroupAnalysis(column, tuple(per_group), comparisons)
