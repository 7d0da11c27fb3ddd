"""Calibration: temperature and isotonic fits on out-of-fold predictions, ECE, reliability plot."""

from __future__ import annotations

import numpy as np
import pytest

from neocus.diagnose.calibrate import Calibration, expected_calibration_error, fit_calibration, reliability, reliability_plot


def overconfident(n=4000, t_true=2.5, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    p_over = 1 / (1 + np.exp(-z * t_true))  # logits scaled up: overconfident
    return y, p_over


def test_temperature_recovers_the_scale():
    y, p = overconfident()
    cal = fit_calibration(y, p, method="temperature")
    assert cal.temperature == pytest.approx(2.5, rel=0.1)
    assert expected_calibration_error(y, cal.apply(p)) < expected_calibration_error(y, p) / 2


def test_isotonic_is_monotone_and_calibrates():
    y, p = overconfident(seed=1)
    cal = fit_calibration(y, p, method="isotonic")
    q = cal.apply(np.linspace(0, 1, 101))
    assert np.all(np.diff(q) >= -1e-12)
    assert expected_calibration_error(y, cal.apply(p)) < expected_calibration_error(y, p) / 2
    again = Calibration.from_dict(cal.to_dict())
    assert np.allclose(again.apply(p), cal.apply(p))


def test_ece_by_hand():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.95])  # bin 0: conf .05 acc .5; bin 9: conf .95 acc 1
    rb = reliability(y, p, n_bins=10)
    assert rb.count[0] == 2 and rb.count[9] == 2
    assert rb.ece == pytest.approx(0.5 * 0.45 + 0.5 * 0.05)


def test_reliability_plot(tmp_path):
    y, p = overconfident(n=300)
    path = reliability_plot({"raw": reliability(y, p)}, tmp_path / "rel.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_none_is_identity():
    p = np.array([0.1, 0.7])
    assert np.array_equal(fit_calibration([0, 1], p, method="none").apply(p), p)
