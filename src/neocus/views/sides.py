"""Sides of the parasagittal views from the patient's own asymmetry, seen in both sweeps.

Detections carry no side and a parasagittal image looks alike on both sides, so within a sagittal sweep
the sides come from an assumed direction. A coronal sweep, though, shows sides (the patient's right on
the screen's left): when its lateral ventricles (anterior horns, bodies) are clearly unequal, the larger
whole lateral ventricle of the two parasagittal clusters belongs to the larger side. Thresholds (chosen
on the phantom fit set): log area ratio >= :data:`MIN_CORONAL_LOG_RATIO` over at least
:data:`MIN_CORONAL_FRAMES` frames, and >= :data:`MIN_SAGITTAL_LOG_RATIO` between the two clusters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from neocus.views.select import Segment
from neocus.vocab import Plane, View
from neocus.vocab import Structure as S

MIN_CORONAL_LOG_RATIO = 0.2
MIN_CORONAL_FRAMES = 10
MIN_SAGITTAL_LOG_RATIO = 0.1
MIDLINE = (S.INTERHEMISPHERIC_FISSURE, S.CAVUM_SEPTI_PELLUCIDI, S.THIRD_VENTRICLE)
VENTRICLE = (S.ANTERIOR_HORN, S.LATERAL_VENTRICLE_BODY)


def coronal_asymmetry(frames: Sequence, segments: Sequence[Segment]) -> list[float]:
    """Per coronal frame with a midline and ventricles on both sides: log(right area / left area)."""
    out = []
    for seg in segments:
        if seg.plane is not Plane.CORONAL:
            continue
        for f in frames:
            if not seg.start <= f.frame <= seg.end:
                continue
            mids = [d.box.cx for d in f.detections if d.structure in MIDLINE]
            vents = [d.box for d in f.detections if d.structure in VENTRICLE]
            if not mids or len(vents) < 2:
                continue
            m = float(np.median(mids))
            right = sum(b.w * b.h for b in vents if b.cx < m)  # screen left = patient right
            left = sum(b.w * b.h for b in vents if b.cx > m)
            if right > 0 and left > 0:
                out.append(float(np.log(right / left)))
    return out


def _lv_area(frames: Sequence, start: int, end: int) -> float:
    areas = [max((d.box.w * d.box.h for d in f.detections if d.structure is S.LATERAL_VENTRICLE), default=np.nan)
             for f in frames if start <= f.frame <= end]
    areas = [a for a in areas if np.isfinite(a)]
    return float(np.median(areas)) if areas else float("nan")


def match_sides(segment: Segment, frames: Sequence, coronal: Sequence[float]) -> Segment:
    """``segment`` (sagittal) with RPSV / LPSV swapped or confirmed by the coronal asymmetry, when both
    asymmetries are clear and the sides were assumed; otherwise unchanged."""
    chosen = {c.view: c for c in segment.choices}
    if len(coronal) < MIN_CORONAL_FRAMES or not {View.RPSV, View.LPSV} <= set(chosen) or "assumed" not in chosen[View.RPSV].basis:
        return segment
    rc = float(np.median(coronal))
    clusters = {c.view: c for c in segment.clusters if c.kept and c.view in (View.RPSV, View.LPSV)}
    if abs(rc) < MIN_CORONAL_LOG_RATIO or len(clusters) != 2:
        return segment
    rs = np.log(_lv_area(frames, clusters[View.RPSV].start, clusters[View.RPSV].end)
                / _lv_area(frames, clusters[View.LPSV].start, clusters[View.LPSV].end))
    if not np.isfinite(rs) or abs(rs) < MIN_SAGITTAL_LOG_RATIO:
        return segment
    swap = np.sign(rs) != np.sign(rc)
    other = {View.RPSV: View.LPSV, View.LPSV: View.RPSV}
    basis = "asymmetry matched to the coronal sweep" + ("" if swap else ", agrees with the assumed direction")
    choices = tuple(replace(c, view=other[c.view] if swap else c.view, basis=basis) if c.view in other else c
                    for c in segment.choices)
    new_clusters = tuple(replace(c, view=other[c.view]) if swap and c.kept and c.view in other else c for c in segment.clusters)
    return replace(segment, choices=choices, clusters=new_clusters)
