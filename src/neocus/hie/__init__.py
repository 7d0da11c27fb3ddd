"""Neonatal HIE lesion segmentation on diffusion MRI (ADC, ADC z-score), on MONAI.

Reading and grid checks (:mod:`~neocus.hie.reading`), MONAI transforms (:mod:`~neocus.hie.transforms`),
networks and losses (:mod:`~neocus.hie.models`), cross-validated training (:mod:`~neocus.hie.train`),
post-processing fitted on out-of-fold predictions (:mod:`~neocus.hie.postprocess`), ensembles of runs (:mod:`~neocus.hie.ensemble`), inference
(:mod:`~neocus.hie.infer`, :mod:`~neocus.hie.segment`) and metrics (:mod:`~neocus.hie.metrics`,
:mod:`~neocus.hie.evaluate`). See docs/hie.md. Research software, not a clinical device.

Errors raised: :class:`~neocus.errors.InputFileError` (a file: missing, 2-D, NaN, off-grid, not a
mask, a broken model), :class:`~neocus.errors.DatasetError` (a dataset folder), and
:class:`~neocus.errors.NeocusError` (an option value).
"""

from __future__ import annotations

from neocus.errors import DatasetError, InputFileError, NeocusError
from neocus.hie.infer import HieModel, ModelMember, bundled_model_dir, load_model, model_proba, predict_proba
from neocus.hie.metrics import CaseMetrics, MetricsReport, MetricSummary, case_metrics, summarise
from neocus.hie.models import Channel, LossKind, ModelConfig, ModelKind
from neocus.hie.postprocess import PostProcess
from neocus.hie.reading import HieCase, find_cases, load_case, read_volume
from neocus.hie.segment import SegmentResult, segment

__all__ = [
    "CaseMetrics",
    "Channel",
    "DatasetError",
    "HieCase",
    "HieModel",
    "InputFileError",
    "LossKind",
    "MetricSummary",
    "MetricsReport",
    "ModelConfig",
    "ModelMember",
    "ModelKind",
    "NeocusError",
    "PostProcess",
    "SegmentResult",
    "bundled_model_dir",
    "case_metrics",
    "find_cases",
    "load_case",
    "load_model",
    "model_proba",
    "predict_proba",
    "read_volume",
    "segment",
    "summarise",
]
