"""Choosing an operating threshold on a score: Youden, fixed sensitivity, fixed specificity.

A case is called positive iff ``score >= threshold``. Thresholds are pROC's (midpoints between
consecutive distinct scores, or -inf / +inf), so they separate the observed scores cleanly and apply
unchanged to new cases. The reported sensitivity/specificity are those on the given data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neocus.errors import StatsInputError
from neocus.stats.results import AsDict
from neocus.stats.roc import RocCurve, roc_curve


@dataclass(frozen=True)
class ThresholdResult(AsDict):
    """An operating point: ``score >= threshold`` is positive.

    ``criterion`` is ``"youden"``, ``"sensitivity"`` or ``"specificity"``; ``target`` the required
    minimum for the fixed-sensitivity/-specificity criteria (NaN for Youden). ``youden`` is
    sensitivity + specificity - 1 at this point.
    """

    threshold: float
    sensitivity: float
    specificity: float
    criterion: str
    target: float = float("nan")

    @property
    def youden(self) -> float:
        return self.sensitivity + self.specificity - 1.0


def _curve(y_true, y_score) -> RocCurve:
    return y_true if isinstance(y_true, RocCurve) else roc_curve(y_true, y_score)


def _check_target(target: float, what: str) -> float:
    target = float(target)
    if not 0.0 <= target <= 1.0:
        raise StatsInputError(f"target {what} must be between 0 and 1, got {target}")
    return target


def youden_threshold(y_true, y_score=None) -> ThresholdResult:
    """Threshold maximising sensitivity + specificity - 1.

    Ties in the Youden index are broken towards the higher sensitivity (the lower threshold): for
    screening, a missed lesion costs more than a false alarm. ``y_true`` may also be a RocCurve.
    """
    c = _curve(y_true, y_score)
    j = c.sensitivity + c.specificity - 1.0
    best = np.flatnonzero(np.isclose(j, j.max(), rtol=0, atol=1e-12))
    i = int(best[np.argmax(c.sensitivity[best])])
    return ThresholdResult(float(c.thresholds[i]), float(c.sensitivity[i]), float(c.specificity[i]), "youden")


def threshold_for_sensitivity(y_true, y_score=None, *, target: float = 0.9) -> ThresholdResult:
    """Threshold with the best specificity among those with sensitivity >= ``target`` (ties: higher sensitivity)."""
    target = _check_target(target, "sensitivity")
    c = _curve(y_true, y_score)
    ok = np.flatnonzero(c.sensitivity >= target - 1e-12)  # always includes -inf (sensitivity 1)
    i = int(ok[np.lexsort((c.sensitivity[ok], c.specificity[ok]))[-1]])  # best specificity, then sensitivity
    return ThresholdResult(float(c.thresholds[i]), float(c.sensitivity[i]), float(c.specificity[i]), "sensitivity", target)


def threshold_for_specificity(y_true, y_score=None, *, target: float = 0.9) -> ThresholdResult:
    """Threshold with the best sensitivity among those with specificity >= ``target`` (ties: higher specificity)."""
    target = _check_target(target, "specificity")
    c = _curve(y_true, y_score)
    ok = np.flatnonzero(c.specificity >= target - 1e-12)  # always includes +inf (specificity 1)
    i = int(ok[np.lexsort((c.specificity[ok], c.sensitivity[ok]))[-1]])  # best sensitivity, then specificity
    return ThresholdResult(float(c.thresholds[i]), float(c.sensitivity[i]), float(c.specificity[i]), "specificity", target)
