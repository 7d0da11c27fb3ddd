"""Fetal head and brain measurement (issue #16): skull ellipse -> HC / BPD / OFD in mm,
INTERGROWTH-21st gestational-age norms (HC, BPD, OFD, TCD, atrium, cisterna magna), the HC18-layout
reader, Dice / Hausdorff metrics, the skull segmentation model (MONAI 2-D networks trained on HC18),
its training and evaluation, and the measurement of one image. See docs/fetal.md.

``neocus.fetal.metrics`` is not imported here: it pulls in MONAI, which takes seconds to import; torch
and MONAI are imported by the model functions when they are called.
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
from neocus.fetal.measure import FetalImage, HeadResult, draw_overlay, measure_fetal_head, read_fetal_image
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
from neocus.fetal.skull_eval import SkullEvaluation, evaluate_hc18, write_evaluation
from neocus.fetal.skull_model import SkullModel, SkullModelConfig, SkullNet, load_skull_model, predict_skull_probability
from neocus.fetal.skull_train import SkullSplit, SkullTrainOptions, SkullTrainResult, split_by_number, train_skull

__all__ = [
    "CentileResult",
    "DatasetError",
    "Ellipse",
    "FetalImage",
    "FetalMeasure",
    "Hc18Item",
    "Hc18Set",
    "HeadCentiles",
    "HeadMeasurements",
    "HeadResult",
    "InputFileError",
    "NeocusError",
    "RangeFlag",
    "SkullEllipses",
    "SkullEvaluation",
    "SkullModel",
    "SkullModelConfig",
    "SkullNet",
    "SkullSplit",
    "SkullTrainOptions",
    "SkullTrainResult",
    "assess",
    "centile_of",
    "draw_overlay",
    "ellipse_mask",
    "evaluate_hc18",
    "fit_skull_ellipses",
    "head_centiles",
    "load_hc18_annotation",
    "load_hc18_image",
    "load_skull_model",
    "measure_fetal_head",
    "measure_head",
    "norm_range_weeks",
    "predict_skull_probability",
    "read_fetal_image",
    "read_hc18",
    "split_by_number",
    "train_skull",
    "value_at_centile",
    "write_evaluation",
    "z_score",
]
