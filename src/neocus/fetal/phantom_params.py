"""Sizes of one phantom fetal head, drawn from published gestational-age norms (issue #16).

:func:`sample_head_params` draws a :class:`FetalHeadParams` for a gestational age (18-40 weeks), a
condition and a plane. Every size in mm comes from a norm in :mod:`neocus.fetal.norms`, through a
z-score drawn per size:

* head circumference and biparietal diameter (outer-inner): INTERGROWTH-21st fetal growth standards,
  Papageorghiou et al., Lancet 2014;384:869-879 (valid 14-40 weeks). The outer skull ellipse has
  semi-minor axis ``(BPD_oi + skull) / 2`` and the semi-major axis that makes its perimeter the HC;
* transverse cerebellar diameter (TCD): INTERGROWTH-21st, Rodriguez-Sibaja et al., Ultrasound Obstet
  Gynecol 2021;57:614-623. **Used only up to 36 weeks**: after that the published equation as
  transcribed puts the median at 55.3 mm (38 weeks) and 60.9 mm (40 weeks), larger than the TCD
  range (12-55 mm) the same group's GA-for-TCD equation accepts and than the common rule that TCD in
  mm roughly equals the GA in weeks up to term; we found no independent table to check it against
  (docs/fetal.md). After 36 weeks the phantom therefore holds the 36-week TCD distribution
  (median 50.0 mm), a stated modelling choice, not a norm;
* cisterna magna depth and atrial width: INTERGROWTH-21st fetal brain standards, Napolitano et al.,
  Ultrasound Obstet Gynecol 2020;56:359-370 (valid 15-36 weeks; held at 36 weeks after that: both are
  nearly flat late in pregnancy);
* fixed thresholds: mega cisterna magna > 10 mm (Mahony et al., Radiology 1984;153:773-776),
  ventriculomegaly atrium >= 10 mm (Cardoza et al., Radiology 1988;169:711-714), cerebellar
  hypoplasia TCD below the 5th centile for GA.

Conditions are drawn across their thresholds: a normal head has TCD z in [-1.5, 2.0] (above the 5th
centile, z = -1.645), atrium below 9.8 mm and cisterna magna below 9.8 mm; hypoplasia has TCD z in
[-4.5, -1.75] (hemispheric: both hemispheres or one small; vermian: small vermis, z in [-3.0,
-1.75]); mega cisterna magna 10.3-15 mm; ventriculomegaly atrium 10.2-18 mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm as _normal

from neocus.errors import NeocusError, parse_choice
from neocus.fetal.ellipse import ramanujan_perimeter
from neocus.fetal.norms import FetalMeasure, norm_range_weeks, value_at_centile
from neocus.results import AsDict
from neocus.vocab import FetalCondition, FetalPlane, HypoplasiaKind

#: gestational ages the phantom draws (weeks)
GA_RANGE_WEEKS = (18.0, 40.0)
#: the TCD norm is used up to this GA and held there after it (see the module docstring)
TCD_GA_CAP_WEEKS = 36.0
MEGA_CISTERNA_MM = 10.0  # > this: mega cisterna magna
VENTRICULOMEGALY_MM = 10.0  # >= this: ventriculomegaly
HYPOPLASIA_Z = float(_normal.ppf(0.05))  # TCD below the 5th centile

#: how large the plane's skull ellipse is against the trans-thalamic (HC) one
_PLANE_SKULL_SCALE = {
    FetalPlane.TRANS_THALAMIC: (1.0, 1.0),
    FetalPlane.TRANS_VENTRICULAR: (0.97, 1.0),
    FetalPlane.TRANS_CEREBELLAR: (0.93, 0.98),
    FetalPlane.OTHER: (0.72, 0.95),
}


@dataclass(frozen=True)
class FetalHeadParams(AsDict):
    """The sizes of one phantom head and what it shows (lengths in mm)."""

    ga_weeks: float
    plane: FetalPlane
    condition: FetalCondition
    hypoplasia_kind: HypoplasiaKind | None
    other_kind: str | None  # "high" (cranial vault) or "low" (skull base) for plane OTHER
    hc_mm: float  # the trans-thalamic head circumference (norm)
    bpd_outer_inner_mm: float
    skull_mm: float  # skull thickness
    skull_scale: float  # this plane's skull ellipse against the trans-thalamic one
    semi_major_mm: float  # outer skull ellipse of THIS plane
    semi_minor_mm: float
    tcd_mm: float
    tcd_z: float
    cisterna_magna_mm: float
    atrium_mm: float
    csp_width_mm: float
    hemisphere_ratio: float  # left / right hemisphere size (1 = symmetric; < 1: one small hemisphere)
    vermis_scale: float  # antero-posterior vermis size against normal (vermian hypoplasia < 1)
    choroid_fill: float  # choroid plexus width / atrial width

    @property
    def plane_hc_mm(self) -> float:
        """Perimeter of this plane's outer skull ellipse (what an HC caliper reads on it)."""
        return ramanujan_perimeter(self.semi_major_mm, self.semi_minor_mm)


def _norm_value(measure: FetalMeasure, z: float, ga: float, *, cap: float | None = None) -> float:
    lo, hi = norm_range_weeks(measure)
    g = float(np.clip(ga, lo, min(hi, cap) if cap else hi))
    return value_at_centile(100.0 * float(_normal.cdf(z)), measure=measure, ga_weeks=g)


def tcd_norm_mm(centile: float, *, ga_weeks: float) -> float:
    """The phantom's TCD at ``centile`` for ``ga_weeks`` (the INTERGROWTH-21st norm, held at 36 weeks)."""
    return value_at_centile(centile, measure=FetalMeasure.TCD, ga_weeks=min(float(ga_weeks), TCD_GA_CAP_WEEKS))


