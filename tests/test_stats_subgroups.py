"""neocus.stats.subgroups: per-subgroup AUC, unpaired DeLong between subgroups, BH adjustment."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from neocus.errors import StatsInputError
from neocus.stats.checks import DegenerateDataWarning
from neocus.stats.roc import delong_test_unpaired, roc_auc
from neocus.stats.subgroups import benjamini_hochberg, subgroup_analysis


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bh_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 0.05, 5), rng.uniform(0, 1, 10), [0.03, 0.03]])  # with ties
    assert np.allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], atol=1e-15)


def test_bh_keeps_nan_out_and_edge_cases():
    p = np.array([0.01, np.nan, 0.04, 0.03])
    adj = benjamini_hochberg(p)
    assert np.isnan(adj[1])
    assert np.allclose(adj[[0, 2, 3]], multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1])
    assert benjamini_hochberg([0.2]).tolist() == [0.2]
    assert benjamini_hochberg([]).size == 0
    with pytest.raises(StatsInputError, match=r"\[0, 1\]"):
        benjamini_hochberg([0.5, 1.5])


def _data(seed: int = 0, n: int = 240):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    group = rng.choice(["<32w", "32-37w", ">=37w"], n)
    noise = np.where(group == "<32w", 2.0, 1.0)
    score = y + rng.normal(0, noise)
    return y, score, group


def test_subgroup_aucs_and_pairwise_unpaired_delong():
    y, s, g = _data()
    res = subgroup_analysis(y, s, g, column="ga_group")
    assert res.column == "ga_group"
    assert [x.group for x in res.groups] == ["32-37w", "<32w", ">=37w"]
    for sub in res.groups:
        m = g == sub.group
        ref = roc_auc(y[m], s[m])
        assert sub.auc.auc == pytest.approx(ref.auc) and sub.auc.se == pytest.approx(ref.se)
        assert sub.n == int(m.sum()) and sub.n_pos == int(y[m].sum())
    assert len(res.comparisons) == 3
    raw = []
    for c in res.comparisons:
        ma, mb = g == c.group_a, g == c.group_b
        ref = delong_test_unpaired(y[ma], s[ma], y[mb], s[mb])
        assert c.test.statistic == pytest.approx(ref.statistic) and c.test.p_value == pytest.approx(ref.p_value)
        raw.append(ref.p_value)
    assert [c.p_adjusted for c in res.comparisons] == pytest.approx(multipletests(raw, method="fdr_bh")[1].tolist())


def test_two_groups_adjusted_equals_raw_and_numeric_groups_sorted_numerically():
    y, s, _ = _data(1)
    probe = np.where(np.arange(len(y)) % 2 == 0, 10, 9)
    res = subgroup_analysis(y, s, probe, column="probe")
    assert [x.group for x in res.groups] == ["9", "10"]
    (c,) = res.comparisons
    assert c.p_adjusted == pytest.approx(c.test.p_value)


def test_single_class_subgroup_is_listed_without_auc_and_not_compared():
    y, s, g = _data(2)
    g = g.astype(object)
    g[:6] = "tiny"
    y[:6] = 1
    with pytest.warns(DegenerateDataWarning, match="tiny"):
        res = subgroup_analysis(y, s, g)
    tiny = next(x for x in res.groups if x.group == "tiny")
    assert tiny.auc is None and "single class" in tiny.note
    assert all("tiny" not in (c.group_a, c.group_b) for c in res.comparisons)
    assert len(res.comparisons) == 3


def test_subgroup_bad_input():
    y, s, g = _data(3, n=30)
    with pytest.raises(StatsInputError, match="lengths differ"):
        subgroup_analysis(y, s, g[:-1])
    gg = g.astype(object)
    gg[4] = None
    with pytest.raises(StatsInputError, match="missing for case index 4"):
        subgroup_analysis(y, s, gg, column="center")
    s2 = s.copy()
    s2[0] = np.nan
    with pytest.raises(StatsInputError, match="non-finite"):
        subgroup_analysis(y, s2, g)
