"""An anatomy-constrained cerebellar hypoplasia score from the posterior-fossa measurements (issue #16).

The score is a logistic regression over the z-scores, for the gestational age, of the two
measurements the posterior-fossa model gives (:mod:`neocus.fetal.posterior_fossa`, norms of
:mod:`neocus.fetal.norms`): the transverse cerebellar diameter and the cisterna magna depth, and (the
fused score, :data:`FUSED_FEATURES`) the logit of the anatomy-constrained classifier
(:mod:`neocus.fetal.hypoplasia_model`). It needs only what ``fetal measure`` has (the image, the GA,
the pixel size and the bundled models), and its coefficients are a small JSON file
(``models/fetal/hypoplasia/hypoplasia_score.json``) fitted on a phantom validation pool only, never on
the hold-out (:func:`fit_hypoplasia_score`; ``benchmarks/fetal_hypoplasia_score.py --write-score``, the
command is in docs/fetal.md). Its probability is calibrated by construction (a logistic fit on the
validation pool).

* z-scores (and the logit) are clipped to +-:data:`Z_CLIP` (a missed or doubled structure must not dominate);
* no TCD z-score (no cerebellum, no pixel size, no GA or a GA outside the norm): no probability, with
  the reason;
* no cisterna magna z-score while the TCD has one: the cisterna magna term is 0 (its mean), said in
  ``reasons``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neocus.atomic import atomic_target
from neocus.bundled import bundled_model_dir
from neocus.errors import InputFileError, NeocusError
from neocus.fetal.posterior_fossa import PosteriorFossaResult
from neocus.results import AsDict

__all__ = ["FEATURES", "FUSED_FEATURES", "LOGIT_FEATURE", "HypoplasiaScore", "HypoplasiaScoreResult", "Z_CLIP", "default_score_path", "fit_hypoplasia_score",
           "hypoplasia_probability", "load_hypoplasia_score", "save_hypoplasia_score", "score_features", "score_of_features"]

FEATURES = ("tcd_z", "cisterna_magna_z")
LOGIT_FEATURE = "classifier_logit"  # the hypoplasia classifier's logit, before its temperature
FUSED_FEATURES = (*FEATURES, LOGIT_FEATURE)
Z_CLIP = 6.0
SCORE_NAME = "hypoplasia_score.json"


@dataclass(frozen=True)
class HypoplasiaScore(AsDict):
    """Logistic coefficients over :data:`FEATURES` (or :data:`FUSED_FEATURES`), the probability at which a case is
    called, and how it was fitted."""

    coef: tuple[float, ...]
    intercept: float
    threshold: float
    features: tuple[str, ...] = FEATURES
    fitted_on: str = ""

    def __post_init__(self) -> None:
        if tuple(self.features) not in (FEATURES, FUSED_FEATURES) or len(self.coef) != len(self.features):
            raise NeocusError(f"the score has features {list(self.features)} with {len(self.coef)} coefficients; "
                              f"expected {list(FEATURES)} or {list(FUSED_FEATURES)}", where="features")
        object.__setattr__(self, "features", tuple(self.features))
        if not (np.all(np.isfinite(self.coef)) and np.isfinite(self.intercept) and 0.0 < self.threshold < 1.0):
            raise NeocusError("the score's coefficients must be finite and its threshold in (0, 1)", where="coef")

    @property
    def uses_classifier(self) -> bool:
        return LOGIT_FEATURE in self.features

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Probability of hypoplasia for feature rows ``[N, len(features)]`` (clipped here)."""
        z = np.clip(np.asarray(x, np.float64), -Z_CLIP, Z_CLIP)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.intercept)))


@dataclass(frozen=True)
class HypoplasiaScoreResult(AsDict):
    """The probability and the call (probability >= the score's threshold); ``None`` with ``reason``."""

    probability: float | None
    call: bool | None
    threshold: float
    features: dict[str, float | None]
    reasons: dict[str, str] = field(default_factory=dict)


def score_features(result: PosteriorFossaResult) -> tuple[dict[str, float | None], dict[str, str]]:
    """The z-scores of :data:`FEATURES` of one measurement (``None`` where missing) and why each is missing."""
    values: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    for name, res, mm in (("tcd_z", result.tcd, "tcd_mm"), ("cisterna_magna_z", result.cisterna_magna, "cisterna_magna_mm")):
        values[name] = None if res is None or res.z is None else float(res.z)
        if values[name] is None:
            base = mm.removesuffix("_mm")
            reasons[name] = (result.reasons.get(mm) or result.reasons.get(f"{base}_centile")
                             or (res.reason if res is not None and res.reason else "not measured"))
    return values, reasons


