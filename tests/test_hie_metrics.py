"""neocus.hie.metrics against values worked out by hand on tiny masks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neocus.errors import NeocusError
from neocus.hie.metrics import case_metrics, case_rows_csv, report_json, summarise, summarise_metric


def _masks(shape=(10, 10, 12)):
    return np.zeros(shape, bool), np.zeros(shape, bool)


def test_two_single_voxels_apart():
    # truth at (5,5,5), prediction at (5,5,7); axis 2 has 1.5 mm spacing -> both directed distances 3 mm
    p, t = _masks()
    t[5, 5, 5] = True
    p[5, 5, 7] = True
    m = case_metrics(p, t, spacing=(2.0, 1.0, 1.5))
    assert m.dice == 0.0
    assert m.masd == pytest.approx(3.0)
    assert m.hd95 == pytest.approx(3.0)
    assert m.nsd == 0.0  # 3 mm > 2 mm tolerance
    assert case_metrics(p, t, spacing=(2.0, 1.0, 1.5), tolerance_mm=3.0).nsd == 1.0
    assert m.sensitivity == 0.0 and m.detection_rate == 0.0


def test_one_extra_voxel_far_away():
    # truth {a}; prediction {a, b}, b 4 voxels away along axis 2 (1.5 mm) = 6 mm
    # P->T distances [0, 6], T->P [0]: MASD = (3 + 0) / 2 = 1.5; HD95 = max(percentile([0, 6], 95), 0) = 5.7
    # NSD@2mm = (1 + 1) / (2 + 1) = 2/3; Dice = 2 * 1 / (1 + 2) = 2/3
    p, t = _masks()
    t[4, 4, 4] = True
    p[4, 4, 4] = p[4, 4, 8] = True
    m = case_metrics(p, t, spacing=(1.0, 1.0, 1.5))
    assert m.masd == pytest.approx(1.5)
    assert m.hd95 == pytest.approx(5.7)
    assert m.nsd == pytest.approx(2 / 3)
    assert m.dice == pytest.approx(2 / 3)
    assert m.sensitivity == 1.0
    n = p.size
    assert m.specificity == pytest.approx((n - 2) / (n - 1))
    assert (m.true_components, m.pred_components) == (1, 2)
    assert m.pred_ml == pytest.approx(2 * 1.5 / 1000)


def test_specificity_counts_only_inside_the_region():
    p, t = _masks()
    t[4, 4, 4] = True
    p[4, 4, 4] = p[4, 4, 5] = True
    region = np.zeros_like(t)
    region[3:6, 3:6, 3:6] = True  # 27 voxels, 26 negatives, one false positive
    assert case_metrics(p, t, spacing=(1, 1, 1), region=region).specificity == pytest.approx(25 / 26)


def test_detection_rate_counts_true_components_touched():
    p, t = _masks()
    t[1:3, 1:3, 1:3] = True  # component 1
    t[6:8, 6:8, 6:8] = True  # component 2
    p[2, 2, 2] = True  # touches only component 1
    m = case_metrics(p, t, spacing=(1, 1, 1))
    assert m.detection_rate == 0.5
    assert m.true_components == 2
    assert m.sensitivity == pytest.approx(1 / 16)


def test_empty_truth_conventions():
    p, t = _masks()
    both = case_metrics(p, t, spacing=(1, 1, 1))
    assert (both.dice, both.masd, both.hd95, both.nsd) == (1.0, 0.0, 0.0, 1.0)
    assert math.isnan(both.sensitivity) and math.isnan(both.detection_rate) and both.specificity == 1.0
    p[3, 3, 3] = True
    false_alarm = case_metrics(p, t, spacing=(1, 1, 1))
    assert (false_alarm.dice, false_alarm.nsd) == (0.0, 0.0)
    assert math.isnan(false_alarm.masd) and math.isnan(false_alarm.hd95)
    missed = case_metrics(t, p, spacing=(1, 1, 1))
    assert missed.dice == 0.0 and missed.sensitivity == 0.0 and missed.detection_rate == 0.0


def test_identical_cubes_are_perfect():
    p, t = _masks()
    t[2:6, 2:6, 2:6] = True
    m = case_metrics(t.copy(), t, spacing=(2, 1, 1))
    assert (m.dice, m.masd, m.hd95, m.nsd, m.sensitivity) == (1.0, 0.0, 0.0, 1.0, 1.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(NeocusError, match="one shape"):
        case_metrics(np.zeros((2, 3, 4)), np.zeros((2, 3, 5)), spacing=(1, 1, 1))


def test_summary_mean_t_interval_and_nan_excluded():
    # mean 0.4, sd 0.2, t(0.975, df 2) = 4.302653 -> half width 4.302653 * 0.2 / sqrt(3) = 0.496828
    s = summarise_metric([0.2, 0.4, 0.6, float("nan")])
    assert s.mean == pytest.approx(0.4) and s.n == 3 and s.median == pytest.approx(0.4)
    assert s.ci == pytest.approx((0.4 - 0.496828, 0.4 + 0.496828), abs=1e-5)
    assert summarise_metric([]).n == 0


def test_report_json_has_top_level_means_and_rows():
    p, t = _masks()
    t[4, 4, 4] = True
    rows = [case_metrics(t, t, spacing=(1, 1, 1), case_id="a"), case_metrics(p, t, spacing=(1, 1, 1), case_id="b")]
    data = report_json(summarise(rows))
    assert data["dice"] == pytest.approx(0.5)
    assert data["nsd"] == pytest.approx(0.5)
    assert data["masd"] == 0.0 and data["summary"]["masd"]["n"] == 1  # undefined for the missed case
    assert [c["case_id"] for c in data["cases"]] == ["a", "b"]
    csv = case_rows_csv(rows).splitlines()
    assert csv[0].startswith("case_id,dice,masd") and csv[2].split(",")[2] == ""
