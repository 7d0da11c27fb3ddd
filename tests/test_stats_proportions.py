"""Proportions, binary metrics and thresholds: statsmodels/scikit-learn references, bad and degenerate input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm
from statsmodels.stats.proportion import proportion_confint

from neocus.errors import StatsInputError
from neocus.stats import (
    ConfusionMatrix,
    DegenerateDataWarning,
    accuracy,
    binary_metrics,
    f1_score,
    npv,
    ppv,
    proportion,
    proportion_ci,
    roc_curve,
    sensitivity,
    specificity,
    threshold_for_sensitivity,
    threshold_for_specificity,
    youden_threshold,
)

COUNTS = [(0, 1), (0, 7), (1, 1), (3, 7), (7, 7), (1, 30), (17, 40), (199, 200), (512, 1000)]


@pytest.mark.parametrize("count,total", COUNTS)
@pytest.mark.parametrize("level", [0.95, 0.90, 0.99])
def test_clopper_pearson_equals_statsmodels_beta(count, total, level):
    ci = proportion_ci(count, total, level=level, method="clopper-pearson")
    low, high = proportion_confint(count, total, alpha=1 - level, method="beta")
    assert (ci.low, ci.high) == pytest.approx((low, high), abs=1e-10)
    assert ci.method == "Clopper-Pearson" and ci.level == level


@pytest.mark.parametrize("count,total", COUNTS)
def test_wilson_equals_statsmodels(count, total):
    ci = proportion_ci(count, total, level=0.95, method="wilson")
    low, high = proportion_confint(count, total, alpha=0.05, method="wilson")
    assert (ci.low, ci.high) == pytest.approx((low, high), abs=1e-12)


def test_exact_interval_ends_at_zero_and_one():
    assert proportion_ci(0, 10).low == 0.0
    assert proportion_ci(10, 10).high == 1.0
    # 0/10: upper bound solves (1 - p)^10 = 0.025
    assert proportion_ci(0, 10).high == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-12)


def test_proportion_zero_total_is_nan_with_full_interval_and_warning():
    with pytest.warns(DegenerateDataWarning, match="denominator is 0"):
        res = proportion(0, 0)
    assert math.isnan(res.estimate) and (res.ci.low, res.ci.high) == (0.0, 1.0)
    assert res.to_dict()["estimate"] is None


@pytest.mark.parametrize(
    "count,total,level,method",
    [(-1, 5, 0.95, "clopper-pearson"), (6, 5, 0.95, "clopper-pearson"), (1.5, 5, 0.95, "wilson"),
     (1, 5, 1.0, "wilson"), (1, 5, 0.95, "wald")],
)
def test_proportion_bad_arguments(count, total, level, method):
    with pytest.raises(StatsInputError):
        proportion_ci(count, total, level=level, method=method)


# ----------------------------------------------------------------------------------- binary metrics

Y = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
P = np.array([1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])


def test_confusion_matrix_counts_match_sklearn():
    cm = ConfusionMatrix.from_predictions(Y, P)
    assert (cm.tp, cm.fp, cm.fn, cm.tn) == (4, 2, 2, 8)
    np.testing.assert_array_equal(cm.as_array(), skm.confusion_matrix(Y, P, labels=[0, 1]))
    assert (cm.n, cm.n_pos, cm.n_neg) == (16, 6, 10)


def test_metrics_match_sklearn_and_exact_intervals():
    m = binary_metrics(Y, P, n_boot=500)
    assert m.sensitivity.estimate == pytest.approx(skm.recall_score(Y, P))
    assert m.specificity.estimate == pytest.approx(skm.recall_score(Y, P, pos_label=0))
    assert m.ppv.estimate == pytest.approx(skm.precision_score(Y, P))
    assert m.npv.estimate == pytest.approx(skm.precision_score(Y, P, pos_label=0))
    assert m.accuracy.estimate == pytest.approx(skm.accuracy_score(Y, P))
    assert m.f1.estimate == pytest.approx(skm.f1_score(Y, P))
    assert (m.sensitivity.count, m.sensitivity.total) == (4, 6)
    low, high = proportion_confint(4, 6, method="beta")
    assert (m.sensitivity.ci.low, m.sensitivity.ci.high) == pytest.approx((low, high))
    low, high = proportion_confint(8, 10, method="beta")
    assert (m.specificity.ci.low, m.specificity.ci.high) == pytest.approx((low, high))
    d = m.to_dict()
    assert d["confusion"] == {"tp": 4, "fp": 2, "fn": 2, "tn": 8} and d["npv"]["total"] == 10


def test_single_metric_functions_accept_labels_or_confusion_matrix():
    cm = ConfusionMatrix.from_predictions(Y, P)
    for fn in (sensitivity, specificity, ppv, npv, accuracy):
        assert fn(Y, P) == fn(cm)
    assert sensitivity(Y, P, method="wilson").ci.method == "Wilson"


def test_from_scores_uses_greater_or_equal():
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    cm = ConfusionMatrix.from_scores([1, 1, 0, 0], scores, threshold=0.5)
    assert (cm.tp, cm.fp, cm.fn, cm.tn) == (2, 1, 0, 1)


def test_f1_bootstrap_interval_is_reproducible_and_covers_estimate():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    p = np.where(rng.uniform(size=400) < 0.8, y, 1 - y)
    a = f1_score(y, p, n_boot=2000, seed=11)
    b = f1_score(y, p, n_boot=2000, seed=11)
    assert a == b and a.n_resamples == 2000
    assert a.ci.low < a.estimate < a.ci.high
    # roughly the normal-approximation width for an F1 near 0.8 on ~200 positives
    assert 0.04 < a.ci.width < 0.15
    assert f1_score(y, p, n_boot=2000, seed=12).ci != a.ci


def test_f1_bootstrap_equals_case_resampling_distribution():
    """The binomial shortcut must give the same distribution as resampling cases per class."""
    y = np.r_[np.ones(30, int), np.zeros(50, int)]
    p = np.r_[np.ones(21, int), np.zeros(9, int), np.ones(12, int), np.zeros(38, int)]
    fast = f1_score(y, p, n_boot=20000, seed=1)
    rng = np.random.default_rng(2)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    idx = np.hstack([rng.choice(pos, (20000, pos.size)), rng.choice(neg, (20000, neg.size))])
    yb, pb = y[idx], p[idx]
    tp = np.sum((yb == 1) & (pb == 1), axis=1)
    fp = np.sum((yb == 0) & (pb == 1), axis=1)
    fn = np.sum((yb == 1) & (pb == 0), axis=1)
    boots = 2 * tp / (2 * tp + fp + fn)
    assert skm.f1_score(yb[0], pb[0]) == pytest.approx(boots[0])
    low, high = np.quantile(boots, [0.025, 0.975])
    assert fast.ci.low == pytest.approx(low, abs=0.01)
    assert fast.ci.high == pytest.approx(high, abs=0.01)


# -------------------------------------------------------------------------------- degenerate / bad

def test_all_predicted_positive_gives_defined_results_and_warnings():
    y = np.array([1, 1, 0, 0, 0])
    with pytest.warns(DegenerateDataWarning) as rec:
        m = binary_metrics(y, np.ones(5, int), n_boot=200)
    messages = " ".join(str(w.message) for w in rec)
    assert "all 5 cases are predicted positive" in messages and "NPV" in messages
    assert m.ppv.estimate == pytest.approx(0.4)
    assert m.specificity.estimate == 0.0 and m.sensitivity.estimate == 1.0
    assert math.isnan(m.npv.estimate) and (m.npv.ci.low, m.npv.ci.high) == (0.0, 1.0)


def test_all_predicted_negative_and_no_positives():
    with pytest.warns(DegenerateDataWarning):
        m = binary_metrics([0, 0, 0], [0, 0, 0], n_boot=50)
    assert math.isnan(m.sensitivity.estimate) and math.isnan(m.ppv.estimate) and math.isnan(m.f1.estimate)
    assert m.specificity.estimate == 1.0 and m.npv.estimate == 1.0


def test_no_warning_for_ordinary_data():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        binary_metrics(Y, P, n_boot=100)


@pytest.mark.parametrize(
    "y,p,match",
    [
        ([0, 1, 2], [0, 1, 1], "labels must be 0/1"),
        ([0, 1, np.nan], [0, 1, 1], "labels contains NaN"),
        ([0, 1, 1], [0, 1], "lengths differ"),
        ([0, 1, 1], [0, 0.5, 1], "predictions must be 0/1"),
        ([], [], "empty"),
        (["yes", "no"], [0, 1], "0/1"),
    ],
)
def test_bad_input_names_the_problem(y, p, match):
    with pytest.raises(StatsInputError, match=match):
        binary_metrics(y, p)


def test_negative_count_in_confusion_matrix_rejected():
    with pytest.raises(StatsInputError, match="non-negative"):
        ConfusionMatrix(tp=1, fp=-1, fn=0, tn=0)


# ------------------------------------------------------------------------------------- thresholds

def test_youden_threshold_maximises_index_on_the_data():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    s = rng.normal(size=300) + 1.2 * y
    best = youden_threshold(y, s)
    pred = (s >= best.threshold).astype(int)
    sens = skm.recall_score(y, pred)
    spec = skm.recall_score(y, pred, pos_label=0)
    assert (best.sensitivity, best.specificity) == pytest.approx((sens, spec))
    fpr, tpr, _ = skm.roc_curve(y, s)
    assert best.youden == pytest.approx(np.max(tpr - fpr))


def test_youden_ties_go_to_higher_sensitivity():
    # thresholds 0.5 (sens 1, spec 0.5) and 2.5 (sens 0.5, spec 1) both give J = 0.5
    y = [0, 1, 0, 1]
    s = [0.0, 1.0, 2.0, 3.0]
    best = youden_threshold(y, s)
    assert best.sensitivity == 1.0 and best.youden == pytest.approx(0.5)


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95, 1.0])
def test_fixed_sensitivity_and_specificity_thresholds(target):
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)
    curve = roc_curve(y, s)
    t = threshold_for_sensitivity(curve, target=target)
    assert t.sensitivity >= target
    assert t.specificity == pytest.approx(np.max(curve.specificity[curve.sensitivity >= target]))
    pred = (s >= t.threshold).astype(int)
    assert skm.recall_score(y, pred) == pytest.approx(t.sensitivity)
    u = threshold_for_specificity(y, s, target=target)
    assert u.specificity >= target
    assert u.sensitivity == pytest.approx(np.max(curve.sensitivity[curve.specificity >= target]))
    assert skm.recall_score(y, (s >= u.threshold).astype(int), pos_label=0) == pytest.approx(u.specificity)


def test_threshold_target_out_of_range():
    with pytest.raises(StatsInputError, match="between 0 and 1"):
        threshold_for_sensitivity([0, 1], [0.1, 0.9], target=90)
