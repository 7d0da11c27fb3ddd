"""Rotated mAP as COCO computes it, with exact polygon IoU: for each class and IoU threshold
(0.50:0.05:0.95), detections of all frames sorted by score are matched greedily to the unmatched
ground-truth box of highest IoU; precision is made monotone and sampled at 101 recall points.
Classes without ground truth are left out of the mean. PR curves at IoU 0.5 go to a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neocus.atomic import atomic_target
from neocus.detect.classes import DETECTOR_CLASSES
from neocus.geometry.overlap import rbox_iou_matrix
from neocus.results import AsDict

IOU_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2).tolist())
RECALL_POINTS = np.linspace(0, 1, 101)


@dataclass(frozen=True)
class FramePrediction:
    """Detections of one frame: boxes ``[N, 5]`` (pixels, degrees), scores ``[N]``, class indices ``[N]``."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class ClassAp(AsDict):
    structure: str
    n_true: int
    ap50: float
    ap50_95: float


@dataclass(frozen=True)
class DetectionMetrics(AsDict):
    map50: float
    map50_95: float
    n_frames: int
    n_true: int
    per_class: tuple[ClassAp, ...]
    pr_curves: dict[str, tuple[float, ...]]  # per class: interpolated precision at the 101 recall points, IoU 0.5


def interpolated_ap(tp: np.ndarray, scores: np.ndarray, n_true: int) -> tuple[float, np.ndarray, np.ndarray]:
    """COCO 101-point AP of detections (``tp`` flags, ``scores``) against ``n_true`` boxes, the
    interpolated precision at the 101 recall points, and the raw recall of each detection."""
    if n_true == 0:
        return float("nan"), np.zeros(101), np.zeros(0)
    order = np.argsort(-scores, kind="mergesort")
    tp = tp[order].astype(np.float64)
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    recall = ctp / n_true
    precision = ctp / np.maximum(ctp + cfp, np.finfo(float).eps)
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    idx = np.searchsorted(recall, RECALL_POINTS, side="left")
    sampled = np.array([precision[i] if i < len(precision) else 0.0 for i in idx])
    return float(sampled.mean()), sampled, recall


def _match_class(preds: Sequence[FramePrediction], truths: Sequence[tuple[np.ndarray, np.ndarray]], c: int):  # noqa: ANN202
    """Class ``c``: true-positive flags ``[thresholds, detections]`` (detections by falling score), the
    sorted scores, and the number of true boxes."""
    dets: list[tuple[float, int, int]] = []  # (score, frame, index in frame)
    ious: dict[int, np.ndarray] = {}
    n_true = 0
    for f, (p, (tb, tl)) in enumerate(zip(preds, truths)):
        m = np.flatnonzero(p.labels == c)
        gt = np.asarray(tb, dtype=np.float64).reshape(-1, 5)[np.asarray(tl) == c]
        n_true += len(gt)
        ious[f] = rbox_iou_matrix(p.boxes[m], gt) if len(m) and len(gt) else np.zeros((len(m), len(gt)))
        dets += [(float(p.scores[i]), f, k) for k, i in enumerate(m)]
    dets.sort(key=lambda d: -d[0])  # stable: ties keep frame order
    tps = np.zeros((len(IOU_THRESHOLDS), len(dets)), dtype=bool)
    for ti, thr in enumerate(IOU_THRESHOLDS):
        used = {f: np.zeros(m.shape[1], bool) for f, m in ious.items()}
        for k, (_, f, r) in enumerate(dets):
            row = ious[f][r]
            cand = np.where(~used[f] & (row >= thr), row, -1.0)
            if cand.size and cand.max() >= 0:
                used[f][int(cand.argmax())] = True
                tps[ti, k] = True
    return tps, np.array([d[0] for d in dets]), n_true


def evaluate_detections(
    predictions: Sequence[FramePrediction], truths: Sequence[tuple[np.ndarray, np.ndarray]], *,
    class_names: Sequence[str] | None = None,
) -> DetectionMetrics:
    """mAP@0.5, mAP@0.5:0.95, per-class AP and the precision at 101 recall points (IoU 0.5) per class."""
    if len(predictions) != len(truths):
        raise ValueError(f"{len(predictions)} predictions but {len(truths)} truth frames")
    names = list(class_names or [c.value for c in DETECTOR_CLASSES])
    per_class, curves = [], {}
    for c, name in enumerate(names):
        tps, scores, n_true = _match_class(predictions, truths, c)
        if n_true == 0:
            continue
        aps = [interpolated_ap(tps[i], scores, n_true)[0] for i in range(len(IOU_THRESHOLDS))]
        curves[name] = tuple(float(v) for v in interpolated_ap(tps[0], scores, n_true)[1])
        per_class.append(ClassAp(structure=name, n_true=n_true, ap50=aps[0], ap50_95=float(np.mean(aps))))
    map50 = float(np.mean([c.ap50 for c in per_class])) if per_class else float("nan")
    map5095 = float(np.mean([c.ap50_95 for c in per_class])) if per_class else float("nan")
    return DetectionMetrics(map50=map50, map50_95=map5095, n_frames=len(truths), n_true=sum(c.n_true for c in per_class),
                            per_class=tuple(per_class), pr_curves=curves)


def plot_pr_curves(curves: dict[str, tuple[float, ...]], path: Path, *, title: str) -> Path:
    """Precision-recall curves (IoU 0.5, 101-point interpolated) of every class in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    for name, prec in sorted(curves.items()):
        ax.plot(RECALL_POINTS, prec, lw=1, label=f"{name} (AP50 {np.mean(prec):.2f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision (interpolated)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, frameon=False, loc="lower left")
    fig.tight_layout()
    with atomic_target(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
