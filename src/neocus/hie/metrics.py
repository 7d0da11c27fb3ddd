"""Per-patient segmentation metrics and their summary over patients (confidence intervals over patients).

Definitions (those of the BONBID-HIE 2023 challenge, surfaces from MONAI's edge helpers):

* ``dice``: 2|P∩T| / (|P| + |T|); both empty -> 1, one empty -> 0.
* surfaces are the edge voxels of each mask (``monai.metrics.utils.get_mask_edges``); distances are
  Euclidean in mm on the case's spacing (``get_surface_distance``).
* ``masd``: mean of the two directed mean surface distances (P->T and T->P); both empty -> 0; one
  empty -> undefined (NaN, left out of the mean; the count is reported).
* ``hd95``: the larger of the two directed 95th percentiles (numpy's linear percentile); as ``masd``.
* ``nsd``: normalised surface Dice at ``tolerance_mm`` (the challenge's 2 mm): the share of edge voxels
  of both masks lying within the tolerance of the other mask's surface; both empty -> 1, one empty -> 0.
  (The challenge weights surface elements by area; here each edge voxel counts once.)
* ``sensitivity`` / ``specificity``: voxel-wise, specificity inside ``region`` (the brain) when given;
  sensitivity is NaN on a case without lesion.
* ``detection_rate``: share of the true lesion components (26-connected) that the prediction touches;
  NaN on a case without lesion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from scipy import ndimage, stats

from neocus.errors import NeocusError
from neocus.results import AsDict

NSD_TOLERANCE_MM = 2.0
METRIC_NAMES = ("dice", "masd", "nsd", "hd95", "sensitivity", "specificity", "detection_rate")
_CONNECTIVITY = ndimage.generate_binary_structure(3, 3)


@dataclass(frozen=True)
class CaseMetrics(AsDict):
    case_id: str
    dice: float
    masd: float
    nsd: float
    hd95: float
    sensitivity: float
    specificity: float
    detection_rate: float
    true_ml: float
    pred_ml: float
    true_components: int
    pred_components: int


@dataclass(frozen=True)
class MetricSummary(AsDict):
    mean: float
    ci: tuple[float, float]
    median: float
    n: int  # patients where the metric is defined


@dataclass(frozen=True)
class MetricsReport(AsDict):
    """Mean of each metric over patients with a t-interval at ``level``; per-patient rows beside it."""

    n_patients: int
    level: float
    nsd_tolerance_mm: float
    dice: MetricSummary
    masd: MetricSummary
    nsd: MetricSummary
    hd95: MetricSummary
    sensitivity: MetricSummary
    specificity: MetricSummary
    detection_rate: MetricSummary
    cases: tuple[CaseMetrics, ...]


def lesion_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """26-connected components of a 3-D mask: (labels, count)."""
    labels, n = ndimage.label(np.asarray(mask, dtype=bool), structure=_CONNECTIVITY)
    return labels, int(n)


def dice(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    p, t = np.asarray(y_pred, bool), np.asarray(y_true, bool)
    total = int(p.sum()) + int(t.sum())
    return 1.0 if total == 0 else 2.0 * int((p & t).sum()) / total


def surface_distances(y_pred: np.ndarray, y_true: np.ndarray, *, spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Distances (mm) from each edge voxel of the prediction to the true surface, and the reverse."""
    from monai.metrics.utils import get_mask_edges, get_surface_distance

    edges_pred, edges_true = get_mask_edges(np.asarray(y_pred, bool), np.asarray(y_true, bool), crop=True)
    d_pt = np.asarray(get_surface_distance(edges_pred, edges_true, spacing=tuple(spacing)), dtype=np.float64)
    d_tp = np.asarray(get_surface_distance(edges_true, edges_pred, spacing=tuple(spacing)), dtype=np.float64)
    return d_pt, d_tp


