"""Fetal head and brain measurement (issue #16, first part): skull ellipse -> HC / BPD / OFD in mm,
INTERGROWTH-21st gestational-age norms (HC, BPD, OFD, TCD, atrium, cisterna magna), the HC18-layout
reader, and Dice / Hausdorff metrics. See docs/fetal.md for what exists and what comes next.

``neocus.fetal.metrics`` is not imported here: it pulls in MONAI, which takes seconds to import.
"""

from neocus.errors import DatasetError, InputFileError, NeocusError
from neocus.fetal.ellipse import (
    Ellipse,
    HeadMeasurements,
    SkullEllipses,
    ellipse_mask,
    fit_skull_ellipses,
    measure_head,
)
from neocus.fetal.head_centiles import HeadCentiles, head_centiles
from neocus.fetal.hc18 import Hc18Item, Hc18Set, load_hc18_annotation, load_hc18_image, read_hc18
from neocus.fetal.norms import (
    CentileResult,
    FetalMeasure,
    RangeFlag,
    assess,
    centile_of,
    norm_range_weeks,
    value_at_centile,
    z_score,
)

__all__ = [
    "CentileResult",
    "DatasetError",
    "Ellipse",
    "FetalMeasure",
    "Hc18Item",
    "Hc18Set",
    "HeadCentiles",
    "HeadMeasurements",
    "InputFileError",
    "NeocusError",
    "RangeFlag",
    "SkullEllipses",
    "assess",
    "centile_of",
    "ellipse_mask",
    "fit_skull_ellipses",
    "head_centiles",
    "load_hc18_annotation",
    "load_hc18_image",
    "measure_head",
    "norm_range_weeks",
    "read_hc18",
    "value_at_centile",
    "z_score",
]
