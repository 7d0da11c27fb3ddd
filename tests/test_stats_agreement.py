"""neocus.stats.agreement against statsmodels, scikit-learn and a published Fleiss' kappa example."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from neocus.errors import StatsInputError
from neocus.stats.agreement import (
    agreement_weights,
    cohens_kappa,
    cohens_kappa_table,
    confusion_table,
    fleiss_kappa,
    fleiss_kappa_table,
)
from neocus.stats.checks import DegenerateDataWarning

SM_WT = {"none": None, "linear": "linear", "quadratic": "quadratic"}


def _two_raters(seed: int, n: int = 120, k: int = 5):
    rng = np.random.default_rng(seed)
    a = rng.integers(1, k + 1, n)
    b = np.clip(a + rng.integers(-1, 2, n) * (rng.random(n) < 0.5), 1, k)
    return a, b


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("weights", ["none", "linear", "quadratic"])
def test_cohens_kappa_matches_statsmodels_and_sklearn(seed, weights):
    a, b = _two_raters(seed)
    res = cohens_kappa(a, b, weights=weights)
    table, _ = confusion_table(a, b)
    ref = sm_cohens_kappa(table, wt=SM_WT[weights])
    sk = cohen_kappa_score(a, b, weights=None if weights == "none" else weights)
    assert res.kappa == pytest.approx(ref.kappa, abs=1e-12)
    assert res.kappa == pytest.approx(sk, abs=1e-12)
    assert res.se == pytest.approx(math.sqrt(ref.var_kappa), abs=1e-12)
    assert res.se0 == pytest.approx(math.sqrt(ref.var_kappa0), abs=1e-12)
    assert res.z == pytest.approx(ref.z_value, abs=1e-9)
    assert res.p_value == pytest.approx(ref.pvalue_two_sided, abs=1e-12)
    assert res.p_value_greater == pytest.approx(ref.pvalue_one_sided, abs=1e-12)
    assert res.ci.low == pytest.approx(ref.kappa_low, abs=1e-12)
    assert res.ci.high == pytest.approx(ref.kappa_upp, abs=1e-12)
    assert res.n == len(a)


def test_binary_kappa_and_string_categories():
    a = np.array(["severe", "non", "non", "severe", "non", "non", "severe", "non"])
    b = np.array(["severe", "non", "severe", "severe", "non", "non", "non", "non"])
    res = cohens_kappa(a, b)
    assert res.categories == ("non", "severe")
    assert res.kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    # the same numbers as 0/1
    num = cohens_kappa((a == "severe").astype(int), (b == "severe").astype(int))
    assert num.kappa == pytest.approx(res.kappa) and num.se == pytest.approx(res.se)


def test_full_scale_categories_change_weighted_distances_like_sklearn_labels():
    a = np.array([1, 2, 5, 5, 1, 2, 5, 1])
    b = np.array([1, 5, 5, 2, 1, 2, 5, 2])
    res = cohens_kappa(a, b, weights="linear", categories=range(1, 6))
    assert res.kappa == pytest.approx(cohen_kappa_score(a, b, weights="linear", labels=[1, 2, 3, 4, 5]), abs=1e-12)
    used_only = cohens_kappa(a, b, weights="linear")
    assert used_only.kappa != pytest.approx(res.kappa)


def test_weights_matrices():
    assert np.array_equal(agreement_weights(3, weights="none"), np.eye(3))
    assert np.allclose(agreement_weights(3, weights="linear"), [[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]])
    assert np.allclose(agreement_weights(3, weights="quadratic"), [[1, 0.75, 0], [0.75, 1, 0.75], [0, 0.75, 1]])
    with pytest.raises(StatsInputError, match="weights"):
        agreement_weights(3, weights="cubic")  # type: ignore[arg-type]


def test_perfect_agreement_gives_one_with_zero_se():
    a = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    res = cohens_kappa(a, a)
    assert res.kappa == pytest.approx(1.0)
    assert res.se == pytest.approx(0.0, abs=1e-12)
    assert res.ci.low == pytest.approx(1.0) and res.ci.high == pytest.approx(1.0)
    assert res.p_value < 0.05


def test_ci_is_clipped_to_minus_one_one():
    res = cohens_kappa([0, 1, 0, 1], [1, 0, 1, 0])
    assert res.kappa == pytest.approx(-1.0)
    assert res.ci.low >= -1.0 and res.ci.high <= 1.0


def test_single_shared_category_is_undefined_with_warning():
    with pytest.warns(DegenerateDataWarning, match="undefined"):
        res = cohens_kappa([1, 1, 1], [1, 1, 1])
    assert math.isnan(res.kappa) and math.isnan(res.se) and math.isnan(res.p_value)
    assert res.observed == pytest.approx(1.0)


@pytest.mark.parametrize(
    "a, b, match",
    [
        ([0, 1, 1], [0, 1], "lengths differ"),
        ([0.0, np.nan, 1.0], [0, 1, 1], "NaN"),
        ([], [], "empty"),
        ([[0, 1]], [[0, 1]], "one-dimensional"),
    ],
)
def test_cohens_kappa_bad_input(a, b, match):
    with pytest.raises(StatsInputError, match=match):
        cohens_kappa(a, b)


def test_cohens_kappa_value_outside_given_categories():
    with pytest.raises(StatsInputError, match="not in categories"):
        cohens_kappa([1, 2, 6], [1, 2, 3], categories=range(1, 6))


def test_kappa_table_checks():
    with pytest.raises(StatsInputError, match="square"):
        cohens_kappa_table([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(StatsInputError, match="non-negative"):
        cohens_kappa_table([[1, -2], [3, 4]])
    with pytest.raises(StatsInputError, match="empty"):
        cohens_kappa_table([[0, 0], [0, 0]])
    with pytest.raises(StatsInputError, match="level"):
        cohens_kappa_table([[3, 1], [1, 3]], level=95)


# The example of Fleiss' kappa on Wikipedia (10 subjects, 14 raters, 5 categories), with the values
# published for it by Cardillo's MATLAB `fleiss` (File Exchange 15426): kappa 0.2099, SE 0.0170,
# z 12.3743, category kappas 0.2013 0.0797 0.1716 0.0304 0.5077 with SE 0.0331.
WIKI = np.array(
    [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]
)


def test_fleiss_kappa_published_example():
    res = fleiss_kappa_table(WIKI)
    assert res.kappa == pytest.approx(0.2099, abs=5e-5)
    assert res.kappa == pytest.approx(sm_fleiss_kappa(WIKI), abs=1e-12)
    assert res.se0 == pytest.approx(0.0170, abs=5e-5)
    assert res.z == pytest.approx(12.3743, abs=5e-4)
    assert np.allclose(res.category_kappas, [0.2013, 0.0797, 0.1716, 0.0304, 0.5077], atol=5e-5)
    assert res.category_se0 == pytest.approx(0.0331, abs=5e-5)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(res.z))
    assert res.n_subjects == 10 and res.n_raters == 14


@pytest.mark.parametrize("seed", [3, 4])
def test_fleiss_from_ratings_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 60)
    ratings = np.where(rng.random((60, 9)) < 0.8, truth[:, None], 1 - truth[:, None])
    res = fleiss_kappa(ratings)
    counts, cats = aggregate_raters(ratings)
    assert res.kappa == pytest.approx(sm_fleiss_kappa(counts), abs=1e-12)
    assert res.categories == tuple(cats.tolist())
    assert res.kappa > 0.2 and res.p_value < 1e-6


def test_fleiss_h0_se_formula_for_two_categories():
    # with two categories sum_j p_j q_j (q_j - p_j) = 0, so var0 = 2 / (N m (m - 1)) exactly
    counts = np.array([[3, 1], [1, 3], [2, 2], [4, 0]] * 5)
    res = fleiss_kappa_table(counts)
    assert res.se0 == pytest.approx(math.sqrt(2.0 / (20 * 4 * 3)), rel=1e-12)


def test_fleiss_degenerate_and_bad_input():
    with pytest.warns(DegenerateDataWarning, match="same category"):
        res = fleiss_kappa(np.zeros((5, 3), dtype=int))
    assert math.isnan(res.kappa)
    with pytest.raises(StatsInputError, match="same number of ratings"):
        fleiss_kappa_table([[2, 1], [1, 1]])
    with pytest.raises(StatsInputError, match="at least 2 raters"):
        fleiss_kappa(np.array([[1], [0]]))
    with pytest.raises(StatsInputError, match="2-D"):
        fleiss_kappa([0, 1, 1])
    with pytest.raises(StatsInputError, match="whole numbers"):
        fleiss_kappa_table([[1.5, 0.5], [1, 1]])


def test_results_are_json_ready():
    import json

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        undefined = cohens_kappa([1, 1], [1, 1])
    text = json.dumps([cohens_kappa([0, 1, 1, 0], [0, 1, 0, 0]).to_dict(), undefined.to_dict(), fleiss_kappa_table(WIKI).to_dict()])
    assert "NaN" not in text


# ------------------------------------------------------------------------------------ properties

_pairs = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=4, max_size=40)


@settings(max_examples=60, deadline=None)
@given(_pairs, st.sampled_from(["none", "linear", "quadratic"]))
def test_kappa_is_symmetric_and_bounded(pairs, weights):
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        ab = cohens_kappa(a, b, weights=weights, categories=range(4))
        ba = cohens_kappa(b, a, weights=weights, categories=range(4))
    if math.isnan(ab.kappa):
        assert math.isnan(ba.kappa)
        return
    assert ab.kappa == pytest.approx(ba.kappa, abs=1e-12)
    assert ab.se**2 == pytest.approx(ba.se**2, abs=1e-12) and ab.se0**2 == pytest.approx(ba.se0**2, abs=1e-12)
    assert -1.0 - 1e-12 <= ab.kappa <= 1.0 + 1e-12
    assert ab.ci.low <= ab.kappa + 1e-12 and ab.kappa <= ab.ci.high + 1e-12


@settings(max_examples=40, deadline=None)
@given(_pairs)
def test_unweighted_kappa_ignores_category_names(pairs):
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    names = np.array(["pvl", "ivh", "normal", "cyst"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        num = cohens_kappa(a, b)
        txt = cohens_kappa(names[a], names[b])
    assert (math.isnan(num.kappa) and math.isnan(txt.kappa)) or num.kappa == pytest.approx(txt.kappa, abs=1e-12)
