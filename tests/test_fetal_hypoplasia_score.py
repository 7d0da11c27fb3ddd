"""The anatomy-constrained hypoplasia score (neocus.fetal.hypoplasia_score): features from a posterior-fossa
measurement, the probability against a hand computation, the missing-value rules, fitting, the file, and
the size-weighted draws of the posterior-fossa training."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from neocus.errors import InputFileError, NeocusError
from neocus.fetal.cerebellum_train import CerebellumTrainOptions, cerebellum_size, size_weights
from neocus.fetal.hypoplasia_score import (FEATURES, HypoplasiaScore, fit_hypoplasia_score, hypoplasia_probability, load_hypoplasia_score,
                                           save_hypoplasia_score, score_features)
from neocus.fetal.norms import FetalMeasure, assess
from neocus.fetal.phantom_anatomy import LABEL_IDS
from neocus.fetal.plane_data import PLANES, PlanePool
from neocus.fetal.posterior_fossa import measure_posterior_fossa
from neocus.vocab import FetalPlane, FetalStructure

SCORE = HypoplasiaScore(coef=(-2.0, 0.5), intercept=-1.0, threshold=0.4)


def _masks(tcd_px: int):
    head = np.zeros((201, 201), np.uint8)
    cv2.ellipse(head, (100, 100), (55, 85), 0, 0, 360, 1, -1)
    cb = np.zeros_like(head)
    cb[130:144, 100 - tcd_px // 2:100 - tcd_px // 2 + tcd_px] = 1
    cs = np.zeros_like(head)
    cs[144:156, 96:105] = 1  # 12 px deep on the midline
    return cb.astype(bool), cs.astype(bool), head.astype(bool)


def test_probability_is_the_logistic_of_the_z_scores():
    r = measure_posterior_fossa(*_masks(40), pixel_mm=0.5, ga_weeks=24.0)  # TCD 20 mm, CM 6 mm at 24 weeks
    tz = assess(20.0, measure=FetalMeasure.TCD, ga_weeks=24.0).z
    cz = assess(6.0, measure=FetalMeasure.CISTERNA_MAGNA, ga_weeks=24.0).z
    assert tz < -1.0  # a small cerebellum for 24 weeks
    values, reasons = score_features(r)
    assert values == pytest.approx({"tcd_z": tz, "cisterna_magna_z": cz}) and reasons == {}
    got = hypoplasia_probability(r, score=SCORE)
    want = 1.0 / (1.0 + math.exp(-(-2.0 * tz + 0.5 * cz - 1.0)))
    assert got.probability == pytest.approx(want) and got.call == (want >= 0.4) and got.reasons == {}
    bigger = hypoplasia_probability(measure_posterior_fossa(*_masks(60), pixel_mm=0.5, ga_weeks=24.0), score=SCORE)
    assert bigger.probability < got.probability  # a wider cerebellum: less likely hypoplastic
    clipped = SCORE.probability(np.array([[-100.0, 0.0]]))[0]
    assert clipped == pytest.approx(1.0 / (1.0 + math.exp(-(12.0 - 1.0))))  # z clipped to -6


def test_missing_values_give_null_or_zero_with_the_reason():
    cb, cs, head = _masks(40)
    no_ga = hypoplasia_probability(measure_posterior_fossa(cb, cs, head, pixel_mm=0.5), score=SCORE)
    assert no_ga.probability is None and no_ga.call is None and "gestational age" in no_ga.reasons["hypoplasia_probability"]
    no_px = hypoplasia_probability(measure_posterior_fossa(cb, cs, head, pixel_mm=None, ga_weeks=24.0), score=SCORE)
    assert no_px.probability is None and "pixel spacing" in no_px.reasons["hypoplasia_probability"]
    late = hypoplasia_probability(measure_posterior_fossa(cb, cs, head, pixel_mm=0.5, ga_weeks=41.0), score=SCORE)
    assert late.probability is None and "40" in late.reasons["hypoplasia_probability"]  # the norm is not extrapolated
    no_cm = hypoplasia_probability(measure_posterior_fossa(cb, np.zeros_like(cs), head, pixel_mm=0.5, ga_weeks=24.0), score=SCORE)
    tz = assess(20.0, measure=FetalMeasure.TCD, ga_weeks=24.0).z
    assert no_cm.probability == pytest.approx(1.0 / (1.0 + math.exp(-(-2.0 * tz - 1.0))))
    assert "taken as 0" in no_cm.reasons["cisterna_magna_z"]


def test_fit_recovers_the_direction_and_the_file_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    x = np.c_[np.where(y, -2.5, 0.0) + rng.normal(0, 0.7, 400), rng.normal(0, 1, 400)]
    x[:5, 1] = np.nan  # no cisterna magna: taken as 0
    x[5:8, 0] = np.nan  # no TCD: dropped
    s = fit_hypoplasia_score(x, y, fitted_on="test")
    assert s.coef[0] < -1.0 and abs(s.coef[1]) < 0.5 and 0 < s.threshold < 1 and s.features == FEATURES
    p = s.probability(np.nan_to_num(x[8:]))
    assert p[y[8:]].mean() > 0.6 > 0.2 > p[~y[8:]].mean()
    save_hypoplasia_score(s, tmp_path / "s.json")
    assert load_hypoplasia_score(tmp_path / "s.json") == s
    with pytest.raises(NeocusError, match="one class"):
        fit_hypoplasia_score(x, np.zeros(400, bool))
    (tmp_path / "bad.json").write_text('{"coef": [1.0]}')
    with pytest.raises(InputFileError):
        load_hypoplasia_score(tmp_path / "bad.json")
    with pytest.raises(InputFileError):
        load_hypoplasia_score(tmp_path / "missing.json")
    with pytest.raises(NeocusError, match="threshold"):
        HypoplasiaScore(coef=(1.0, 1.0), intercept=0.0, threshold=1.5)


def test_size_weights_favour_large_cerebella():
    tc = PLANES.index(FetalPlane.TRANS_CEREBELLAR)
    labels = np.zeros((3, 64, 64), np.uint8)
    for k, r in enumerate((4, 8, 12)):
        cv2.circle(labels[k], (32, 32), 28, LABEL_IDS[FetalStructure.BRAIN], -1)
        cv2.circle(labels[k], (32, 40), r, LABEL_IDS[FetalStructure.CEREBELLAR_HEMISPHERE], -1)
    pool = PlanePool(images=np.zeros_like(labels), labels=labels, planes=np.full(3, tc))
    sizes = [cerebellum_size(lab) for lab in labels]
    assert sizes == pytest.approx([math.sqrt((labels[k] == LABEL_IDS[FetalStructure.CEREBELLAR_HEMISPHERE]).sum() / (labels[k] > 0).sum())
                                   for k in range(3)])
    w = size_weights(pool, power=4.0)
    assert w.sum() == pytest.approx(1.0) and w[0] < w[1] < w[2]
    assert w[2] / w[1] == pytest.approx((sizes[2] / sizes[1]) ** 4)
    assert size_weights(pool, power=0.0) == pytest.approx(np.full(3, 1 / 3))
    for bad in ({"size_power": -1.0}, {"aspect_jitter": 1.0}, {"aspect_jitter": -0.1}):
        with pytest.raises(NeocusError):
            CerebellumTrainOptions(**bad)
