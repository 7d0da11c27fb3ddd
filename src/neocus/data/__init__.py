"""The neocus dataset format: schema, reading and writing, splits, validation.

See docs/dataset-format.md. The names most callers need are re-exported here.
"""

from __future__ import annotations

from neocus.data.dataset import (
    CaseEntry,
    Dataset,
    annotation_path,
    append_annotation,
    case_dir,
    read_annotations,
    read_case,
    view_image_path,
    write_annotations,
    write_case,
    write_dataset_json,
    write_splits,
)
from neocus.data.schema import (
    SCHEMA_VERSION,
    BoxAnnotation,
    CaseLabels,
    CaseMetadata,
    CaseRecord,
    DatasetRecord,
    FrameAnnotation,
    LesionBoxAnnotation,
    Provenance,
    Sex,
    Splits,
    StratifyKey,
    ViewFrame,
)
from neocus.data.splits import make_splits, stratified_folds, train_test_split
from neocus.errors import DatasetError

__all__ = [
    "DatasetError",
    "make_splits",
    "stratified_folds",
    "train_test_split",
    "SCHEMA_VERSION",
    "BoxAnnotation",
    "CaseEntry",
    "CaseLabels",
    "CaseMetadata",
    "CaseRecord",
    "Dataset",
    "DatasetRecord",
    "FrameAnnotation",
    "LesionBoxAnnotation",
    "Provenance",
    "Sex",
    "Splits",
    "StratifyKey",
    "ViewFrame",
    "annotation_path",
    "append_annotation",
    "case_dir",
    "read_annotations",
    "read_case",
    "view_image_path",
    "write_annotations",
    "write_case",
    "write_dataset_json",
    "write_splits",
]
