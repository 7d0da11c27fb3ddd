"""Judging cerebellar hypoplasia calls: the TCD rule, and the numbers of the ablation (issue #16 point 5).

* :func:`tcd_rule`: the plain measurement rule, TCD below the 5th centile for the gestational age
  (:mod:`neocus.fetal.norms`, INTERGROWTH-21st), from masks through
  :func:`neocus.fetal.posterior_fossa.measure_posterior_fossa`. It needs a pixel size and the GA; the
  networks need neither. Its score is ``-z`` (larger: smaller cerebellum for the GA).
* :func:`binary_summary`: AUC with the DeLong interval, sensitivity and specificity at a threshold
  fixed beforehand (with exact intervals), the fraction called positive per condition, Brier score
  and expected calibration error (for probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neocus.fetal.posterior_fossa import measure_posterior_fossa
from neocus.results import AsDict

__all__ = ["BinarySummary", "TcdRuleResult", "binary_summary", "brier_score", "tcd_rule", "HYPOPLASIA_CENTILE"]

HYPOPLASIA_CENTILE = 5.0  # TCD below this centile for GA: hypoplasia


@dataclass(frozen=True)
class TcdRuleResult(AsDict):
    """TCD (mm), its z-score and centile for the GA, the call (centile < 5); ``None`` with ``reason``."""

    tcd_mm: float | None
    z: float | None
    centile: float | None
    flag: bool | None
    reason: str | None

    @property
    def score(self) -> float:
        """``-z`` (NaN when the rule could not run)."""
        return float("nan") if self.z is None else -float(self.z)


def tcd_rule(cerebellum: np.ndarray, cistern: np.ndarray, head: np.ndarray, *, pixel_mm: float | None,
             ga_weeks: float | None) -> TcdRuleResult:
    """The TCD rule on one image's bool masks (see the module docstring)."""
    res = measure_posterior_fossa(cerebellum, cistern, head, pixel_mm=pixel_mm, ga_weeks=ga_weeks)
    if res.tcd_mm is None:
        return TcdRuleResult(None, None, None, None, res.reasons.get("tcd_mm", "no TCD"))
    if res.tcd is None or res.tcd.z is None:
        reason = res.reasons.get("tcd_centile") or (res.tcd.reason if res.tcd is not None else "no centile")
        return TcdRuleResult(res.tcd_mm, None, None, None, reason)
    return TcdRuleResult(res.tcd_mm, float(res.tcd.z), float(res.tcd.centile), bool(res.tcd.centile < HYPOPLASIA_CENTILE), None)


def brier_score(y_true, y_prob) -> float:
    y, p = np.asarray(y_true, np.float64), np.asarray(y_prob, np.float64)
    return float(np.mean((p - y) ** 2))


@dataclass(frozen=True)
class BinarySummary(AsDict):
    """One method on one set of images (see the module docstring); ``brier`` / ``ece`` ``None`` for a score
    that is not a probability."""

    n: int
    n_positive: int
    auc: float
    auc_ci: tuple[float, float]
    threshold: float
    sensitivity: float
    sensitivity_ci: tuple[float, float]
    specificity: float
    specificity_ci: tuple[float, float]
    called_positive_by_condition: dict[str, float]
    brier: float | None
    ece: float | None


def binary_summary(y_true, y_score, *, threshold: float, conditions, probability: bool) -> BinarySummary:
    """Summary of ``y_score`` against ``y_true``; a case is called positive when ``score >= threshold``."""
    from neocus.diagnose.calibrate import expected_calibration_error
    from neocus.stats import roc_auc, sensitivity, specificity

    y, s = np.asarray(y_true, np.int64), np.asarray(y_score, np.float64)
    pred = (s >= threshold).astype(np.int64)
    auc = roc_auc(y, s)
    sens, spec = sensitivity(y, pred), specificity(y, pred)
    cond = np.asarray([str(c) for c in conditions])
    by_cond = {c: float(pred[cond == c].mean()) for c in sorted(set(cond.tolist()))}
    return BinarySummary(
        n=len(y), n_positive=int(y.sum()), auc=auc.auc, auc_ci=(auc.ci.low, auc.ci.high), threshold=float(threshold),
        sensitivity=sens.estimate, sensitivity_ci=(sens.ci.low, sens.ci.high), specificity=spec.estimate,
        specificity_ci=(spec.ci.low, spec.ci.high), called_positive_by_condition=by_cond,
        brier=brier_score(y, s) if probability else None, ece=expected_calibration_error(y, s) if probability else None,
    )
