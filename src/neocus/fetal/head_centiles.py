"""HC, BPD and OFD of one head against the INTERGROWTH-21st norms, with ``None`` and a reason wherever a
centile cannot honestly be given (no gestational age, a norm that does not cover it, or a BPD measured
with other calipers than the norm's). The shape ``result.json`` of a later ``fetal measure`` will carry.
"""

from __future__ import annotations

from dataclasses import dataclass

from neocus.fetal.ellipse import HeadMeasurements
from neocus.fetal.norms import CentileResult, FetalMeasure, assess
from neocus.results import AsDict

__all__ = ["HeadCentiles", "head_centiles"]


@dataclass(frozen=True)
class HeadCentiles(AsDict):
    """Centiles of HC, BPD (outer-inner) and OFD; a field is ``None`` where ``reasons`` says why."""

    ga_weeks: float | None
    hc: CentileResult | None
    bpd: CentileResult | None
    ofd: CentileResult | None
    reasons: dict[str, str]


def head_centiles(
    measurements: HeadMeasurements,
    *,
    ga_weeks: float | None,
    normal_centiles: tuple[float, float] = (5.0, 95.0),
) -> HeadCentiles:
    """``measurements`` against their norms at ``ga_weeks``. ``ga_weeks=None`` (not known) gives no
    centiles and says so; an impossible GA (outside 14-42 weeks) raises :class:`NeocusError`. BPD is
    compared only when it was measured outer-inner, as the norm is."""
    if ga_weeks is None:
        why = "no gestational age given: centiles need it"
        return HeadCentiles(None, None, None, None, {m.value: why for m in _HEAD})
    values = {
        FetalMeasure.HC: measurements.hc_mm,
        FetalMeasure.OFD: measurements.ofd_mm,
        FetalMeasure.BPD: measurements.bpd_outer_inner_mm,
    }
    out: dict[FetalMeasure, CentileResult | None] = {}
    reasons: dict[str, str] = {}
    for m in _HEAD:
        value = values[m]
        if value is None:
            out[m] = None
            reasons[m.value] = ("the norm's BPD is outer-inner; " + (measurements.bpd_outer_inner_reason or "")).strip()
            continue
        out[m] = assess(value, measure=m, ga_weeks=ga_weeks, normal_centiles=normal_centiles)
        if out[m].reason:
            reasons[m.value] = out[m].reason
    return HeadCentiles(float(ga_weeks), out[FetalMeasure.HC], out[FetalMeasure.BPD], out[FetalMeasure.OFD], reasons)


_HEAD = (FetalMeasure.HC, FetalMeasure.BPD, FetalMeasure.OFD)
