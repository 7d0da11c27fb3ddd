"""neocus.stats.readers: reader metrics, tests against scipy, blinding indices against the R package BI."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from neocus.errors import StatsInputError
from neocus.stats.checks import DegenerateDataWarning
from neocus.stats.proportions import proportion
from neocus.stats.readers import (
    ai_vs_readers_test,
    bang_blinding_index,
    bang_index_value,
    binarize_calls,
    blinding_indices,
    chi_square_test,
    compare_rates,
    delta_auc_test,
    james_blinding_index,
    mean_over_readers,
    reader_result,
    summarize_readers,
    welch_t_test,
    wilcoxon_signed_rank,
)


def _reader(seed: int, n: int = 80, ordinal: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    latent = 1.2 * (2 * y - 1) + rng.normal(0, 1, n)
    calls = np.clip(np.round(3 + latent), 1, 5) if ordinal else (latent > 0).astype(int)
    return y, calls


# ------------------------------------------------------------------------------------------ calls


def test_binarize_defaults_and_explicit_cut():
    assert binarize_calls([0, 1, 1, 0]).tolist() == [0, 1, 1, 0]
    assert binarize_calls([1, 2, 3, 4, 5]).tolist() == [0, 0, 0, 1, 1]
    assert binarize_calls([1, 2, 3, 4, 5], positive_from=3).tolist() == [0, 0, 1, 1, 1]
    with pytest.raises(StatsInputError, match="positive_from"):
        binarize_calls([0.2, 0.7])
    with pytest.raises(StatsInputError, match="NaN|non-finite"):
        binarize_calls([1, np.nan])


def test_binary_reader_auc_is_mean_of_sensitivity_and_specificity():
    y, calls = _reader(0)
    res = reader_result(y, calls, reader_id="R1", group="junior", n_boot=200)
    sens, spec = res.metrics.sensitivity.estimate, res.metrics.specificity.estimate
    assert res.auc.auc == pytest.approx((sens + spec) / 2, abs=1e-12)
    assert res.value("auc") == res.auc.auc and res.value("sensitivity") == sens
    assert res.reader_id == "R1" and res.group == "junior" and res.n_cases == len(y)


def test_ordinal_reader_auc_is_the_empirical_auc():
    y, calls = _reader(1, ordinal=True)
    res = reader_result(y, calls, times_s=np.r_[np.full(len(y) - 1, 30.0), np.nan], n_boot=200)
    assert res.auc.auc == pytest.approx(roc_auc_score(y, calls), abs=1e-12)
    # binary metrics use calls >= 4 by default
    pred = (calls >= 4).astype(int)
    assert res.metrics.confusion.tp == int(((pred == 1) & (y == 1)).sum())
    assert res.mean_time_s == pytest.approx(30.0)


def test_reader_with_single_class_is_an_error():
    with pytest.raises(StatsInputError, match="single class"):
        reader_result([1, 1, 1], [1, 0, 1], n_boot=10)


def test_summary_mean_and_pooled_clopper_pearson():
    results = [reader_result(*_reader(s), reader_id=f"R{s}", group="junior", n_boot=100) for s in range(4)]
    summary = summarize_readers(results, n_boot=100)
    sens = [r.metrics.sensitivity.estimate for r in results]
    assert summary.mean["sensitivity"].estimate == pytest.approx(np.mean(sens))
    tp = sum(r.metrics.confusion.tp for r in results)
    pos = sum(r.metrics.confusion.n_pos for r in results)
    ref = proportion(tp, pos)
    assert summary.pooled.sensitivity.ci.low == pytest.approx(ref.ci.low)
    assert summary.pooled.sensitivity.ci.high == pytest.approx(ref.ci.high)
    aucs = np.array([r.auc.auc for r in results])
    low, high = stats.t.interval(0.95, len(aucs) - 1, loc=aucs.mean(), scale=stats.sem(aucs))
    assert summary.mean["auc"].ci.low == pytest.approx(low) and summary.mean["auc"].ci.high == pytest.approx(high)
    assert summary.n_readers == 4 and summary.reader_ids == ("R0", "R1", "R2", "R3")


def test_summary_rejects_mixed_groups_and_empty():
    a = reader_result(*_reader(0), group="junior", n_boot=10)
    b = reader_result(*_reader(1), group="mid", n_boot=10)
    with pytest.raises(StatsInputError, match="one group"):
        summarize_readers([a, b])
    with pytest.raises(StatsInputError, match="no readers"):
        summarize_readers([])


def test_mean_over_one_reader_warns_and_has_no_interval():
    with pytest.warns(DegenerateDataWarning, match="single reader"):
        res = mean_over_readers([0.8])
    assert res.estimate == 0.8 and math.isnan(res.ci.low)


# ------------------------------------------------------------------------------------------ tests


def test_wilcoxon_matches_scipy_one_sided():
    with_ai = np.array([0.91, 0.88, 0.93, 0.85, 0.90, 0.87, 0.92, 0.89, 0.94])
    without = np.array([0.84, 0.86, 0.85, 0.80, 0.88, 0.79, 0.90, 0.83, 0.86])
    res = delta_auc_test(with_ai, without, alternative="greater")
    ref = stats.wilcoxon(with_ai - without, alternative="greater")
    assert res.statistic == pytest.approx(ref.statistic) and res.p_value == pytest.approx(ref.pvalue)
    assert res.p_value == pytest.approx(1 / 2**9)  # all nine readers improved: exact p = 2^-9
    assert res.alternative == "greater" and res.difference == pytest.approx(np.mean(with_ai - without))


def test_ai_vs_readers_is_one_sample_on_differences():
    readers = np.array([0.86, 0.84, 0.90, 0.81, 0.99, 0.88])
    res = ai_vs_readers_test(0.95, readers, alternative="greater")
    ref = stats.wilcoxon(0.95 - readers, alternative="greater")
    assert res.p_value == pytest.approx(ref.pvalue)
    assert res.estimates[0] == pytest.approx(0.95)


def test_wilcoxon_degenerate_cases():
    with pytest.warns(DegenerateDataWarning, match="every difference is zero"):
        res = wilcoxon_signed_rank([0.8, 0.9], [0.8, 0.9])
    assert res.statistic == 0.0 and res.p_value == 1.0
    with pytest.warns(DegenerateDataWarning, match="0.0625"):
        res = wilcoxon_signed_rank([0.9, 0.9, 0.9, 0.9], [0.8, 0.7, 0.6, 0.5], alternative="greater")
    assert res.p_value == pytest.approx(0.0625)
    with pytest.warns(DegenerateDataWarning, match="0.125"):  # the default is two-sided
        res = wilcoxon_signed_rank([0.9, 0.9, 0.9, 0.9], [0.8, 0.7, 0.6, 0.5])
    assert res.alternative == "two-sided" and res.p_value == pytest.approx(0.125)
    with pytest.raises(StatsInputError, match="lengths differ"):
        wilcoxon_signed_rank([0.9, 0.8], [0.7])
    with pytest.raises(StatsInputError, match="alternative"):
        wilcoxon_signed_rank([0.9, 0.8], [0.7, 0.6], alternative="bigger")


def test_welch_matches_scipy():
    rng = np.random.default_rng(5)
    with_ai, without = rng.normal(45, 8, 40), rng.normal(60, 15, 35)
    for alt in ("two-sided", "less", "greater"):
        res = welch_t_test(with_ai, without, alternative=alt)
        ref = stats.ttest_ind(with_ai, without, equal_var=False, alternative=alt)
        assert res.statistic == pytest.approx(ref.statistic) and res.p_value == pytest.approx(ref.pvalue)
        assert res.df == pytest.approx(ref.df)
    assert welch_t_test(with_ai, without, alternative="less").p_value < 1e-4


def test_welch_degenerate_and_bad_input():
    with pytest.warns(DegenerateDataWarning, match="zero variance"):
        res = welch_t_test([5.0, 5.0], [5.0, 5.0])
    assert math.isnan(res.p_value)
    with pytest.raises(StatsInputError, match="at least 2"):
        welch_t_test([1.0], [2.0, 3.0])


def test_chi_square_matches_scipy_without_correction():
    table = [[62, 6], [40, 28]]
    res = chi_square_test(table)
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert res.statistic == pytest.approx(chi2) and res.p_value == pytest.approx(p) and res.df == dof
    rates = compare_rates(62, 68, 40, 68)
    assert rates.p_value == pytest.approx(p) and rates.difference == pytest.approx(62 / 68 - 40 / 68)


def test_chi_square_degenerate_and_bad_input():
    with pytest.warns(DegenerateDataWarning, match="one row or column"):
        res = chi_square_test([[10, 0], [12, 0]])
    assert res.statistic == 0.0 and res.p_value == 1.0
    with pytest.warns(DegenerateDataWarning, match="below 5"):
        chi_square_test([[3, 1], [1, 3]])
    with pytest.raises(StatsInputError, match="r x c"):
        chi_square_test([1, 2, 3])
    with pytest.raises(StatsInputError, match="non-negative"):
        chi_square_test([[1, -1], [2, 2]])
    with pytest.raises(StatsInputError, match="count/total"):
        compare_rates(5, 4, 1, 2)


# ------------------------------------------------------------------------------------------ blinding

# Reference values from the R package BI 1.2.0 (function BI(), Bang 2004 / James 1996 formulas) run in
# R 4.2.2 on the examples of its help page; see tests/reference/make_blinding_reference.R.
# Columns: James estimate, James SE, Bang arm 1 estimate, SE, Bang arm 2 estimate, SE.
BI_REFERENCE = {
    "crisp": ([[82, 27], [25, 29], [170, 83]],
              (0.747927537451607, 0.0217373981300472, 0.205776173285199, 0.0352370904724925, 0.0143884892086331, 0.0538229624728392)),
    "houweling_investigators": ([[48, 22], [4, 30], [330, 319]],
                                (0.896414342629482, 0.010917577006526, 0.115183246073298, 0.0179337403405655, 0.0215633423180593, 0.0194046669113191)),
    "houweling_coordinators": ([[94, 52], [11, 44], [289, 284]],
                               (0.823389595693603, 0.0132866306062953, 0.210659898477157, 0.0237435467643437, -0.0210526315789474, 0.0257614749930655)),
    "houweling_patients": ([[143, 104], [14, 57], [188, 175]],
                           (0.705116289211193, 0.0159407504147411, 0.373913043478261, 0.0302291489850797, -0.139880952380952, 0.0369845521897666)),
}


@pytest.mark.parametrize("name", sorted(BI_REFERENCE))
def test_blinding_indices_match_r_package_bi(name):
    table, ref = BI_REFERENCE[name]
    res = blinding_indices(table, arms=("treatment", "placebo"))
    assert res.james.estimate == pytest.approx(ref[0], abs=1e-12)
    assert res.james.se == pytest.approx(ref[1], abs=1e-12)
    for arm, (est, se) in zip(res.bang, (ref[2:4], ref[4:6])):
        assert arm.estimate == pytest.approx(est, abs=1e-12)
        assert arm.se == pytest.approx(se, abs=1e-12)
    assert res.bang[0].arm == "treatment"
    # two-sided Wald intervals, as BI() prints by default
    z = stats.norm.ppf(0.975)
    assert res.bang[0].ci.low == pytest.approx(ref[2] - z * ref[3]) and res.bang[0].ci.high == pytest.approx(ref[2] + z * ref[3])
    assert res.james.ci.low == pytest.approx(ref[0] - z * ref[1])


def test_bang_one_sided_bounds_like_bi_package():
    greater = bang_blinding_index(82, 25, 170, alternative="greater")
    assert greater.ci.high == 1.0
    assert greater.ci.low == pytest.approx(greater.estimate - stats.norm.ppf(0.95) * greater.se)
    less = bang_blinding_index(82, 25, 170, alternative="less")
    assert less.ci.low == -1.0
    assert greater.p_value == pytest.approx(stats.norm.sf(greater.estimate / greater.se))


@pytest.mark.parametrize(
    "counts, expected",
    [((50, 0, 0), 1.0), ((0, 50, 0), -1.0), ((0, 0, 50), 0.0), ((30, 30, 40), 0.0), ((25, 25, 0), 0.0)],
)
def test_bang_invariants(counts, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        res = bang_blinding_index(*counts)
    assert res.estimate == pytest.approx(expected, abs=1e-15)


def test_bang_all_dont_know_warns_and_all_correct_has_zero_se():
    with pytest.warns(DegenerateDataWarning, match="don't know"):
        res = bang_blinding_index(0, 0, 12)
    assert res.se == 0.0
    assert bang_blinding_index(20, 0, 0).se == pytest.approx(0.0, abs=1e-15)


def test_bang_ncls_paper_overall_counts():
    # NCLS paper: 407 correct, 378 incorrect, 734 don't know -> (407 - 378) / 1519 pooled over arms
    res = bang_blinding_index(407, 378, 734, n_boot=500)
    assert res.estimate == pytest.approx(29 / 1519)
    assert -0.2 < res.ci.low < res.ci.high < 0.2
    assert res.boot_ci is not None and res.boot_ci.contains(res.estimate)
    # the bootstrap and the analytic SE agree for a sample this large
    assert res.boot_ci.width == pytest.approx(res.ci.width, rel=0.15)


def test_bang_index_value_vectorised_and_bad_input():
    assert bang_index_value([3, 0], [1, 2], [0, 2]).tolist() == pytest.approx([0.5, -0.5])
    with pytest.raises(StatsInputError, match="whole numbers"):
        bang_blinding_index(1.5, 2, 3)
    with pytest.raises(StatsInputError, match="no answers"):
        bang_blinding_index(0, 0, 0)


@pytest.mark.parametrize(
    "table, expected",
    [
        ([[40, 0], [0, 40], [0, 0]], 0.0),  # every guess correct: complete unblinding
        ([[0, 40], [40, 0], [0, 0]], 1.0),  # every guess wrong
        ([[20, 20], [20, 20], [0, 0]], 0.5),  # random guessing
        ([[0, 0], [0, 0], [30, 30]], 1.0),  # everybody "don't know": complete blinding, SE 0
    ],
)
def test_james_invariants(table, expected):
    res = james_blinding_index(table)
    assert res.estimate == pytest.approx(expected, abs=1e-12)


def test_james_bad_input_and_undefined():
    with pytest.raises(StatsInputError, match="3 x 2"):
        james_blinding_index([[1, 2], [3, 4]])
    with pytest.raises(StatsInputError, match="2 x 2"):
        james_blinding_index([[1, 2], [3, 4], [5, 6]], weights=[0, 1])
    with pytest.warns(DegenerateDataWarning, match="undefined"):
        res = james_blinding_index([[5, 0], [0, 0], [3, 0]])
    assert math.isnan(res.estimate)


@pytest.mark.parametrize(
    "n_readers, n_pos, tp_total, paper_ci",
    [
        (9, 16, 126, (0.810, 0.924)),  # junior radiologists, internal test set: sensitivity 0.875
        (11, 16, 143, (0.747, 0.867)),  # mid-level, internal: 0.813
        (9, 26, 168, (0.656, 0.775)),  # junior, external: 0.718
    ],
)
def test_group_interval_reproduces_the_ncls_paper(n_readers, n_pos, tp_total, paper_ci):
    # The paper's reader-group intervals are Clopper-Pearson on the pooled reads: rebuild readers
    # whose true positives add up to the published totals and compare with Table 2's intervals.
    base, extra = divmod(tp_total, n_readers)
    results = []
    for r in range(n_readers):
        tp = base + (1 if r < extra else 0)
        y = np.r_[np.ones(n_pos, int), np.zeros(20, int)]
        calls = np.r_[np.ones(tp, int), np.zeros(n_pos - tp, int), np.zeros(18, int), np.ones(2, int)]
        results.append(reader_result(y, calls, reader_id=f"R{r}", group="g", n_boot=50))
    summary = summarize_readers(results, n_boot=50)
    ci = summary.pooled.sensitivity.ci
    assert (round(ci.low, 3), round(ci.high, 3)) == paper_ci
    assert summary.mean["sensitivity"].estimate == pytest.approx(tp_total / (n_readers * n_pos))
