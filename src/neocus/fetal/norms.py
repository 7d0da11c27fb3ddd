"""Fetal gestational-age norms: centiles, z-scores and normal-range flags for head and brain sizes.

All norms are the INTERGROWTH-21st prescriptive standards from the Fetal Growth Longitudinal Study
(serial scans of healthy, well-nourished women in eight countries), each a normal (or log-normal)
distribution whose mean and SD are fractional polynomials of gestational age GA in exact weeks:

* **HC, BPD, OFD**: Papageorghiou AT, Ohuma EO, Altman DG, et al. International standards for fetal
  growth based on serial ultrasound measurements: the Fetal Growth Longitudinal Study of the
  INTERGROWTH-21st Project. Lancet 2014;384:869-879, doi 10.1016/S0140-6736(14)61490-2 (equations in
  its appendix; centile tables at intergrowth21.tghn.org). GA 14-40 weeks. HC and OFD outer-outer,
  BPD outer-inner.
* **TCD** (transverse cerebellar diameter): Rodriguez-Sibaja MJ, Villar J, Ohuma EO, et al. Fetal
  cerebellar growth and Sylvian fissure maturation: international standards from Fetal Growth
  Longitudinal Study of INTERGROWTH-21st Project. Ultrasound Obstet Gynecol 2021;57:614-623,
  doi 10.1002/uog.22017. GA 14-40 weeks.
* **Atrial width** (atrium of the posterior horn of the lateral ventricle) and **cisterna magna
  depth** (log-normal): Napolitano R, Molloholli M, Donadono V, et al. International standards for
  fetal brain structures based on serial ultrasound measurements from Fetal Growth Longitudinal Study
  of INTERGROWTH-21st Project. Ultrasound Obstet Gynecol 2020;56:359-370, doi 10.1002/uog.21990.
  GA 15-36 weeks.

The coefficients below were typed in as the gigs package (LSHTM, rOpenSci; ``ig_fet_mu_sigma``)
implements these papers. The HC equation reproduces the published INTERGROWTH-21st HC centile table
(3rd-97th centile, 14-40 weeks) to 0.1 mm (``tests/test_fetal_norms.py``); for BPD, OFD, TCD, atrium
and cisterna magna no published table was at hand to test against (see docs/fetal.md).

Fixed clinical thresholds used beside the centiles (flags, not centiles):

* ventriculomegaly: atrial width >= 10 mm (Cardoza JD, Goldstein RB, Filly RA. Exclusion of fetal
  ventriculomegaly with a single measurement: the width of the lateral ventricular atrium. Radiology
  1988;169:711-714);
* enlarged (mega) cisterna magna: depth > 10 mm (Mahony BS, Callen PW, Filly RA, Hoddick WK. The fetal
  cisterna magna. Radiology 1984;153:773-776).

GA outside 14-42 weeks is a user error (:class:`NeocusError`). GA inside 14-42 weeks but outside the
range of a standard (e.g. 41 weeks for HC, 38 weeks for the cisterna magna) is not extrapolated:
:func:`assess` returns no centile and says why; :func:`z_score` and friends raise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from scipy.stats import norm as _normal

from neocus.errors import NeocusError, parse_choice
from neocus.results import AsDict

__all__ = [
    "GA_RANGE_WEEKS",
    "CentileResult",
    "FetalMeasure",
    "RangeFlag",
    "assess",
    "centile_of",
    "norm_range_weeks",
    "value_at_centile",
    "z_score",
]

GA_RANGE_WEEKS = (14.0, 42.0)  # what neocus.fetal accepts at all


class FetalMeasure(StrEnum):
    """A fetal head / brain measurement with a gestational-age norm."""

    HC = "hc"  # head circumference, outer skull border
    BPD = "bpd"  # biparietal diameter, outer-inner
    OFD = "ofd"  # occipito-frontal diameter, outer-outer
    TCD = "tcd"  # transverse cerebellar diameter
    CISTERNA_MAGNA = "cisterna_magna"  # antero-posterior depth of the cisterna magna
    ATRIUM = "atrium"  # width of the atrium of the lateral ventricle


class RangeFlag(StrEnum):
    """Where a value lies against the normal centile range at its gestational age."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    UNKNOWN = "unknown"  # no norm at this GA; the reason says why


@dataclass(frozen=True)
class _Norm:
    source: str
    ga_weeks: tuple[float, float]
    mu: Callable[[float], float]
    sigma: Callable[[float], float]
    log_normal: bool = False  # mu and sigma are of log(value)
    fixed_threshold_mm: float | None = None  # a value at or above which is abnormal (see docstring)
    threshold_inclusive: bool = True
    threshold_source: str | None = None


