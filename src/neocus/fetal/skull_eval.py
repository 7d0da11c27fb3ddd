"""Judge a skull model on a folder in the HC18 layout: per image, the head predicted by the model, the
ellipse fitted to it as ``fetal measure`` fits it (sub-pixel, :func:`neocus.fetal.skull_model.head_measurements`),
HC from that ellipse less the model's edge offset and the CSV pixel size against the CSV HC, skull Dice
and Hausdorff distance of the fitted (filled) ellipse against the sonographer's. Summary in ``metrics.json``
(top level: ``hc_mae_mm``, ``hc_mean_difference_mm``, ``skull_dice``, ``hausdorff_mm``), one row per
image in ``images.csv``.

Besides the model's error, the summary gives the HC of the sonographer's own filled mask against the CSV
(``reference_mask_hc_mean_difference_mm``, pixel-centre fit, no offset: about +0.8 mm on the shared HC18
images: the filled region's edge lies about one pixel outside the ellipse whose perimeter the CSV gives,
the offset a model's measurement takes off; docs/fetal.md).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neocus.atomic import atomic_dir, check_output_dir
from neocus.errors import NeocusError
from neocus.fetal.ellipse import ellipse_mask, measure_head
from neocus.fetal.hc18 import Hc18Item, load_hc18_annotation, load_hc18_image, read_hc18
from neocus.fetal.measure import head_checks
from neocus.fetal.skull_model import SkullModel, head_measurements, predict_skull_probability, skull_mask_from_probability
from neocus.fetal.skull_train import SPLIT_NAME
from neocus.results import AsDict, rounded

__all__ = ["METRICS_NAME", "ImageRow", "SkullEvaluation", "evaluate_hc18", "split_names", "write_evaluation"]

METRICS_NAME = "metrics.json"
ROWS_NAME = "images.csv"
HC_BANDS_MM = (165.0, 180.0)  # the bands of docs/fetal.md: < 165, 165-180, >= 180 mm


@dataclass(frozen=True)
class ImageRow(AsDict):
    """One image: reference and measured HC (mm), Dice of the fitted ellipse and of the raw mask,
    Hausdorff (mm) of the fitted ellipse; ``error`` says why nothing was measured."""

    name: str
    pixel_mm: float
    hc_reference_mm: float
    hc_mm: float | None
    hc_difference_mm: float | None
    hc_reference_mask_mm: float
    skull_dice: float | None
    mask_dice: float | None
    hausdorff_mm: float | None
    head_check: str | None  # why `fetal measure` would call this "no head" (None: it passes)
    error: str | None


@dataclass(frozen=True)
class SkullEvaluation(AsDict):
    """The summary over the measured images (failures counted apart, never filled in)."""

    n_images: int
    n_failed: int
    n_failing_head_check: int  # images `fetal measure` would report as "no head"
    hc_mae_mm: float
    hc_mae_passing_head_check_mm: float  # over the images `fetal measure` would measure
    hc_mean_difference_mm: float
    hc_sd_difference_mm: float
    hc_max_abs_difference_mm: float
    skull_dice: float
    skull_dice_min: float
    mask_dice: float
    hausdorff_mm: float
    hausdorff_median_mm: float
    reference_mask_hc_mean_difference_mm: float
    by_hc_band: dict[str, dict[str, float]]
    seconds_per_image: float
    model: str
    images: str
    flip_tta: bool
    rows: tuple[ImageRow, ...] = field(metadata={"to_dict": False})


def split_names(model_dir: str | Path, *, side: str) -> tuple[str, ...]:
    """Image names on one side (train, validation, test) of the split a model was trained with."""
    path = Path(model_dir) / SPLIT_NAME
    if side not in ("train", "validation", "test"):
        raise NeocusError(f"unknown split side {side!r}", where="split", hint="use train, validation or test")
    if not path.is_file():
        raise NeocusError(f"the model has no {SPLIT_NAME}, so its held-out images are not known", where=path,
                          hint="evaluate all images, or a model trained by `fetal train skull`")
    return tuple(json.loads(path.read_text(encoding="utf-8"))["split"][side])


def _row(item: Hc18Item, model: SkullModel, *, device: str, flip_tta: bool) -> ImageRow:
    from neocus.fetal.metrics import dice, hausdorff_mm

    truth = load_hc18_annotation(item)
    ref_hc = measure_head(truth, pixel_mm=item.pixel_mm).hc_mm
    base = dict(name=item.name, pixel_mm=item.pixel_mm, hc_reference_mm=item.hc_mm, hc_reference_mask_mm=ref_hc)
    prob = predict_skull_probability(load_hc18_image(item), model, device=device, flip_tta=flip_tta)
    mask = skull_mask_from_probability(prob)
    base["head_check"] = head_checks(prob, mask)[1]
    try:
        head = head_measurements(prob, mask, model.config, pixel_mm=item.pixel_mm)
    except NeocusError as exc:
        return ImageRow(**base, hc_mm=None, hc_difference_mm=None, skull_dice=None, mask_dice=None,
                        hausdorff_mm=None, error=exc.what)
    fitted = ellipse_mask(head.ellipses.outer, shape_hw=truth.shape)
    return ImageRow(**base, hc_mm=head.hc_mm, hc_difference_mm=head.hc_mm - item.hc_mm,
                    skull_dice=dice(fitted, truth), mask_dice=dice(mask, truth),
                    hausdorff_mm=hausdorff_mm(fitted, truth, pixel_mm=item.pixel_mm), error=None)


def _band(rows: Sequence[ImageRow]) -> dict[str, dict[str, float]]:
    lo, hi = HC_BANDS_MM
    bands = {f"hc<{lo:g}": lambda r: r.hc_reference_mm < lo, f"{lo:g}<=hc<{hi:g}": lambda r: lo <= r.hc_reference_mm < hi,
             f"hc>={hi:g}": lambda r: r.hc_reference_mm >= hi}
    out = {}
    for name, keep in bands.items():
        d = np.array([r.hc_difference_mm for r in rows if keep(r)])
        out[name] = {"n": int(d.size), "mae_mm": float(np.abs(d).mean()) if d.size else math.nan,
                     "mean_difference_mm": float(d.mean()) if d.size else math.nan}
    return out


def evaluate_hc18(data_dir: str | Path, model: SkullModel, *, names: Sequence[str] | None = None, device: str = "cpu",
                  flip_tta: bool = False, progress: Callable[[str], None] | None = None) -> SkullEvaluation:
    """Evaluate ``model`` on the HC18-layout folder ``data_dir`` (only ``names`` when given), measuring
    as ``fetal measure`` does (``flip_tta`` as there)."""
    hc18 = read_hc18(data_dir)
    items = hc18.items
    if names is not None:
        missing = sorted(set(names) - {it.name for it in items})
        if missing:
            raise NeocusError(f"{len(missing)} images of the split are not in the data (first: {missing[0]})",
                              where=data_dir, hint="evaluate the split on the folder the model was trained from")
        items = tuple(it for it in items if it.name in set(names))
    t0, rows = time.perf_counter(), []
    for i, item in enumerate(items):
        rows.append(_row(item, model, device=device, flip_tta=flip_tta))
        if progress:
            progress(f"image {i + 1}/{len(items)}")
    seconds = (time.perf_counter() - t0) / max(len(items), 1)
    ok = [r for r in rows if r.error is None]
    if not ok:
        raise NeocusError("the model found no head in any image", where=data_dir)
    d = np.array([r.hc_difference_mm for r in ok])
    hd = np.array([r.hausdorff_mm for r in ok])
    dices = np.array([r.skull_dice for r in ok])
    return SkullEvaluation(
        n_images=len(rows), n_failed=len(rows) - len(ok), n_failing_head_check=sum(r.head_check is not None for r in rows),
        hc_mae_mm=float(np.abs(d).mean()),
        hc_mae_passing_head_check_mm=float(np.mean([abs(r.hc_difference_mm) for r in ok if r.head_check is None] or [math.nan])),
        hc_mean_difference_mm=float(d.mean()), hc_sd_difference_mm=float(d.std(ddof=1)) if d.size > 1 else 0.0,
        hc_max_abs_difference_mm=float(np.abs(d).max()), skull_dice=float(dices.mean()), skull_dice_min=float(dices.min()),
        mask_dice=float(np.mean([r.mask_dice for r in ok])), hausdorff_mm=float(hd.mean()),
        hausdorff_median_mm=float(np.median(hd)),
        reference_mask_hc_mean_difference_mm=float(np.mean([r.hc_reference_mask_mm - r.hc_reference_mm for r in rows])),
        by_hc_band=_band(ok), seconds_per_image=seconds, model=str(model.path.name if model.path else "in memory"),
        images="all" if names is None else f"{len(items)} named", flip_tta=flip_tta, rows=tuple(rows))


def write_evaluation(result: SkullEvaluation, out_dir: str | Path, *, force: bool = False) -> Path:
    """Write ``metrics.json`` and ``images.csv`` into ``out_dir`` (a new folder, or an earlier evaluation with ``force``)."""
    out = Path(out_dir)
    check_output_dir(out, force=force, marker=METRICS_NAME, kind="a neocus fetal evaluation")
    buf = io.StringIO()
    fields = list(ImageRow.__dataclass_fields__)
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in result.rows:
        writer.writerow({k: ("" if v is None else v) for k, v in rounded(r.to_dict(), 4).items()})
    with atomic_dir(out) as tmp:
        (tmp / METRICS_NAME).write_text(json.dumps(rounded(result.to_dict(), 4), indent=2) + "\n", encoding="utf-8")
        (tmp / ROWS_NAME).write_text(buf.getvalue(), encoding="utf-8")
    return out
