"""Evaluating a detector on sets of annotated frames and writing ``metrics.json`` + PR-curve PNGs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from neocus.atomic import atomic_dir, check_output_dir
from neocus.detect.augment import Sample
from neocus.detect.data import MIN_SHORT_SIDE, widen_thin_boxes
from neocus.detect.evaluate import DetectionMetrics, FramePrediction, evaluate_detections, plot_pr_curves
from neocus.detect.infer import Detector
from neocus.results import AsDict, to_plain


@dataclass(frozen=True)
class EvaluationRun(AsDict):
    overall: DetectionMetrics
    sets: dict[str, DetectionMetrics]


def predict_samples(detector: Detector, samples: Sequence[Sample], *, progress: Callable[[int], None] | None = None) -> list[FramePrediction]:
    """Detections of every sample (frames of different sizes run one by one, equal ones batched)."""
    out = []
    for s in samples:
        b, sc, c = detector.detect_frames(s.image)[0].arrays()
        out.append(FramePrediction(b, sc, c))
        if progress is not None:
            progress(1)
    return out


def evaluate_sets(detector: Detector, sets: Mapping[str, Sequence[Sample]], *, min_short_side: float = MIN_SHORT_SIDE,
                  progress: Callable[[int], None] | None = None) -> EvaluationRun:
    """Metrics per set and pooled over all sets; the truth boxes are first widened to the detector's
    convention (:data:`neocus.detect.data.MIN_SHORT_SIDE`; 0 scores against the boxes as given)."""
    sets = {k: [widen_thin_boxes(s, min_short_side=min_short_side) for s in v] for k, v in sets.items()}
    preds: dict[str, list[FramePrediction]] = {k: predict_samples(detector, v, progress=progress) for k, v in sets.items()}
    per = {name: evaluate_detections(preds[name], [(s.boxes, s.labels) for s in samples]) for name, samples in sets.items()}
    overall = evaluate_detections([p for k in sets for p in preds[k]], [(s.boxes, s.labels) for k in sets for s in sets[k]])
    return EvaluationRun(overall=overall, sets=per)


def write_evaluation(run: EvaluationRun, out_dir: str | Path, *, info: Mapping[str, object],
                     force: bool = False) -> list[Path]:
    """``metrics.json`` (top-level ``map50``, ``map50_95``, per-class AP, per set) and ``pr_<set>.png``,
    written into a temporary sibling folder renamed into place when complete."""
    out = Path(out_dir)
    check_output_dir(out, force=force, marker="metrics.json")
    data = {"map50": run.overall.map50, "map50_95": run.overall.map50_95, "iou": "rotated, exact polygon",
            "interpolation": "COCO 101-point", **to_plain(run.overall.to_dict()), "sets": to_plain(run.sets), "info": to_plain(dict(info))}
    names = ["metrics.json"]
    with atomic_dir(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        for name, m in {**run.sets, "all": run.overall}.items():
            if m.pr_curves and not (name == "all" and len(run.sets) == 1):
                plot_pr_curves(m.pr_curves, tmp / f"pr_{name}.png", title=f"PR at IoU 0.5: {name}")
                names.append(f"pr_{name}.png")
    return [out / n for n in names]
