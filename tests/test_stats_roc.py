"""ROC/AUC/DeLong: scikit-learn and direct O(n_pos x n_neg) references, bad and degenerate input, plot."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from sklearn import metrics as skm

from neocus.errors import StatsInputError
from neocus.stats import (
    DegenerateDataWarning,
    auc_score,
    bootstrap_auc_ci,
    delong_covariance,
    delong_test_equal_aucs,
    delong_test_paired,
    delong_test_unpaired,
    plot_roc,
    roc_auc,
    roc_curve,
)


def naive_delong(y, scores_2d):
    """DeLong et al. (1988) written out with the full pairwise kernel, as an independent reference."""
    y = np.asarray(y)
    pos, neg = scores_2d[:, y == 1], scores_2d[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    psi = (pos[:, :, None] > neg[:, None, :]) + 0.5 * (pos[:, :, None] == neg[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)
    theta = psi.mean(axis=(1, 2))
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return theta, cov


def make_data(seed=0, n=200, k=3, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.normal(size=(k, n)) + np.linspace(0.5, 1.5, k)[:, None] * y
    return y, (np.round(s) if ties else s)


@pytest.mark.parametrize("ties", [False, True])
def test_auc_and_curve_match_sklearn(ties):
    y, s = make_data(1, ties=ties)
    assert auc_score(y, s[0]) == pytest.approx(skm.roc_auc_score(y, s[0]), abs=1e-12)
    curve = roc_curve(y, s[0])
    fpr, tpr, _ = skm.roc_curve(y, s[0], drop_intermediate=False)
    np.testing.assert_allclose(curve.fpr, fpr, atol=1e-12)
    np.testing.assert_allclose(curve.tpr, tpr, atol=1e-12)
    assert curve.thresholds[0] == np.inf and curve.thresholds[-1] == -np.inf
    assert np.all(np.diff(curve.thresholds) < 0)
    assert curve.auc == pytest.approx(np.trapezoid(curve.tpr, curve.fpr), abs=1e-12)


@pytest.mark.parametrize(
    "scores",
    [
        [1.0, np.nextafter(1.0, 2.0), 0.5, 2.0],  # midpoint of 1 and its neighbour rounds onto 1
        [-1e308, 1e308, 1.7e308, 0.0],  # sums overflow
        [5.0, 5.0, 5.0, 5.0],
    ],
)
def test_thresholds_reproduce_reported_points(scores):
    y = np.array([0, 1, 0, 1])
    curve = roc_curve(y, scores)
    for thr, sens, spec in zip(curve.thresholds, curve.sensitivity, curve.specificity):
        pred = np.asarray(scores) >= thr
        assert pred[y == 1].mean() == sens and (~pred[y == 0]).mean() == spec


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(-3, 3)), min_size=4, max_size=40).filter(
        lambda rows: 0 < sum(r[0] for r in rows) < len(rows)
    )
)
def test_auc_property_equals_sklearn_with_ties(rows):
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows], dtype=float)
    assert auc_score(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
def test_fast_delong_equals_naive_for_many_models(ties):
    y, s = make_data(2, n=150, k=4, ties=ties)
    res = delong_covariance(y, s)
    theta, cov = naive_delong(y, s)
    np.testing.assert_allclose(res.aucs, theta, atol=1e-12)
    np.testing.assert_allclose(res.covariance, cov, atol=1e-12)
    # one model at a time gives the diagonal
    assert res.to_dict()["covariance"][0] == pytest.approx(cov[0].tolist())
    for i in range(s.shape[0]):
        one = delong_covariance(y, s[i])
        assert one.aucs[0] == pytest.approx(res.aucs[i], abs=1e-14)
        assert one.variances[0] == pytest.approx(res.variances[i], abs=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 4), st.integers(0, 4)), min_size=4, max_size=30).filter(
        lambda rows: 2 <= sum(r[0] for r in rows) <= len(rows) - 2
    )
)
def test_fast_delong_property_equals_naive_on_tied_data(rows):
    y = np.array([r[0] for r in rows])
    s = np.array([[r[1] for r in rows], [r[2] for r in rows]], dtype=float)
    res = delong_covariance(y, s)
    theta, cov = naive_delong(y, s)
    np.testing.assert_allclose(res.aucs, theta, atol=1e-12)
    np.testing.assert_allclose(res.covariance, cov, atol=1e-12)


def test_roc_auc_delong_interval_is_normal_and_clipped():
    y, s = make_data(3, n=120, k=1)
    res = roc_auc(y, s[0], level=0.9)
    z = sps.norm.ppf(0.95)
    assert (res.ci.low, res.ci.high) == pytest.approx((res.auc - z * res.se, res.auc + z * res.se))
    assert res.method == "DeLong" and res.n_pos + res.n_neg == 120
    # nearly separable: upper end clipped at 1
    y2 = np.r_[np.ones(10, int), np.zeros(10, int)]
    s2 = np.r_[np.arange(10) + 8.5, np.arange(10)]  # one discordant pair: AUC 0.99
    clipped = roc_auc(y2, s2)
    assert clipped.ci.high == 1.0 and clipped.auc < 1.0


def test_bootstrap_ci_reproducible_and_close_to_delong():
    y, s = make_data(4, n=400, k=1)
    boot = roc_auc(y, s[0], method="bootstrap", n_boot=2000, seed=5)
    assert boot == roc_auc(y, s[0], method="bootstrap", n_boot=2000, seed=5)
    delong = roc_auc(y, s[0])
    assert boot.auc == delong.auc and boot.se == delong.se
    assert boot.ci.low == pytest.approx(delong.ci.low, abs=0.012)
    assert boot.ci.high == pytest.approx(delong.ci.high, abs=0.012)
    assert boot.method.startswith("percentile bootstrap")


@pytest.mark.parametrize("n,ties", [(60, False), (60, True), (400, True)])  # index draws; multinomial for 400 tied
def test_bootstrap_on_counts_equals_case_resampling(n, ties):
    """Resampling reduced to counts per distinct score must match resampling cases within each class."""
    y, s = make_data(6, n=n, k=1, ties=ties)
    boot = bootstrap_auc_ci(y, s[0], n_boot=20000, seed=1)
    assert boot.auc == auc_score(y, s[0]) and boot.samples.shape == (20000,)
    fast = boot.samples
    rng = np.random.default_rng(2)
    pos, neg = s[0][y == 1], s[0][y == 0]
    both = np.hstack([rng.choice(pos, (4000, pos.size)), rng.choice(neg, (4000, neg.size))])
    ranks = sps.rankdata(both, axis=1)
    m, k = pos.size, neg.size
    slow = (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * k)
    assert fast.mean() == pytest.approx(slow.mean(), abs=0.003)
    assert fast.std() == pytest.approx(slow.std(), rel=0.06)
    assert np.quantile(fast, 0.025) == pytest.approx(np.quantile(slow, 0.025), abs=0.01)


def test_paired_test_is_consistent_with_covariance_and_multi_test():
    y, s = make_data(7, n=300, k=3)
    res = delong_test_paired(y, s[0], s[2])
    cov = delong_covariance(y, s).covariance
    se = math.sqrt(cov[0, 0] + cov[2, 2] - 2 * cov[0, 2])
    assert res.se == pytest.approx(se) and res.statistic == pytest.approx(res.difference / se)
    assert res.p_value == pytest.approx(2 * sps.norm.sf(abs(res.statistic)))
    fast = delong_covariance(y, s)
    assert (res.auc, res.auc_b) == (fast.aucs[0], fast.aucs[2]) and res.difference == res.auc - res.auc_b
    one = roc_auc(y, s[0])
    assert one.variance == pytest.approx(cov[0, 0]) and one.se == pytest.approx(math.sqrt(cov[0, 0]))
    plain = fast.to_dict()  # the per-case placements stay out of the JSON
    assert set(plain) == {"aucs", "covariance", "n_pos", "n_neg"} and plain["aucs"] == fast.aucs.tolist()
    two = delong_test_equal_aucs(y, s[[0, 2]])
    assert two.statistic == pytest.approx(res.statistic**2) and two.p_value == pytest.approx(res.p_value)
    three = delong_test_equal_aucs(y, s)
    theta, full = naive_delong(y, s)
    L = np.array([[1, -1, 0], [0, 1, -1]])
    chi2 = (L @ theta) @ np.linalg.solve(L @ full @ L.T, L @ theta)
    assert three.statistic == pytest.approx(chi2) and three.df == 2
    assert three.p_value == pytest.approx(sps.chi2.sf(chi2, 2))


def test_one_sided_p_values_add_up():
    y, s = make_data(8, n=200, k=2)
    g = delong_test_paired(y, s[0], s[1], alternative="greater")
    l = delong_test_paired(y, s[0], s[1], alternative="less")
    assert g.p_value + l.p_value == pytest.approx(1.0)
    u = delong_test_unpaired(y[:100], s[0, :100], y[100:], s[1, 100:], alternative="two.sided")
    assert u.alternative == "two-sided" and u.statistic_name == "D" and u.df > 0
    assert u.ci.contains(u.difference)


def test_identical_models_give_z_zero_p_one():
    y, s = make_data(9, n=50, k=1)
    with pytest.warns(DegenerateDataWarning, match="statistic set to 0"):
        res = delong_test_paired(y, s[0], s[0])
    assert res.statistic == 0.0 and res.p_value == 1.0 and res.difference == 0.0


def test_unpaired_two_perfect_groups_are_not_different():
    y = np.r_[np.ones(4, int), np.zeros(5, int)]
    s = np.r_[np.arange(4) + 10.0, np.arange(5)]
    with pytest.warns(DegenerateDataWarning):
        res = delong_test_unpaired(y, s, y, s * 2)
    assert res.estimates == (1.0, 1.0) and res.statistic == 0.0 and res.p_value == 1.0
    with pytest.warns(DegenerateDataWarning):
        one_sided = delong_test_unpaired(y, s, y, s, alternative="greater")
    assert one_sided.p_value == 0.5
    with pytest.warns(DegenerateDataWarning, match="non-zero difference"):
        differ = delong_test_unpaired(y, s, y, -s)  # AUC 1 vs AUC 0, both without variance
    assert differ.statistic == np.inf and differ.p_value == 0.0


# ----------------------------------------------------------------------------------- degenerate

def test_perfect_separation_warns_and_gives_zero_width_interval():
    y = np.r_[np.ones(5, int), np.zeros(6, int)]
    s = np.r_[np.arange(5) + 10.0, np.arange(6)]
    with pytest.warns(DegenerateDataWarning, match="standard error is 0"):
        res = roc_auc(y, s)
    assert res.auc == 1.0 and res.se == 0.0 and (res.ci.low, res.ci.high) == (1.0, 1.0)


def test_single_positive_gives_nan_variance_with_warning():
    y = np.array([1, 0, 0, 0])
    with pytest.warns(DegenerateDataWarning, match="1 positive"):
        res = roc_auc(y, [0.9, 0.1, 0.5, 0.95])
    assert res.auc == pytest.approx(2 / 3) and math.isnan(res.se) and math.isnan(res.ci.low)
    assert res.to_dict()["se"] is None


def test_constant_scores_give_auc_half_and_warn():
    with pytest.warns(DegenerateDataWarning, match="zero width"):
        res = roc_auc([0, 1, 0, 1, 1], [3, 3, 3, 3, 3])
    assert res.auc == 0.5 and res.se == 0.0


def test_ordinary_data_does_not_warn():
    y, s = make_data(12, n=80, k=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        roc_auc(y, s[0])
        delong_test_paired(y, s[0], s[1])
        delong_test_unpaired(y[:40], s[0, :40], y[40:], s[1, 40:])


# ------------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize(
    "y,s,match",
    [
        ([0, 1, 1], [0.1, np.nan, 0.3], "y_score contains a non-finite value \\(nan\\) at index 1"),
        ([0, 1, 1], [0.1, np.inf, 0.3], "non-finite"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "single class: all 3 cases are positive"),
        ([0, 0], [0.1, 0.2], "single class"),
        ([0, 1, 1], [0.1, 0.2], "lengths differ: y_true has 3, y_score has 2"),
        ([0, 1, 3], [0.1, 0.2, 0.3], "y_true must be 0/1, got \\[3.0\\]"),
        ([0, 1, -1], [0.1, 0.2, 0.3], "y_true must be 0/1"),
        ([0, 1], [[0.1, 0.2], [0.2, 0.1]], "y_score must be one-dimensional"),
    ],
)
def test_bad_input_names_the_problem(y, s, match):
    with pytest.raises(StatsInputError, match=match):
        roc_auc(y, s)


def test_bad_input_in_tests_and_options():
    y, s = make_data(10, n=30, k=2)
    with pytest.raises(StatsInputError, match="y_score_b contains a non-finite"):
        delong_test_paired(y, s[0], np.where(np.arange(30) == 4, np.nan, s[1]))
    with pytest.raises(StatsInputError, match="lengths differ"):
        delong_test_paired(y, s[0], s[1][:-1])
    with pytest.raises(StatsInputError, match="y_true_b has a single class"):
        delong_test_unpaired(y, s[0], np.zeros(30), s[1])
    with pytest.raises(StatsInputError, match="alternative"):
        delong_test_paired(y, s[0], s[1], alternative="bigger")
    with pytest.raises(StatsInputError, match="interval method"):
        roc_auc(y, s[0], method="logit")
    with pytest.raises(StatsInputError, match="1-D .* or 2-D"):
        delong_covariance(y, s[None, :, :])
    with pytest.raises(StatsInputError, match="at least 2 models"):
        delong_test_equal_aucs(y, s[:1])
    with pytest.raises(StatsInputError, match="model 1 at case index 3"):
        bad = s.copy()
        bad[1, 3] = np.nan
        delong_covariance(y, bad)


# -------------------------------------------------------------------------------------------- plot

def test_plot_roc_writes_image_atomically(tmp_path):
    y, s = make_data(11, n=100, k=2)
    curves = {"AI": roc_curve(y, s[1]), "baseline": roc_curve(y, s[0])}
    out = tmp_path / "figs" / "roc.png"
    fig = plot_roc(curves, out, points={"reader 1": (0.8, 0.7)}, aucs={"AI": roc_auc(y, s[1])}, title="Test")
    assert out.stat().st_size > 5000 and out.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in out.parent.iterdir()] == ["roc.png"]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("AI (AUC ") and "-" in labels[0] and labels[-1] == "reader 1"


def test_plotted_curve_area_is_the_auc_with_ties_drawn_diagonally():
    y, s = make_data(13, n=120, k=1, ties=True)
    curve = roc_curve(y, s[0])
    fig = plot_roc(curve)
    xy = fig.axes[0].get_lines()[1].get_xydata()  # line 0 is the chance diagonal
    assert np.trapezoid(xy[:, 1], xy[:, 0]) == pytest.approx(curve.auc, abs=1e-12)
