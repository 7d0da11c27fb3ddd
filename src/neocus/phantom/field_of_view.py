"""The operator's depth setting, fitted to the head (issue #14: the field of view of real coronal views).

A sonographer sets the imaging depth so that the head just fits: the skull base near the bottom of the
image and the brain filling the field. The NCLS captures (GE 9L) were taken at 9 cm for a term-sized
head whose skull base lay at ~8.3 cm and at 10 cm for a larger one. The presets draw the depth from
fixed choices (80-100 mm for ``internal``), so a preterm head (a brain scale of 0.7-0.8: 40 % of the
phantom's subjects) sat small in a field made for a term one, with black all around it.
:func:`fit_depth` lowers the preset's depth to what the head needs (never raises it: a large head at
a shallow setting is cut at the bottom, as in real captures).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from neocus.phantom.presets import ScannerPreset

if TYPE_CHECKING:
    from neocus.phantom.anatomy import NeonatalHead

#: the depth steps of the scanner's depth control (mm)
DEPTH_STEP_MM = 5.0
#: below the deepest skull base, how much more the operator shows (fraction of the head's depth, mm)
DEPTH_MARGIN = 0.04
DEPTH_MARGIN_MM = 3.0


def head_depth_mm(head: NeonatalHead) -> float:
    """Distance (mm) from the scalp over the fontanelle straight down (along its inward normal) to the
    outside of the skull under the brain: the deepest brain point on that line plus the shells."""
    fon = head.fontanelle
    t = np.arange(0.0, 160.0, 0.5)
    pts = (fon.centre[None, :] + t[:, None] * fon.normal[None, :]).astype(np.float32)
    inside = np.flatnonzero(head.brain_distance(pts) < 0)
    deepest = float(t[inside[-1]]) if len(inside) else 0.0
    return deepest + float(sum(head.outline.thick))


def fit_depth(preset: ScannerPreset, head: NeonatalHead) -> ScannerPreset:
    """``preset`` with its depth lowered to the head's (rounded up to the depth step); unchanged when
    the head needs as much as the preset has or more. Idempotent."""
    need = head_depth_mm(head) * (1.0 + DEPTH_MARGIN) + DEPTH_MARGIN_MM
    depth = DEPTH_STEP_MM * math.ceil(need / DEPTH_STEP_MM)
    if depth >= preset.depth_mm:
        return preset
    return preset.model_copy(update={"depth_mm": float(depth), "focus_mm": float(min(preset.focus_mm, 0.9 * depth))})
