"""Frame scores per standard view from one frame's detections.

A view's score in a frame is ``(sum of weight x presence of expected structures + geometry weight x
geometry check - sum of penalty x presence of unexpected structures) / (sum of weights + geometry
weight)``, clipped to [0, 1]. *Presence* of a structure is its highest detection score in the frame
(0 when absent). The geometry checks (each in [0, 1]) look at counts and positions:

* AHV: two anterior horns side by side (one each side of the midline);
* TVV: the third ventricle between the two thalami;
* BV: a choroid plexus inside each of the two ventricle bodies;
* MSV: a long corpus callosum arc with the cavum or the vermis, and no lateral ventricle;
* RPSV / LPSV: exactly one whole lateral ventricle with a caudothalamic groove at it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from neocus.detect.infer import Detection, FrameDetections
from neocus.results import AsDict
from neocus.views.config import ViewsConfig
from neocus.vocab import Structure as S
from neocus.vocab import View

VIEWS: tuple[View, ...] = tuple(View)
STRUCTURES: tuple[S, ...] = tuple(S)


def _of(dets: Sequence[Detection], s: S) -> list[Detection]:
    return sorted((d for d in dets if d.structure is s), key=lambda d: -d.score)


def _pair_side_by_side(dets: list[Detection]) -> float:
    """Best score of two boxes set side by side (horizontal gap larger than the vertical offset)."""
    best = 0.0
    for i in range(len(dets)):
        for j in range(i + 1, len(dets)):
            a, b = dets[i].box, dets[j].box
            dx, dy = abs(a.cx - b.cx), abs(a.cy - b.cy)
            if dx > dy and dx > 0.3 * max(a.h, b.h, 1.0):
                best = max(best, min(dets[i].score, dets[j].score))
    return best


def _between(mid: list[Detection], sides: list[Detection]) -> float:
    """Best score of a ``mid`` box lying horizontally between two ``sides`` boxes."""
    best = 0.0
    for m in mid:
        for i in range(len(sides)):
            for j in range(i + 1, len(sides)):
                lo, hi = sorted((sides[i].box.cx, sides[j].box.cx))
                if lo < m.box.cx < hi:
                    best = max(best, min(m.score, sides[i].score, sides[j].score))
    return best


def _near(a: Detection, b: Detection) -> bool:
    return float(np.hypot(a.box.cx - b.box.cx, a.box.cy - b.box.cy)) <= 0.75 * max(a.box.w, b.box.w)


def _plexus_in_bodies(bodies: list[Detection], plexus: list[Detection]) -> float:
    if len(bodies) < 2 or _pair_side_by_side(bodies[:4]) == 0.0:
        return 0.0
    hits = [max((p.score for p in plexus if _near(b, p)), default=0.0) for b in bodies[:2]]
    return float(np.mean(hits)) * min(bodies[0].score, bodies[1].score)


def _midsagittal(dets: Sequence[Detection]) -> float:
    cc = [d for d in _of(dets, S.CORPUS_CALLOSUM) if d.box.w >= 2.0 * max(d.box.h, 1e-6)]
    if not cc or _of(dets, S.LATERAL_VENTRICLE):
        return 0.0
    other = max([d.score for d in _of(dets, S.CAVUM_SEPTI_PELLUCIDI) + _of(dets, S.CEREBELLAR_VERMIS)], default=0.0)
    return min(cc[0].score, other)


def _parasagittal(dets: Sequence[Detection]) -> float:
    lv = _of(dets, S.LATERAL_VENTRICLE)
    if len(lv) != 1:
        return 0.0
    groove = [g.score for g in _of(dets, S.CAUDOTHALAMIC_GROOVE) if _near(lv[0], g)]
    return min(lv[0].score, max(groove, default=0.0))


def geometry_checks(dets: Sequence[Detection]) -> dict[View, float]:
    """Each view's geometry check (0..1) on one frame's detections."""
    psv = _parasagittal(dets)
    return {
        View.AHV: _pair_side_by_side(_of(dets, S.ANTERIOR_HORN)[:4]),
        View.TVV: _between(_of(dets, S.THIRD_VENTRICLE)[:2], _of(dets, S.THALAMUS)[:4]),
        View.BV: _plexus_in_bodies(_of(dets, S.LATERAL_VENTRICLE_BODY), _of(dets, S.CHOROID_PLEXUS)),
        View.MSV: _midsagittal(dets),
        View.RPSV: psv,
        View.LPSV: psv,
    }


@dataclass(frozen=True, eq=False)
class FrameFeatures(AsDict):
    """Per frame: presence of every structure ``[T, len(STRUCTURES)]`` and geometry checks ``[T, 6]``."""

    presence: np.ndarray = field(metadata={"to_dict": False})
    geometry: np.ndarray = field(metadata={"to_dict": False})

    @property
    def n_frames(self) -> int:
        return int(self.presence.shape[0])


def frame_features(frames: Sequence[FrameDetections], *, n_frames: int | None = None) -> FrameFeatures:
    """Features of a sweep's frames; ``n_frames`` (default: one past the last frame given) sets the length,
    so frames without detections score 0."""
    n = n_frames if n_frames is not None else (max((f.frame for f in frames), default=-1) + 1)
    presence = np.zeros((n, len(STRUCTURES)))
    geometry = np.zeros((n, len(VIEWS)))
    col = {s: i for i, s in enumerate(STRUCTURES)}
    for f in frames:
        if not 0 <= f.frame < n:
            raise ValueError(f"frame {f.frame} outside 0..{n - 1}")
        for d in f.detections:
            presence[f.frame, col[d.structure]] = max(presence[f.frame, col[d.structure]], d.score)
        g = geometry_checks(f.detections)
        geometry[f.frame] = [g[v] for v in VIEWS]
    return FrameFeatures(presence=presence, geometry=geometry)


def weight_matrix(config: ViewsConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``W [6, S]`` (weights minus penalties), ``G [6]`` geometry weights and the normaliser ``[6]``."""
    w = np.zeros((len(VIEWS), len(STRUCTURES)))
    g = np.zeros(len(VIEWS))
    for i, v in enumerate(VIEWS):
        vw = config.views[v]
        for j, s in enumerate(STRUCTURES):
            w[i, j] = vw.weights.get(s, 0.0) - vw.penalties.get(s, 0.0)
        g[i] = vw.geometry
    norm = np.clip(w, 0, None).sum(axis=1) + g
    return w, g, np.where(norm > 0, norm, 1.0)


def view_scores(features: FrameFeatures, config: ViewsConfig) -> np.ndarray:
    """Scores ``[T, 6]`` (columns in :data:`VIEWS` order), each in [0, 1]."""
    w, g, norm = weight_matrix(config)
    raw = features.presence @ w.T + features.geometry * g[None, :]
    return np.clip(raw / norm[None, :], 0.0, 1.0)


def score_frames(frames: Sequence[FrameDetections], config: ViewsConfig, *, n_frames: int | None = None) -> np.ndarray:
    """Scores ``[T, 6]`` of a sweep's detections (see the module docstring)."""
    return view_scores(frame_features(frames, n_frames=n_frames), config)
