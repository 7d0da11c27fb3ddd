"""``fetal evaluate`` on a neocus fetal phantom dataset (``fetal simulate`` output, ``neocus-fetal-still/1``).

Each model is optional; a metric whose model is missing (or whose images are not in the data) is
``None`` with the reason in ``reasons``:

* ``plane_accuracy``: the plane model (:mod:`neocus.fetal.plane_model`) on every image;
* ``cerebellum_dice``, ``cistern_dice``, ``tcd_mae_mm``: the posterior-fossa model
  (:mod:`neocus.fetal.cerebellum`) on the trans-cerebellar images, against the dataset's label maps and
  true TCD (mean over images that have the structure; TCD error over images where it was measured);
* ``auc``: the hypoplasia model (:mod:`neocus.fetal.hypoplasia_measure`) on the trans-cerebellar
  images (cerebellar hypoplasia against every other condition), the image cropped on the head box of
  the dataset's label map, as in the phantom hold-out: the fused score of ``fetal measure`` (TCD and
  cisterna magna z-scores from the posterior-fossa model, the classifier's logit) when the folder has
  one, the posterior-fossa model is loaded and a TCD z-score was made; else the classifier alone
  (``hypoplasia_method`` in the rows).

Per-image rows go to ``images.csv`` beside ``metrics.json``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neocus.atomic import atomic_dir, check_output_dir
from neocus.fetal.phantom_dataset import read_fetal_dataset
from neocus.results import AsDict, rounded
from neocus.vocab import FetalCondition, FetalPlane

__all__ = ["PhantomEvaluation", "PhantomModels", "evaluate_phantom_dataset", "load_phantom_models", "write_phantom_evaluation"]

METRICS_NAME = "metrics.json"
ROWS_NAME = "images.csv"
ROW_FIELDS = ("case_id", "plane", "condition", "ga_weeks", "plane_predicted", "hypoplasia_probability", "hypoplasia_flag",
              "hypoplasia_method", "cerebellum_dice", "cistern_dice", "tcd_mm", "tcd_true_mm")


@dataclass(frozen=True, eq=False)
class PhantomModels:
    """The loaded models (``None``: missing) and, for each missing one, why."""

    plane: Any = None
    cerebellum: Any = None
    hypoplasia: Any = None
    missing: dict[str, str] | None = None


@dataclass(frozen=True)
class PhantomEvaluation(AsDict):
    n_images: int
    n_trans_cerebellar: int
    auc: float | None
    tcd_mae_mm: float | None
    cerebellum_dice: float | None
    cistern_dice: float | None
    plane_accuracy: float | None
    reasons: dict[str, str]
    rows: tuple[dict, ...] = ()


def _read(path: Path) -> np.ndarray:
    import cv2

    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(int(a.sum() + b.sum()), 1))


def _case_row(case, models: PhantomModels) -> dict:
    from neocus.fetal.cerebellum import class_map
    from neocus.fetal.hypoplasia_data import head_box_xywh
    from neocus.fetal.phantom_masks import structure_masks

    grey, labels = _read(case.image_path), _read(case.labels_path)
    rec = case.record
    row = dict.fromkeys(ROW_FIELDS)
    row |= {"case_id": case.case_id, "plane": case.plane.value, "condition": case.condition.value, "ga_weeks": rec.get("ga_weeks"),
            "tcd_true_mm": (rec.get("truth") or {}).get("tcd_mm") if case.plane is FetalPlane.TRANS_CEREBELLAR else None}
    if models.plane is not None:
        from neocus.fetal.plane_model import predict_planes

        row["plane_predicted"] = predict_planes([grey], models.plane)[0].plane.value
    if case.plane is not FetalPlane.TRANS_CEREBELLAR:
        return row
    fossa = None
    if models.cerebellum is not None:
        from neocus.fetal.cerebellum import masks_from_classes
        from neocus.fetal.fossa_measure import fossa_measurement

        fossa, classes = fossa_measurement(grey, models.cerebellum, pixel_mm=rec.get("pixel_mm"), ga_weeks=rec.get("ga_weeks"))
        pred_masks = masks_from_classes(classes)
        true = structure_masks(labels)
        row["cerebellum_dice"] = _dice(pred_masks["cerebellum"], true["cerebellum"])
        row["cistern_dice"] = _dice(pred_masks["cistern"], true["cistern"]) if true["cistern"].any() else None
        row["tcd_mm"] = fossa.tcd_mm
    if models.hypoplasia is not None:
        row |= _hypoplasia_fields(grey, models.hypoplasia, head_box_xywh(class_map(labels)), fossa, rec)
    return row


def _hypoplasia_fields(grey: np.ndarray, bundle, box, fossa, rec: dict) -> dict:
    """Probability, flag and method of the hypoplasia model on one trans-cerebellar image (see the module docstring)."""
    from neocus.fetal.hypoplasia_model import predict_hypoplasia
    from neocus.fetal.hypoplasia_score import hypoplasia_probability

    pred = predict_hypoplasia(grey, bundle.model, head_box_xywh=box, ga_weeks=rec.get("ga_weeks"), pixel_mm=rec.get("pixel_mm"))
    if bundle.score is not None and fossa is not None:
        s = hypoplasia_probability(fossa, score=bundle.score, classifier_logit=pred.logit)
        if s.probability is not None:
            return {"hypoplasia_probability": s.probability, "hypoplasia_flag": s.call, "hypoplasia_method": bundle.method}
    return {"hypoplasia_probability": pred.probability, "hypoplasia_flag": pred.flag, "hypoplasia_method": "classifier"}


def _mean(values) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def evaluate_phantom_dataset(data_dir: str | Path, models: PhantomModels, *,
                             progress: Callable[[str], None] | None = None) -> PhantomEvaluation:
    """Evaluate ``models`` on a fetal phantom dataset (see the module docstring)."""
    from neocus.stats import auc_score

    cases = read_fetal_dataset(data_dir)
    rows = []
    for i, case in enumerate(cases):
        rows.append(_case_row(case, models))
        if progress is not None:
            progress(f"image {i + 1}/{len(cases)}")
    reasons = dict(models.missing or {})
    tc = [r for r in rows if r["plane"] == FetalPlane.TRANS_CEREBELLAR.value]
    out: dict[str, float | None] = dict.fromkeys(("auc", "tcd_mae_mm", "cerebellum_dice", "cistern_dice", "plane_accuracy"))
    if models.plane is not None:
        out["plane_accuracy"] = float(np.mean([r["plane"] == r["plane_predicted"] for r in rows]))
    if not tc:
        for key in ("auc", "tcd_mae_mm", "cerebellum_dice", "cistern_dice"):
            reasons.setdefault(key, "no trans-cerebellar image in the data")
    if models.hypoplasia is not None and tc:
        y = [int(r["condition"] == FetalCondition.CEREBELLAR_HYPOPLASIA.value) for r in tc]
        if 0 < sum(y) < len(y):
            out["auc"] = auc_score(y, [r["hypoplasia_probability"] for r in tc])
        else:
            reasons["auc"] = "the trans-cerebellar images are all of one class (hypoplasia or not): no AUC"
    if models.cerebellum is not None and tc:
        out["cerebellum_dice"] = _mean(r["cerebellum_dice"] for r in tc)
        out["cistern_dice"] = _mean(r["cistern_dice"] for r in tc)
        errors = [abs(r["tcd_mm"] - r["tcd_true_mm"]) for r in tc if r["tcd_mm"] is not None and r["tcd_true_mm"] is not None]
        out["tcd_mae_mm"] = float(np.mean(errors)) if errors else None
        if not errors:
            reasons["tcd_mae_mm"] = "the model measured no TCD on any trans-cerebellar image"
    return PhantomEvaluation(n_images=len(rows), n_trans_cerebellar=len(tc), **out, reasons=reasons, rows=tuple(rows))


def write_phantom_evaluation(result: PhantomEvaluation, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write ``metrics.json`` (without the rows) and ``images.csv`` into ``out_dir``."""
    out = Path(out_dir)
    check_output_dir(out, force=force, marker=METRICS_NAME, kind="a neocus fetal evaluation")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ROW_FIELDS), lineterminator="\n")
    writer.writeheader()
    for r in result.rows:
        writer.writerow({k: ("" if v is None else v) for k, v in rounded(r, 4).items()})
    summary = {k: v for k, v in result.to_dict().items() if k != "rows"}
    with atomic_dir(out) as tmp:
        (tmp / METRICS_NAME).write_text(json.dumps(rounded(summary, 4), indent=2) + "\n", encoding="utf-8")
        (tmp / ROWS_NAME).write_text(buf.getvalue(), encoding="utf-8")
    return out


