"""From frame scores to the chosen frames of one sweep: plane segments, DBSCAN clusters, sweep
direction, order consistency, RPSV / LPSV, best frame and confidence per view.

* **Plane segments.** Each frame votes for the plane of its best-scoring view (when that score reaches
  ``plane_min_score``); runs of one plane with at least ``min_segment_frames`` votes form the segments,
  so a video holding both planes splits in two and stray votes are ignored. The plane comes from the
  content only.
* **Clusters.** Per view, the frames scoring at least ``min_score`` are clustered with DBSCAN over
  ``(frame / eps_frames, score / eps_score)`` (eps 1); noise points are dropped.
* **Direction and order.** One cluster per view (or none) is chosen so that the clusters' centres
  follow the anatomical order in one direction (coronal: AHV -> TVV -> BV anterior to posterior;
  sagittal: parasagittal -> MSV -> parasagittal), maximising the summed score mass. Clusters left out
  are inconsistent with the order (or weaker repeats of a back-and-forth sweep).
* **Sides.** Detections carry no side and the two parasagittal views look alike, so the sagittal
  direction cannot be read from the images alone: the parasagittal cluster before the MSV is RPSV when
  the sweep runs right to left (``sagittal_default_direction`` unless the caller knows better) and
  LPSV otherwise; each choice records this ``basis``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d
from sklearn.cluster import DBSCAN

from neocus.phantom.sweep import SweepDirection
from neocus.results import AsDict
from neocus.views.config import Selection
from neocus.views.score import VIEWS
from neocus.vocab import Plane, View

COL = {v: i for i, v in enumerate(VIEWS)}
CORONAL_ORDER = (View.AHV, View.TVV, View.BV)  # anterior -> posterior
PLANE_COLUMNS = {Plane.CORONAL: [COL[v] for v in CORONAL_ORDER], Plane.SAGITTAL: [COL[View.MSV], COL[View.RPSV]]}
MAX_CLUSTERS = 4  # candidate clusters per view kept for the order search


@dataclass(frozen=True)
class Cluster(AsDict):
    """A DBSCAN cluster of one view's candidate frames (``view`` RPSV stands for "parasagittal" until sided)."""

    view: View
    start: int
    end: int
    n: int
    centre: float  # score-weighted mean frame
    mass: float  # summed score
    peak_frame: int
    peak_score: float
    kept: bool = False


@dataclass(frozen=True)
class ViewChoice(AsDict):
    """The frame chosen for one view."""

    view: View
    sweep: str
    frame: int
    time_s: float | None
    score: float
    confidence: float
    usable: bool
    basis: str  # how the view was told: "content", or for a side "order, <direction> (assumed|given)"


@dataclass(frozen=True)
class Segment(AsDict):
    """One run of a sweep in one plane, with its clusters, direction and chosen views."""

    plane: Plane
    start: int
    end: int
    direction: SweepDirection | None
    clusters: tuple[Cluster, ...]
    choices: tuple[ViewChoice, ...]
    missing: dict[View, str]


def plane_segments(scores: np.ndarray, sel: Selection) -> list[tuple[Plane, int, int]]:
    """``(plane, start, end)`` runs of a sweep (inclusive), from per-frame plane votes."""
    cor = scores[:, PLANE_COLUMNS[Plane.CORONAL]].max(axis=1)
    sag = scores[:, PLANE_COLUMNS[Plane.SAGITTAL]].max(axis=1)
    runs: list[list] = []  # [plane, first vote, last vote, votes]
    for t in range(len(scores)):
        if max(cor[t], sag[t]) < sel.plane_min_score:
            continue
        plane = Plane.CORONAL if cor[t] >= sag[t] else Plane.SAGITTAL
        if runs and runs[-1][0] is plane:
            runs[-1][2], runs[-1][3] = t, runs[-1][3] + 1
        else:
            runs.append([plane, t, t, 1])
    kept: list[list] = []
    for run in runs:
        if run[3] < sel.min_segment_frames:
            continue
        if kept and kept[-1][0] is run[0]:
            kept[-1][2], kept[-1][3] = run[2], kept[-1][3] + run[3]
        else:
            kept.append(run)
    out = []
    for i, (plane, first, last, _) in enumerate(kept):
        start = 0 if i == 0 else (kept[i - 1][2] + first) // 2 + 1
        end = len(scores) - 1 if i == len(kept) - 1 else (last + kept[i + 1][1]) // 2
        out.append((plane, start, end))
    return out


def view_clusters(track: np.ndarray, *, view: View, start: int, end: int, sel: Selection) -> list[Cluster]:
    """DBSCAN clusters of frames ``start..end`` of one view's score track, strongest first."""
    frames = np.arange(start, end + 1)
    s = track[start:end + 1]
    cand = frames[s >= sel.min_score]
    if cand.size == 0:
        return []
    x = np.stack([cand / sel.eps_frames, track[cand] / sel.eps_score], axis=1)
    labels = DBSCAN(eps=1.0, min_samples=sel.min_samples, algorithm="brute").fit_predict(x)
    smooth = uniform_filter1d(track, size=3, mode="nearest")
    out = []
    for k in sorted(set(labels) - {-1}):
        f = cand[labels == k]
        w = track[f]
        peak = int(f[np.argmax(smooth[f] + 1e-6 * w)])
        out.append(Cluster(view, int(f.min()), int(f.max()), int(f.size), float((f * w).sum() / w.sum()),
                           float(w.sum()), peak, float(track[peak])))
    return sorted(out, key=lambda c: -c.mass)[:MAX_CLUSTERS]


def _ordered(chosen: Sequence[Cluster | None]) -> bool:
    centres = [c.centre for c in chosen if c is not None]
    return all(a < b for a, b in zip(centres, centres[1:]))


def best_order(options: Sequence[Sequence[Cluster]], *, distinct: bool = False) -> tuple[tuple[Cluster | None, ...], int]:
    """One cluster (or none) per position so that the centres increase (+1) or decrease (-1) along the
    positions, with the largest summed mass; returns the choice and the direction (0: undetermined)."""
    best: tuple[float, tuple[Cluster | None, ...], int] = (-1.0, tuple(None for _ in options), 0)
    for combo in itertools.product(*[[None, *o] for o in options]):
        real = [c for c in combo if c is not None]
        if distinct and len({id(c) for c in real}) < len(real):
            continue
        mass = sum(c.mass for c in real)
        for d in (1, -1):
            if mass > best[0] + 1e-12 and _ordered(combo if d == 1 else combo[::-1]):
                best = (mass, combo, d if len(real) >= 2 else 0)
    return best[1], best[2]


def confidence(scores: np.ndarray, cluster: Cluster, *, rivals: Sequence[int], sel: Selection) -> float:
    """Peak score, lowered when a rival view of the plane scores close at that frame and for thin clusters."""
    peak = float(scores[cluster.peak_frame, COL[cluster.view]])
    rival = max((float(scores[cluster.peak_frame, c]) for c in rivals), default=0.0)
    margin = float(np.clip(0.5 + peak - rival, 0.0, 1.0))
    support = min(1.0, cluster.n / (2.0 * sel.min_samples))
    return float(np.sqrt(peak * margin) * support)