def _ln(x: float) -> float:
    return math.log(x)


_IG_GROWTH = "INTERGROWTH-21st fetal growth standards, Papageorghiou et al., Lancet 2014;384:869-879"
_IG_BRAIN = "INTERGROWTH-21st fetal brain standards, Napolitano et al., Ultrasound Obstet Gynecol 2020;56:359-370"

_NORMS: dict[FetalMeasure, _Norm] = {
    FetalMeasure.HC: _Norm(
        _IG_GROWTH, (14.0, 40.0),
        lambda g: -28.2849 + 1.69267 * g**2 - 0.397485 * g**2 * _ln(g),
        lambda g: 1.98735 + 0.0136772 * g**3 - 0.00726264 * g**3 * _ln(g) + 0.000976253 * g**3 * _ln(g) ** 2,
    ),
    FetalMeasure.BPD: _Norm(
        _IG_GROWTH, (14.0, 40.0),
        lambda g: 5.60878 + 0.158369 * g**2 - 0.00256379 * g**3,
        lambda g: math.exp(0.101242 + 0.00150557 * g**3 - 0.000771535 * g**3 * _ln(g)
                           + 0.0000999638 * g**3 * _ln(g) ** 2),
    ),
    FetalMeasure.OFD: _Norm(
        _IG_GROWTH, (14.0, 40.0),
        lambda g: -12.4097 + 0.626342 * g**2 - 0.148075 * g**2 * _ln(g),
        lambda g: math.exp(-0.880034 + 0.0631165 * g**2 - 0.0317136 * g**2 * _ln(g)
                           + 0.00408302 * g**2 * _ln(g) ** 2),
    ),
    FetalMeasure.TCD: _Norm(
        "INTERGROWTH-21st fetal cerebellar standard, Rodriguez-Sibaja et al., Ultrasound Obstet Gynecol "
        "2021;57:614-623", (14.0, 40.0),
        lambda g: -13.10907 + 20.8941 * (g / 10.0) ** 0.5 + 0.5035914 * (g / 10.0) ** 3,
        lambda g: 0.4719837 + 0.0500382 * (g / 10.0) ** 3,
    ),
    FetalMeasure.ATRIUM: _Norm(
        _IG_BRAIN, (15.0, 36.0),
        lambda g: 4.389214 + 38.10015 / g + 0.0000020063 * g**3,
        lambda g: 0.6707227 + 0.034258 * g,
        fixed_threshold_mm=10.0, threshold_inclusive=True,
        threshold_source="ventriculomegaly: atrium >= 10 mm, Cardoza et al., Radiology 1988;169:711-714",
    ),
    FetalMeasure.CISTERNA_MAGNA: _Norm(
        _IG_BRAIN, (15.0, 36.0),
        lambda g: 2.098095 - 239.0659 / g**2 - 0.0000001547 * g**3,
        lambda g: 0.2297936 + 8.1872 / g**2,
        log_normal=True,
        fixed_threshold_mm=10.0, threshold_inclusive=False,
        threshold_source="enlarged cisterna magna: depth > 10 mm, Mahony et al., Radiology 1984;153:773-776",
    ),
}


@dataclass(frozen=True)
class CentileResult(AsDict):
    """One measurement against its norm: z-score, centile (0-100) and flags; ``None`` with ``reason``
    where the norm does not cover the gestational age."""

    measure: FetalMeasure
    value_mm: float
    ga_weeks: float
    z: float | None
    centile: float | None
    flag: RangeFlag
    normal_centiles: tuple[float, float]
    normal_range_mm: tuple[float, float] | None
    exceeds_fixed_threshold: bool | None  # atrium >= 10 mm, cisterna magna > 10 mm; None where none
    fixed_threshold_mm: float | None
    source: str
    threshold_source: str | None
    reason: str | None


def _check_ga(ga_weeks: float) -> float:
    try:
        ga = float(ga_weeks)
    except (TypeError, ValueError):
        raise NeocusError(f"gestational age {ga_weeks!r} is not a number", where="ga_weeks",
                          hint="give the gestational age in weeks, e.g. 22.5") from None
    lo, hi = GA_RANGE_WEEKS
    if not math.isfinite(ga) or not lo <= ga <= hi:
        raise NeocusError(f"gestational age {ga_weeks!r} weeks is outside {lo:g}-{hi:g} weeks", where="ga_weeks",
                          hint=f"give the gestational age in weeks between {lo:g} and {hi:g}")
    return ga


def _check_value(value_mm: float) -> float:
    value = float(value_mm)
    if not math.isfinite(value) or value <= 0:
        raise NeocusError(f"measurement {value_mm!r} mm is not a positive number", where="value_mm",
                          hint="give the measured size in mm")
    return value


