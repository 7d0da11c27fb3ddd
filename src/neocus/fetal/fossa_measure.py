"""TCD and cisterna magna depth for ``fetal measure``: the posterior-fossa model
(:mod:`neocus.fetal.cerebellum`) on a trans-cerebellar plane, the measurement of
:mod:`neocus.fetal.posterior_fossa`, centiles and flags against :mod:`neocus.fetal.norms`, caliper end
points for the overlay; ``None`` with the reason for every value that cannot be made (the plane, given
or recognised, is not trans-cerebellar, or there is none; no cerebellum model, no head or cerebellum
found, no pixel spacing, no gestational age for the centile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neocus.errors import parse_choice
from neocus.fetal.cerebellum import CLASS_NAMES, CerebellumModel, masks_from_classes, predict_posterior_fossa
from neocus.fetal.norms import RangeFlag
from neocus.fetal.posterior_fossa import PosteriorFossaResult, measure_posterior_fossa
from neocus.results import AsDict
from neocus.vocab import FetalPlane

__all__ = ["FossaFields", "fossa_measurement", "measure_fossa"]

NAMES = ("tcd", "cisterna_magna")
NO_PLANE = ("the plane was not given and no plane model recognised it: TCD and cisterna magna depth are measured only on "
            "a trans-cerebellar plane (give `plane`)")
NO_MODEL = "no posterior-fossa (cerebellum) model was loaded"


@dataclass(frozen=True)
class FossaFields(AsDict):
    """What ``fetal measure`` adds: values in mm, centiles, flags, reasons and calipers (pixels) by name."""

    values: dict[str, float | None]
    centiles: dict[str, Any]
    flags: dict[str, str]
    reasons: dict[str, str]
    calipers: dict[str, Any]
    classes: np.ndarray | None = field(default=None, metadata={"to_dict": False})


def _null(reason: str) -> FossaFields:
    return FossaFields(values={f"{n}_mm": None for n in NAMES}, centiles=dict.fromkeys(NAMES), flags={},
                       reasons={f"{n}_mm": reason for n in NAMES}, calipers={})


def fossa_measurement(grey: np.ndarray, model: CerebellumModel, *, pixel_mm: float | None, ga_weeks: float | None,
                      head_box_xywh: tuple[float, float, float, float] | None = None, zoom: bool = True,
                      subpixel_tcd: bool = True) -> tuple[PosteriorFossaResult, np.ndarray]:
    """The posterior-fossa measurement of one grey image as ``fetal measure`` makes it (the one place that joins
    the model's prediction to :func:`~neocus.fetal.posterior_fossa.measure_posterior_fossa`; ``fetal evaluate``
    and the benchmarks call it too), and the class map ``[H, W]``. Arguments as :func:`measure_fossa`."""
    # from the skull model's box one crop is enough: a refinement crop changed the Dice by < 0.001 on 20 phantom hold-out cases
    prob, classes = predict_posterior_fossa(grey, model, head_box_xywh=head_box_xywh, refine=0 if head_box_xywh is not None else 1, zoom=zoom)
    masks = masks_from_classes(classes)
    r = measure_posterior_fossa(masks["cerebellum"], masks["cistern"], masks["head"], pixel_mm=pixel_mm, ga_weeks=ga_weeks,
                                cerebellum_prob=prob[CLASS_NAMES.index("cerebellum")] if subpixel_tcd else None)
    return r, classes


def measure_fossa(grey: np.ndarray, model: CerebellumModel | None, *, plane: FetalPlane | str | None,
                  plane_source: str = "given", pixel_mm: float | None, ga_weeks: float | None,
                  head_box_xywh: tuple[float, float, float, float] | None = None, zoom: bool = True,
                  subpixel_tcd: bool = True) -> FossaFields:
    """TCD and cisterna magna depth of a grey image whose ``plane`` was given or recognised
    (``plane_source``, named in the reason on another plane; see the module docstring); ``head_box_xywh`` (the skull model's head) spares the posterior-fossa model its whole-image pass.
    ``zoom``: use the model's zoom stage when it has one (:mod:`neocus.fetal.fossa_zoom`); ``subpixel_tcd``: the TCD
    on the 0.5 iso-line of the cerebellum probability rather than from the mask's pixels."""
    if plane is None:
        return _null(NO_PLANE)
    plane = parse_choice(FetalPlane, plane, what="plane")
    if plane is not FetalPlane.TRANS_CEREBELLAR:
        return _null(f"measured only on a trans-cerebellar plane; the plane {plane_source} is {plane.value}")
    if model is None:
        return _null(NO_MODEL)
    r, classes = fossa_measurement(grey, model, pixel_mm=pixel_mm, ga_weeks=ga_weeks, head_box_xywh=head_box_xywh, zoom=zoom,
                                   subpixel_tcd=subpixel_tcd)
    centiles: dict[str, Any] = {}
    flags: dict[str, str] = {}
    for name in NAMES:
        res = getattr(r, name)
        centiles[name] = None if res is None or res.centile is None else {
            "centile": res.centile, "z": res.z, "normal_range_mm": res.normal_range_mm, "source": res.source,
            **({"exceeds_fixed_threshold": res.exceeds_fixed_threshold, "fixed_threshold_mm": res.fixed_threshold_mm}
               if res.fixed_threshold_mm is not None else {})}
        if res is not None and res.flag is not RangeFlag.UNKNOWN:
            flags[name] = res.flag.value
        if res is not None and res.centile is None and res.reason:
            r.reasons[f"{name}_centile"] = res.reason
    calipers = {k: v for k, v in (("tcd", r.tcd_caliper_xy), ("cisterna_magna", r.cisterna_magna_caliper_xy)) if v is not None}
    return FossaFields(values={"tcd_mm": r.tcd_mm, "cisterna_magna_mm": r.cisterna_magna_mm}, centiles=centiles, flags=flags,
                       reasons=dict(r.reasons), calipers=calipers, classes=classes)