def case_metrics(
    y_pred: np.ndarray,
    y_true: np.ndarray,
    *,
    spacing: Sequence[float],
    case_id: str = "",
    region: np.ndarray | None = None,
    tolerance_mm: float = NSD_TOLERANCE_MM,
) -> CaseMetrics:
    """All metrics of one patient (3-D masks on one grid, ``spacing`` in mm in array order)."""
    p, t = np.asarray(y_pred, bool), np.asarray(y_true, bool)
    if p.shape != t.shape or p.ndim != 3:
        raise NeocusError(f"prediction {p.shape} and truth {t.shape} must be 3-D masks of one shape", where=case_id or "masks")
    voxel_ml = float(np.prod(spacing)) / 1000.0
    n_p, n_t = int(p.sum()), int(t.sum())
    if n_p == 0 and n_t == 0:
        masd, hd95, nsd = 0.0, 0.0, 1.0
    elif n_p == 0 or n_t == 0:
        masd, hd95, nsd = math.nan, math.nan, 0.0
    else:
        d_pt, d_tp = surface_distances(p, t, spacing=spacing)
        masd = float((d_pt.mean() + d_tp.mean()) / 2.0)
        hd95 = float(max(np.percentile(d_pt, 95), np.percentile(d_tp, 95)))
        nsd = float((np.count_nonzero(d_pt <= tolerance_mm) + np.count_nonzero(d_tp <= tolerance_mm)) / (d_pt.size + d_tp.size))
    inside = np.ones_like(t) if region is None else np.asarray(region, bool)
    negatives = int((~t & inside).sum())
    true_labels, n_true_comp = lesion_components(t)
    _, n_pred_comp = lesion_components(p)
    hit = np.unique(true_labels[p & t])
    return CaseMetrics(
        case_id=case_id,
        dice=dice(p, t),
        masd=masd,
        nsd=nsd,
        hd95=hd95,
        sensitivity=(int((p & t).sum()) / n_t) if n_t else math.nan,
        specificity=(int((~p & ~t & inside).sum()) / negatives) if negatives else math.nan,
        detection_rate=(np.count_nonzero(hit) / n_true_comp) if n_true_comp else math.nan,
        true_ml=n_t * voxel_ml,
        pred_ml=n_p * voxel_ml,
        true_components=n_true_comp,
        pred_components=n_pred_comp,
    )


def summarise_metric(values: Sequence[float], *, level: float = 0.95) -> MetricSummary:
    """Mean over the defined values with a Student-t interval (NaN where fewer than two)."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return MetricSummary(mean=math.nan, ci=(math.nan, math.nan), median=math.nan, n=0)
    mean = float(x.mean())
    if x.size < 2 or float(x.std()) == 0.0:
        ci = (mean, mean) if x.size >= 2 else (math.nan, math.nan)
    else:
        half = float(stats.t.ppf(0.5 + level / 2, df=x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
        ci = (mean - half, mean + half)
    return MetricSummary(mean=mean, ci=ci, median=float(np.median(x)), n=int(x.size))


def summarise(cases: Sequence[CaseMetrics], *, level: float = 0.95, tolerance_mm: float = NSD_TOLERANCE_MM) -> MetricsReport:
    """A :class:`MetricsReport` over patients."""
    if not cases:
        raise NeocusError("no cases to summarise", where="cases", hint="evaluate at least one patient")
    per = {name: summarise_metric([getattr(c, name) for c in cases], level=level) for name in METRIC_NAMES}
    return MetricsReport(n_patients=len(cases), level=level, nsd_tolerance_mm=tolerance_mm, cases=tuple(cases), **per)


def report_json(report: MetricsReport) -> dict:
    """``metrics.json``: top-level mean of each metric, then CIs and counts, then per-patient rows."""
    out: dict = {name: getattr(report, name).mean for name in METRIC_NAMES}
    out |= {"n_patients": report.n_patients, "level": report.level, "nsd_tolerance_mm": report.nsd_tolerance_mm}
    out["summary"] = {name: getattr(report, name).to_dict() for name in METRIC_NAMES}
    out["cases"] = [c.to_dict() for c in report.cases]
    return out


def case_rows_csv(cases: Sequence[CaseMetrics]) -> str:
    """Per-patient rows as CSV text (NaN written as empty)."""
    names = [f.name for f in fields(CaseMetrics)]
    lines = [",".join(names)]
    for c in cases:
        cells = []
        for name in names:
            v = getattr(c, name)
            cells.append("" if isinstance(v, float) and not math.isfinite(v) else (f"{v:.6g}" if isinstance(v, float) else str(v)))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"
