"""Detector stand-in for development: ground-truth boxes (phantom sweeps or dataset annotations),
degraded on purpose to look like a detector's output (missed boxes, jittered boxes, false positives,
noisy scores). Figures measured on these are *oracle-degraded*, not detector-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from neocus.data.annotations import FrameAnnotation
from neocus.detect.classes import DETECTOR_CLASSES
from neocus.detect.infer import Detection, FrameDetections
from neocus.geometry.rotated import RotatedBox
from neocus.phantom.truth import FrameTruth
from neocus.results import AsDict
from neocus.vocab import Structure

TruthFrame = Sequence[tuple[Structure, RotatedBox]]


@dataclass(frozen=True)
class Degradation(AsDict):
    """How far oracle boxes are spoiled. ``jitter``: std of centre / size noise as a fraction of the box size."""

    drop: float = 0.15  # probability that a true box is missed
    jitter: float = 0.08
    angle_jitter_deg: float = 5.0
    false_positives: float = 0.4  # mean false boxes per frame (Poisson)
    score_range: tuple[float, float] = (0.55, 0.95)  # true boxes' scores, uniform
    false_score_range: tuple[float, float] = (0.3, 0.6)
    score_noise: float = 0.08


NO_DEGRADATION = Degradation(drop=0.0, jitter=0.0, angle_jitter_deg=0.0, false_positives=0.0, score_range=(0.9, 0.9), score_noise=0.0)


def truth_from_annotations(annotations: Sequence[FrameAnnotation], *, n_frames: int) -> list[list[tuple[Structure, RotatedBox]]]:
    """Per frame ``0..n_frames-1``: the annotated structure boxes (frames without a line have none)."""
    out: list[list[tuple[Structure, RotatedBox]]] = [[] for _ in range(n_frames)]
    for a in annotations:
        if 0 <= a.frame < n_frames:
            out[a.frame] = [(b.label, RotatedBox.from_any(*b.as_tuple())) for b in a.boxes]
    return out


def truth_from_frames(truth: Sequence[FrameTruth]) -> list[list[tuple[Structure, RotatedBox]]]:
    """Per frame of a rendered phantom sweep: its structure boxes (sides dropped, as the detector's classes)."""
    return [[(b.structure, b.box) for b in t.boxes] for t in truth]


def _jitter(box: RotatedBox, deg: Degradation, rng: np.random.Generator) -> RotatedBox:
    size = max(box.w, 1.0)
    return RotatedBox.from_any(
        box.cx + rng.normal(0, deg.jitter * size), box.cy + rng.normal(0, deg.jitter * size),
        max(1.0, box.w * (1 + rng.normal(0, deg.jitter))), max(1.0, box.h * (1 + rng.normal(0, deg.jitter))),
        box.angle + rng.normal(0, deg.angle_jitter_deg),
    )


def degrade(truth: Sequence[TruthFrame], *, size_wh: tuple[int, int], degradation: Degradation = Degradation(),
            rng: np.random.Generator) -> tuple[FrameDetections, ...]:
    """Detector-like detections from per-frame truth boxes (see :class:`Degradation`)."""
    deg = degradation
    classes = [s for s in DETECTOR_CLASSES]
    out = []
    for t, boxes in enumerate(truth):
        dets = []
        for s, box in boxes:
            if s not in classes or rng.random() < deg.drop:
                continue
            score = float(np.clip(rng.uniform(*deg.score_range) + rng.normal(0, deg.score_noise), 0.05, 1.0))
            dets.append(Detection(s, score, _jitter(box, deg, rng) if deg.jitter else box))
        for _ in range(rng.poisson(deg.false_positives)):
            w = rng.uniform(0.05, 0.3) * size_wh[0]
            box = RotatedBox.from_any(rng.uniform(0, size_wh[0]), rng.uniform(0, size_wh[1]), w, w * rng.uniform(0.2, 1.0),
                                      rng.uniform(-90, 90))
            dets.append(Detection(classes[int(rng.integers(len(classes)))], float(rng.uniform(*deg.false_score_range)), box))
        out.append(FrameDetections(t, tuple(sorted(dets, key=lambda d: -d.score))))
    return tuple(out)