def load_phantom_models(*, plane: str | Path | None = None, cerebellum: str | Path | None = None,
                        hypoplasia: str | Path | None = None) -> PhantomModels:
    """Each model from its folder when given (a broken folder is an error), else the bundled one under
    ``models/fetal/`` when there is one, else ``None`` with the reason in ``missing``."""
    from neocus.fetal.cerebellum import load_cerebellum_model
    from neocus.fetal.hypoplasia_measure import load_hypoplasia_bundle
    from neocus.fetal.hypoplasia_model import default_hypoplasia_model_dir
    from neocus.fetal.plane_model import default_plane_model_dir, load_plane_model

    bundled = default_plane_model_dir().parent
    specs = {"plane": (plane, default_plane_model_dir(), load_plane_model, ("plane_accuracy",)),
             "cerebellum": (cerebellum, bundled / "cerebellum", load_cerebellum_model, ("cerebellum_dice", "cistern_dice", "tcd_mae_mm")),
             "hypoplasia": (hypoplasia, default_hypoplasia_model_dir(), load_hypoplasia_bundle, ("auc",))}
    loaded, missing = {}, {}
    for name, (given, default, load, metrics) in specs.items():
        folder = Path(given) if given is not None else default
        if given is None and not (folder / "config.json").is_file():
            loaded[name] = None
            for m in metrics:
                missing[m] = f"no {name} model: none is bundled in models/fetal/{folder.name} and none was given (`{name}_model`)"
            continue
        loaded[name] = load(folder)
    return PhantomModels(**loaded, missing=missing)
