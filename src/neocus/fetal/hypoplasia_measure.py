"""The cerebellar hypoplasia call of ``fetal measure`` (issue #16 points 5 and 6).

A hypoplasia model folder (the bundled ``models/fetal/hypoplasia``) holds the anatomy-constrained
classifier (:mod:`neocus.fetal.hypoplasia_model`: config, float16 weights, calibration) and, beside
it, ``hypoplasia_score.json`` (:mod:`neocus.fetal.hypoplasia_score`): the logistic score fitted on the
phantom validation pool over the TCD z-score, the cisterna magna z-score (from the posterior-fossa
model's masks, :mod:`neocus.fetal.fossa_measure`) and the classifier's logit. On a trans-cerebellar
plane with a gestational age and a pixel size, :func:`assess_hypoplasia` gives

* ``probability``: the fused score's probability (a logistic fit: calibrated on the phantom validation
  pool), ``flag`` at its threshold, ``method`` ``"score+classifier"``; when no TCD z-score could be
  made, the classifier's own temperature-calibrated probability and flag at its threshold, ``method``
  ``"classifier"`` (said in ``reasons``);
* ``classifier``: the classifier's own prediction; ``features``: what the score read;
* ``tcd_rule``: the plain measurement rule beside it (TCD below the 5th centile for the GA);
* the Grad-CAM heatmap of the classifier (:mod:`neocus.fetal.hypoplasia_cam`) on its input crop.

No call (``None`` and the reason) on another plane, without a plane, without a gestational age or a
pixel size (the GA-aware classifier and the centiles need both), without a head (the crop is centred
on it) or without a model. Research software on a phantom-trained model: not a clinical device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from neocus.errors import InputFileError, parse_choice
from neocus.fetal.hypoplasia_eval import HYPOPLASIA_CENTILE
from neocus.fetal.hypoplasia_model import HypoplasiaModel, load_hypoplasia_model, model_input, prediction_of
from neocus.fetal.hypoplasia_score import LOGIT_FEATURE, SCORE_NAME, HypoplasiaScore, load_hypoplasia_score, score_of_features
from neocus.results import AsDict
from neocus.vocab import FetalPlane

__all__ = ["HEATMAP_NAME", "HypoplasiaBundle", "HypoplasiaCall", "assess_hypoplasia", "load_hypoplasia_bundle"]

HEATMAP_NAME = "hypoplasia_heatmap.png"
HEATMAP_SIDE = 336  # the heatmap picture is drawn this wide (the network sees 112 px)
NO_MODEL = "no hypoplasia model was loaded"


@dataclass(frozen=True, eq=False)
class HypoplasiaBundle:
    """The classifier and the fused score of one hypoplasia model folder (``score`` ``None``: classifier only)."""

    model: HypoplasiaModel
    score: HypoplasiaScore | None
    path: Path | None = None

    @property
    def method(self) -> str:
        return "score+classifier" if self.score is not None else "classifier"


@dataclass(frozen=True)
class HypoplasiaCall(AsDict):
    """The ``hypoplasia`` block of ``result.json`` (see the module docstring)."""

    probability: float
    flag: bool
    threshold: float
    method: str
    classifier: dict[str, Any]
    features: dict[str, float | None]
    tcd_rule: dict[str, Any]
    heatmap: str | None = HEATMAP_NAME
    reasons: dict[str, str] = field(default_factory=dict)
    model: str = ""


def load_hypoplasia_bundle(folder: str | Path | None = None) -> HypoplasiaBundle:
    """The classifier of ``folder`` (default: the bundled ``models/fetal/hypoplasia``) and its
    ``hypoplasia_score.json`` when there (a fused score must name the classifier's logit). A missing or
    corrupt file is an ``InputFileError``."""
    from neocus.fetal.hypoplasia_model import default_hypoplasia_model_dir

    path = Path(folder) if folder is not None else default_hypoplasia_model_dir()
    model = load_hypoplasia_model(path)
    score = load_hypoplasia_score(path / SCORE_NAME) if (path / SCORE_NAME).is_file() else None
    if score is not None and not score.uses_classifier:
        raise InputFileError(f"{SCORE_NAME} does not read the classifier's logit ({LOGIT_FEATURE})", where=path / SCORE_NAME,
                             hint="write the fused score with benchmarks/fetal_hypoplasia_score.py --classifiers THIS_FOLDER --write-score")
    return HypoplasiaBundle(model=model, score=score, path=path)


def no_call_reason(bundle: HypoplasiaBundle | None, *, plane: FetalPlane | str | None, plane_source: str | None,
                   ga_weeks: float | None, pixel_mm: float | None, head_found: bool) -> str | None:
    """Why no hypoplasia call can be made (``None``: it can)."""
    if plane is None:
        return "no plane: the plane was not given and no plane model recognised it (the call is made on a trans-cerebellar plane)"
    plane = parse_choice(FetalPlane, plane, what="plane")
    if plane is not FetalPlane.TRANS_CEREBELLAR:
        return f"made only on a trans-cerebellar plane; the plane {plane_source or 'given'} is {plane.value}"
    if bundle is None:
        return NO_MODEL
    missing = [what for what, value in (("no gestational age (give `ga_weeks`)", ga_weeks), ("no pixel spacing (give `pixel_mm`)", pixel_mm))
               if value is None]
    if missing:
        return f"{' and '.join(missing)}: the GA-aware classifier's crop and the TCD centile need both"
    if not head_found:
        return "no head found: the classifier's crop is centred on the head"
    return None


def _tcd_rule(centiles: dict[str, Any], reasons: dict[str, str]) -> dict[str, Any]:
    tcd = centiles.get("tcd")
    if tcd is None:
        why = reasons.get("tcd_mm") or reasons.get("tcd_centile") or "no TCD centile"
        return {"call": None, "tcd_centile": None, "below_centile": HYPOPLASIA_CENTILE, "reason": why}
    return {"call": bool(tcd["centile"] < HYPOPLASIA_CENTILE), "tcd_centile": float(tcd["centile"]), "below_centile": HYPOPLASIA_CENTILE}


def heatmap_picture(bundle: HypoplasiaBundle, x: np.ndarray, side: np.ndarray | None) -> np.ndarray:
    """BGR Grad-CAM picture (the classifier's 7x7 block, as in docs/fetal.md) of its input crop, drawn
    :data:`HEATMAP_SIDE` wide."""
    from neocus.fetal.hypoplasia_cam import grad_cam, heatmap_overlay

    cam = grad_cam(bundle.model, x, side=None if side is None else side[0], block=-2)
    return cv2.resize(heatmap_overlay(x, cam), (HEATMAP_SIDE, HEATMAP_SIDE), interpolation=cv2.INTER_CUBIC)


def assess_hypoplasia(grey: np.ndarray, bundle: HypoplasiaBundle, *, ga_weeks: float, pixel_mm: float,
                      head_box_xywh: tuple[float, float, float, float], centiles: dict[str, Any],
                      reasons: dict[str, str]) -> tuple[HypoplasiaCall, np.ndarray]:
    """The hypoplasia call of one trans-cerebellar image whose head box, GA and pixel size are known;
    ``centiles`` / ``reasons``: the posterior-fossa fields of ``fetal measure`` (their ``z``). Returns the
    call and its heatmap picture (BGR)."""
    from neocus.fetal.hypoplasia_model import hypoplasia_logits

    x, side = model_input(grey, bundle.model, head_box_xywh=head_box_xywh, ga_weeks=ga_weeks, pixel_mm=pixel_mm)
    pred = prediction_of(float(hypoplasia_logits(bundle.model.net, x[None, None], side=side)[0]), bundle.model)
    values: dict[str, float | None] = {}
    why: dict[str, str] = {}
    for name, key in (("tcd_z", "tcd"), ("cisterna_magna_z", "cisterna_magna")):
        c = centiles.get(key)
        values[name] = None if c is None or c.get("z") is None else float(c["z"])
        if values[name] is None:
            why[name] = reasons.get(f"{key}_mm") or reasons.get(f"{key}_centile") or "not measured"
    out_reasons: dict[str, str] = {}
    probability, flag, threshold, method = pred.probability, pred.flag, pred.threshold, "classifier"
    if bundle.score is not None:
        s = score_of_features(values, why, score=bundle.score, classifier_logit=pred.logit)
        values = s.features
        out_reasons.update(s.reasons)
        if s.probability is not None:
            probability, flag, threshold, method = s.probability, bool(s.call), s.threshold, bundle.method
        else:
            out_reasons["hypoplasia_probability"] = (f"{s.reasons['hypoplasia_probability']}; the classifier alone gave the "
                                                     "probability (its own calibration and threshold)")
    else:
        values[LOGIT_FEATURE] = pred.logit
        out_reasons["hypoplasia_probability"] = "the model folder has no fused score: the classifier alone gave the probability"
    call = HypoplasiaCall(probability=probability, flag=flag, threshold=threshold, method=method, classifier=pred.to_dict(),
                          features=values, tcd_rule=_tcd_rule(centiles, reasons), reasons=out_reasons,
                          model=bundle.path.name if bundle.path is not None else "in memory")
    return call, heatmap_picture(bundle, x, side)
