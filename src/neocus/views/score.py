"""Frame scores per standard view from one frame's detections.

A view's score in a frame is ``(sum of weight x presence of expected structures + geometry weight x
geometry check - sum of penalty x presence of unexpected structures) / (sum of weights + geometry
weight) + offset``, clipped to [0, 1], plus signed weights on each structure's *relative size* (its box area in
the frame over its largest in the sweep: where a cross-section is largest, the plane cuts it best). *Presence* of a structure is its highest detection score in the frame
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


def _by_structure(dets: Sequence[Detection]) -> dict[S, list[Detection]]:
    """Detections grouped by structure, each group best score first."""
    out: dict[S, list[Detection]] = {}
    for d in sorted(dets, key=lambda d: -d.score):
        out.setdefault(d.structure, []).append(d)
    return out


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


def _midsagittal(of: dict[S, list[Detection]]) -> float:
    cc = [d for d in of.get(S.CORPUS_CALLOSUM, []) if d.box.w >= 2.0 * max(d.box.h, 1e-6)]
    if not cc or of.get(S.LATERAL_VENTRICLE):
        return 0.0
    other = max([d.score for d in of.get(S.CAVUM_SEPTI_PELLUCIDI, []) + of.get(S.CEREBELLAR_VERMIS, [])], default=0.0)
    return min(cc[0].score, other)


def _parasagittal(of: dict[S, list[Detection]]) -> float:
    lv = of.get(S.LATERAL_VENTRICLE, [])
    if len(lv) != 1:
        return 0.0
    groove = [g.score for g in of.get(S.CAUDOTHALAMIC_GROOVE, []) if _near(lv[0], g)]
    return min(lv[0].score, max(groove, default=0.0))


def geometry_checks(dets: Sequence[Detection]) -> dict[View, float]:
    """Each view's geometry check (0..1) on one frame's detections."""
    of = _by_structure(dets)
    psv = _parasagittal(of)
    return {
        View.AHV: _pair_side_by_side(of.get(S.ANTERIOR_HORN, [])[:4]),
        View.TVV: _between(of.get(S.THIRD_VENTRICLE, [])[:2], of.get(S.THALAMUS, [])[:4]),
        View.BV: _plexus_in_bodies(of.get(S.LATERAL_VENTRICLE_BODY, []), of.get(S.CHOROID_PLEXUS, [])),
        View.MSV: _midsagittal(of),
        View.RPSV: psv,
        View.LPSV: psv,
    }


@dataclass(frozen=True, eq=False)
class FrameFeatures(AsDict):
    """Per frame: presence of every structure ``[T, len(STRUCTURES)]``, its largest box area relative to
    its largest in the whole sweep ``[T, len(STRUCTURES)]`` and the geometry checks ``[T, 6]``."""

    presence: np.ndarray = field(metadata={"to_dict": False})
    size: np.ndarray = field(metadata={"to_dict": False})
    geometry: np.ndarray = field(metadata={"to_dict": False})

    @property
    def n_frames(self) -> int:
        return int(self.presence.shape[0])


def frame_features(frames: Sequence[FrameDetections], *, n_frames: int | None = None) -> FrameFeatures:
    """Features of a sweep's frames; ``n_frames`` (default: one past the last frame given) sets the length,
    so frames without detections score 0."""
    n = n_frames if n_frames is not None else (max((f.frame for f in frames), default=-1) + 1)
    presence = np.zeros((n, len(STRUCTURES)))
    area = np.zeros((n, len(STRUCTURES)))
    geometry = np.zeros((n, len(VIEWS)))
    col = {s: i for i, s in enumerate(STRUCTURES)}
    for f in frames:
        if not 0 <= f.frame < n:
            raise ValueError(f"frame {f.frame} outside 0..{n - 1}")
        for d in f.detections:
            j = col[d.structure]
            presence[f.frame, j] = max(presence[f.frame, j], d.score)
            area[f.frame, j] = max(area[f.frame, j], d.box.w * d.box.h)
        if f.detections:
            g = geometry_checks(f.detections)
            geometry[f.frame] = [g[v] for v in VIEWS]
    top = area.max(axis=0, keepdims=True)
    size = np.divide(area, top, out=np.zeros_like(area), where=top > 0)
    return FrameFeatures(presence=presence, size=size, geometry=geometry)


def weight_matrix(config: ViewsConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``W [6, S]`` (weights minus penalties), ``Z [6, S]`` relative-size weights, ``G [6]`` geometry
    weights and the normaliser ``[6]`` (sum of the positive weights); see :func:`view_scores`."""
    w = np.zeros((len(VIEWS), len(STRUCTURES)))
    z = np.zeros((len(VIEWS), len(STRUCTURES)))
    g = np.zeros(len(VIEWS))
    for i, v in enumerate(VIEWS):
        vw = config.views[v]
        for j, s in enumerate(STRUCTURES):
            w[i, j] = vw.weights.get(s, 0.0) - vw.penalties.get(s, 0.0)
            z[i, j] = vw.sizes.get(s, 0.0)
        g[i] = vw.geometry
    norm = np.clip(w, 0, None).sum(axis=1) + np.clip(z, 0, None).sum(axis=1) + g
    return w, z, g, np.where(norm > 0, norm, 1.0)


def view_scores(features: FrameFeatures, config: ViewsConfig) -> np.ndarray:
    """Scores ``[T, 6]`` (columns in :data:`VIEWS` order), each in [0, 1]."""
    w, z, g, norm = weight_matrix(config)
    raw = features.presence @ w.T + features.size @ z.T + features.geometry * g[None, :]
    offset = np.array([config.views[v].offset for v in VIEWS])
    return np.clip(raw / norm[None, :] + offset[None, :], 0.0, 1.0)


def score_frames(frames: Sequence[FrameDetections], config: ViewsConfig, *, n_frames: int | None = None) -> np.ndarray:
    """Scores ``[T, 6]`` of a sweep's detections (see the module docstring)."""
    return view_scores(frame_features(frames, n_frames=n_frames), config)