def hypoplasia_probability(result: PosteriorFossaResult, *, score: HypoplasiaScore,
                           classifier_logit: float | None = None) -> HypoplasiaScoreResult:
    """The score of one posterior-fossa measurement (and, for a fused score, the classifier's logit; see the
    module docstring)."""
    values, reasons = score_features(result)
    return score_of_features(values, reasons, score=score, classifier_logit=classifier_logit)


def score_of_features(values: dict[str, float | None], reasons: dict[str, str], *, score: HypoplasiaScore,
                      classifier_logit: float | None = None) -> HypoplasiaScoreResult:
    """The score of z-scores ``values`` (:data:`FEATURES`, ``None`` where missing, with ``reasons``) and, for
    a fused score, the classifier's logit."""
    values = dict(values)
    if score.uses_classifier:
        values[LOGIT_FEATURE] = None if classifier_logit is None else float(classifier_logit)
        if classifier_logit is None:
            return HypoplasiaScoreResult(probability=None, call=None, threshold=score.threshold, features=values,
                                         reasons={"hypoplasia_probability": "the fused score needs the classifier's logit"})
    if values["tcd_z"] is None:
        return HypoplasiaScoreResult(probability=None, call=None, threshold=score.threshold, features=values,
                                     reasons={"hypoplasia_probability": f"no TCD z-score: {reasons['tcd_z']}"})
    out_reasons = {}
    if values["cisterna_magna_z"] is None:
        out_reasons["cisterna_magna_z"] = f"taken as 0 (the mean): {reasons['cisterna_magna_z']}"
    row = [values["tcd_z"], values["cisterna_magna_z"] or 0.0] + ([values[LOGIT_FEATURE]] if score.uses_classifier else [])
    p = float(score.probability(np.array([row]))[0])
    return HypoplasiaScoreResult(probability=p, call=p >= score.threshold, threshold=score.threshold, features=values,
                                 reasons=out_reasons)


def fit_hypoplasia_score(x: np.ndarray, y_true: np.ndarray, *, features: tuple[str, ...] = FEATURES,
                         fitted_on: str = "") -> HypoplasiaScore:
    """Logistic regression (scikit-learn, L2, C = 1) of ``y_true`` on feature rows ``[N, len(features)]``
    (:data:`FEATURES` or :data:`FUSED_FEATURES`; missing values as NaN: the TCD's rows are dropped, the
    others set to 0); the threshold is Youden's on the same rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_curve

    x, y = np.asarray(x, np.float64), np.asarray(y_true).astype(int)
    if x.ndim != 2 or x.shape[1] != len(features) or len(x) != len(y):
        raise NeocusError(f"features {x.shape} do not match {len(y)} labels x {len(features)} features", where="x")
    keep = np.isfinite(x[:, 0])
    x = np.clip(np.nan_to_num(x[keep], nan=0.0), -Z_CLIP, Z_CLIP)
    y = y[keep]
    if len(np.unique(y)) < 2:
        raise NeocusError("the labels hold one class only; both are needed to fit the score", where="y_true")
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    fpr, tpr, thr = roc_curve(y, lr.predict_proba(x)[:, 1])
    threshold = float(np.clip(thr[int(np.argmax(tpr - fpr))], 1e-6, 1 - 1e-6))
    return HypoplasiaScore(coef=tuple(float(c) for c in lr.coef_[0]), intercept=float(lr.intercept_[0]), threshold=threshold,
                           features=tuple(features), fitted_on=fitted_on)


def default_score_path() -> Path:
    """The bundled score: ``models/fetal/hypoplasia/hypoplasia_score.json`` (beside its classifier)."""
    return bundled_model_dir("fetal", "hypoplasia") / SCORE_NAME


def save_hypoplasia_score(score: HypoplasiaScore, path: str | Path) -> None:
    with atomic_target(Path(path)) as tmp:
        Path(tmp).write_text(json.dumps(score.to_dict(), indent=1) + "\n", encoding="utf-8")


def load_hypoplasia_score(path: str | Path | None = None) -> HypoplasiaScore:
    """Read a score file (default: the bundled one); a missing or malformed file is an ``InputFileError``."""
    path = Path(path) if path is not None else default_score_path()
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return HypoplasiaScore(coef=tuple(d["coef"]), intercept=float(d["intercept"]), threshold=float(d["threshold"]),
                               features=tuple(d["features"]), fitted_on=str(d.get("fitted_on", "")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(f"cannot read the hypoplasia score: {exc}", where=str(path),
                             hint="give the JSON written when the score was fitted") from exc