def semi_major_for_perimeter(perimeter_mm: float, semi_minor_mm: float) -> float:
    """The semi-major axis ``a >= b`` of the ellipse with semi-minor ``b`` and this perimeter."""
    b = float(semi_minor_mm)
    if perimeter_mm <= ramanujan_perimeter(b, b):
        return b
    return float(brentq(lambda a: ramanujan_perimeter(a, b) - perimeter_mm, b, 4.0 * b + perimeter_mm))


def check_ga_weeks(ga_weeks: float) -> float:
    """The GA as a float, or a :class:`NeocusError` outside the phantom's 18-40 weeks."""
    try:
        ga = float(ga_weeks)
    except (TypeError, ValueError):
        ga = math.nan
    if not GA_RANGE_WEEKS[0] <= ga <= GA_RANGE_WEEKS[1]:
        raise NeocusError(
            f"gestational age {ga_weeks!r} weeks is outside the phantom's {GA_RANGE_WEEKS[0]:g}-{GA_RANGE_WEEKS[1]:g} weeks",
            where="ga_weeks", hint="give a GA between 18 and 40 weeks",
        )
    return ga


def sample_head_params(
    ga_weeks: float, *, plane: FetalPlane | str, condition: FetalCondition | str, rng: np.random.Generator
) -> FetalHeadParams:
    """Draw the sizes of one head at ``ga_weeks`` showing ``condition`` in ``plane``."""
    ga = check_ga_weeks(ga_weeks)
    plane = parse_choice(FetalPlane, plane, what="plane")
    condition = parse_choice(FetalCondition, condition, what="condition")
    # head size: HC and BPD z-scores correlated (0.8), kept inside +-2.2 SD
    z_hc = float(np.clip(rng.normal(), -2.2, 2.2))
    z_bpd = float(np.clip(0.8 * z_hc + 0.6 * rng.normal(), -2.2, 2.2))
    hc = _norm_value(FetalMeasure.HC, z_hc, ga)
    bpd = _norm_value(FetalMeasure.BPD, z_bpd, ga)
    skull = float(np.clip(1.0 + 0.07 * (ga - 18.0), 1.0, 2.6) * rng.uniform(0.85, 1.15))
    b_tt = (bpd + skull) / 2.0
    a_tt = semi_major_for_perimeter(hc, b_tt)
    if b_tt / a_tt > 0.9:  # keep the cephalic index <= 0.90 at the same HC (a wide, short head is rare)
        a_tt = hc / ramanujan_perimeter(1.0, 0.9)
        b_tt = 0.9 * a_tt
    lo, hi = _PLANE_SKULL_SCALE[plane]
    scale = float(rng.uniform(lo, hi))

    hyp_kind: HypoplasiaKind | None = None
    ratio, vermis_scale = 1.0, 1.0
    if condition is FetalCondition.CEREBELLAR_HYPOPLASIA:
        hyp_kind = HypoplasiaKind.VERMIAN if rng.random() < 0.35 else HypoplasiaKind.HEMISPHERIC
        if hyp_kind is HypoplasiaKind.VERMIAN:
            tcd_z = float(rng.uniform(-3.0, -1.75))
            vermis_scale = float(rng.uniform(0.45, 0.7))
        else:
            tcd_z = float(rng.uniform(-4.5, -1.75))
            ratio = float(rng.uniform(0.55, 0.85)) if rng.random() < 0.3 else 1.0
    else:
        tcd_z = float(rng.uniform(-1.5, 2.0))
    tcd = _norm_value(FetalMeasure.TCD, tcd_z, ga, cap=TCD_GA_CAP_WEEKS)

    if condition is FetalCondition.MEGA_CISTERNA_MAGNA:
        cm = float(rng.uniform(10.3, 15.0))
    else:
        cm = float(np.clip(_norm_value(FetalMeasure.CISTERNA_MAGNA, float(rng.uniform(-2.0, 2.0)), ga), 2.0, 9.8))
        if hyp_kind is HypoplasiaKind.VERMIAN:  # the missing vermis deepens the cistern, kept <= 9.8 mm
            vermis_scale = max(vermis_scale, 1.0 - (9.8 - cm) / (0.44 * tcd))
            cm += (1.0 - vermis_scale) * 0.44 * tcd
    if condition is FetalCondition.VENTRICULOMEGALY:
        atrium = float(rng.uniform(10.2, 18.0))
        fill = float(rng.uniform(0.35, 0.6))
    else:
        atrium = float(np.clip(_norm_value(FetalMeasure.ATRIUM, float(rng.uniform(-2.0, 2.0)), ga), 3.0, 9.8))
        fill = float(rng.uniform(0.7, 0.92))
    csp = float(np.clip(0.06 * bpd * rng.uniform(0.8, 1.2), 2.0, 9.0))
    other_kind = ("high" if rng.random() < 0.5 else "low") if plane is FetalPlane.OTHER else None
    return FetalHeadParams(
        ga_weeks=ga, plane=plane, condition=condition, hypoplasia_kind=hyp_kind, other_kind=other_kind,
        hc_mm=hc, bpd_outer_inner_mm=bpd, skull_mm=skull, skull_scale=scale,
        semi_major_mm=a_tt * scale, semi_minor_mm=b_tt * scale,
        tcd_mm=tcd, tcd_z=tcd_z, cisterna_magna_mm=cm, atrium_mm=atrium, csp_width_mm=csp,
        hemisphere_ratio=ratio, vermis_scale=vermis_scale, choroid_fill=fill,
    )