def norm_range_weeks(measure: FetalMeasure | str) -> tuple[float, float]:
    """The gestational ages (weeks) that the norm of ``measure`` covers."""
    return _NORMS[parse_choice(FetalMeasure, measure, what="measure")].ga_weeks


def _norm_at(measure: FetalMeasure | str, ga_weeks: float) -> tuple[FetalMeasure, _Norm, float, float, float]:
    m = parse_choice(FetalMeasure, measure, what="measure")
    ga = _check_ga(ga_weeks)
    spec = _NORMS[m]
    lo, hi = spec.ga_weeks
    if not lo <= ga <= hi:
        raise NeocusError(f"the {m.value} norm covers {lo:g}-{hi:g} weeks, not {ga:g}", where="ga_weeks",
                          hint=f"no centile outside the published range ({spec.source})")
    return m, spec, ga, spec.mu(ga), spec.sigma(ga)


def z_score(value_mm: float, *, measure: FetalMeasure | str, ga_weeks: float) -> float:
    """z-score of ``value_mm`` at ``ga_weeks`` (log scale for the cisterna magna, as published)."""
    _, spec, _, mu, sigma = _norm_at(measure, ga_weeks)
    value = _check_value(value_mm)
    return ((math.log(value) if spec.log_normal else value) - mu) / sigma


def centile_of(value_mm: float, *, measure: FetalMeasure | str, ga_weeks: float) -> float:
    """Centile (0-100) of ``value_mm`` at ``ga_weeks``."""
    return 100.0 * float(_normal.cdf(z_score(value_mm, measure=measure, ga_weeks=ga_weeks)))


def value_at_centile(centile: float, *, measure: FetalMeasure | str, ga_weeks: float) -> float:
    """The size in mm at ``centile`` (0-100, exclusive) for ``ga_weeks``."""
    if not 0.0 < float(centile) < 100.0:
        raise NeocusError(f"centile {centile!r} is outside (0, 100)", where="centile", hint="give e.g. 5 or 95")
    _, spec, _, mu, sigma = _norm_at(measure, ga_weeks)
    y = mu + float(_normal.ppf(float(centile) / 100.0)) * sigma
    return math.exp(y) if spec.log_normal else y


def _threshold(spec: _Norm, value: float) -> bool | None:
    if spec.fixed_threshold_mm is None:
        return None
    t = spec.fixed_threshold_mm
    return value >= t if spec.threshold_inclusive else value > t


def assess(
    value_mm: float,
    *,
    measure: FetalMeasure | str,
    ga_weeks: float,
    normal_centiles: tuple[float, float] = (5.0, 95.0),
) -> CentileResult:
    """``value_mm`` against its norm at ``ga_weeks``: z, centile, low / normal / high against
    ``normal_centiles`` (e.g. (5, 95); TCD below the 5th centile is the usual hypoplasia rule), and the
    fixed threshold where one applies. GA outside 14-42 weeks raises; GA the norm does not cover gives
    ``None`` centiles with the reason."""
    m = parse_choice(FetalMeasure, measure, what="measure")
    ga = _check_ga(ga_weeks)
    value = _check_value(value_mm)
    p_lo, p_hi = (float(p) for p in normal_centiles)
    if not 0.0 < p_lo < p_hi < 100.0:
        raise NeocusError(f"normal centile range {normal_centiles!r} is not increasing inside (0, 100)",
                          where="normal_centiles", hint="give e.g. (5, 95)")
    spec = _NORMS[m]
    lo, hi = spec.ga_weeks
    common = dict(measure=m, value_mm=value, ga_weeks=ga, normal_centiles=(p_lo, p_hi),
                  exceeds_fixed_threshold=_threshold(spec, value), fixed_threshold_mm=spec.fixed_threshold_mm,
                  source=spec.source, threshold_source=spec.threshold_source)
    if not lo <= ga <= hi:
        return CentileResult(z=None, centile=None, flag=RangeFlag.UNKNOWN, normal_range_mm=None,
                             reason=f"the {m.value} norm covers {lo:g}-{hi:g} weeks; not extrapolated to {ga:g}",
                             **common)
    z = z_score(value, measure=m, ga_weeks=ga)
    c = 100.0 * float(_normal.cdf(z))
    band = (value_at_centile(p_lo, measure=m, ga_weeks=ga), value_at_centile(p_hi, measure=m, ga_weeks=ga))
    flag = RangeFlag.LOW if c < p_lo else RangeFlag.HIGH if c > p_hi else RangeFlag.NORMAL
    return CentileResult(z=z, centile=c, flag=flag, normal_range_mm=band, reason=None, **common)
