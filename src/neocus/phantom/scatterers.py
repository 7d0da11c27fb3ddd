"""Where the renderer's random scatterer amplitudes come from.

Two sources, same statistics:

* per frame (``speckle_seed=None``): drawn from the frame's ``numpy.random.Generator``; every frame
  has independent speckle;
* frozen in the head (``speckle_seed=int``): each beam sample takes the amplitude of the cell of a
  3-D lattice (step = the beam's sample step) that its head-coordinate point falls in, from a
  counter-based hash of the cell index and the seed. Scatterers then belong to the tissue, as in a
  real head: a probe that pauses sees the same speckle, a slow sweep sees it decorrelate as the plane
  moves through the lattice (near the probe slowly, deep quickly), and the tissue's texture stays put.

Both also give the tissue's *texture*: a smooth random modulation of the echo (unit standard
deviation, correlation length ``TEXTURE_MM``), the renderer's model of the sub-resolution
heterogeneity of real parenchyma that a uniform echo map lacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from neocus.phantom.probe_geometry import BeamGrid
from neocus.phantom.types import ImagePlane

#: correlation length (mm) of the tissue texture
TEXTURE_MM = 1.0

_P = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(h: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (in place, uint64)."""
    h ^= h >> np.uint64(30)
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


def lattice_hash(points: np.ndarray, step_mm: float, *, stream: int = 0, seed: int) -> np.ndarray:
    """64-bit hash of the lattice cell (``floor(p / step)``) of each point ``[N, 3]`` (mm)."""
    idx = np.floor(points / step_mm).astype(np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        h = idx[:, 0] * _P[0]
        h ^= idx[:, 1] * _P[1]
        h ^= idx[:, 2] * _P[2]
        h ^= np.uint64((seed * 0x2545F4914F6CDD1D + stream * 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF)
        return _mix(h)


def _gaussians(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard normals (float32) per hash, by Box-Muller on its 32-bit halves."""
    u1 = ((h >> np.uint64(32)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-32)
    u2 = (h & np.uint64(0xFFFFFFFF)).astype(np.float32) * np.float32(2.0**-32)
    r = np.sqrt(np.float32(-2.0) * np.log(u1))
    t = np.float32(2.0 * math.pi) * u2
    return r * np.cos(t), r * np.sin(t)


@dataclass(frozen=True, eq=False)
class Scatterers:
    """Per beam sample: complex amplitude ``field`` [S, L, 2] (I, Q ~ N(0, 1)), a uniform ``keep``
    [S, L] in [0, 1) for thinning sparse tissue, and ``texture`` [S, L] (smooth, unit std)."""

    field: np.ndarray
    keep: np.ndarray
    texture: np.ndarray


def _smooth_unit(white: np.ndarray, beams: BeamGrid) -> np.ndarray:
    """Gaussian-smooth a white field to correlation ``TEXTURE_MM`` and rescale to unit std."""
    sig_ax = max(0.5 * TEXTURE_MM / beams.dv_mm, 0.5)
    sig_lat = max(0.5 * TEXTURE_MM / float(np.median(np.maximum(beams.line_spacing_mm, 0.05))), 0.5)
    out = cv2.GaussianBlur(white, (0, 0), sigmaX=sig_lat, sigmaY=sig_ax, borderType=cv2.BORDER_REFLECT)
    sd = float(out.std())
    return out / np.float32(sd if sd > 0 else 1.0)


def draw_scatterers(
    beams: BeamGrid, plane: ImagePlane, *, speckle_seed: int | None, rng: np.random.Generator,
) -> Scatterers:
    """Scatterer amplitudes for every beam sample (see the module docstring)."""
    n_s, n_l = beams.shape
    if speckle_seed is None:
        field = rng.standard_normal((n_s, n_l, 2), dtype=np.float32)
        keep = rng.random((n_s, n_l), dtype=np.float32)
        tex_white = rng.standard_normal((n_s, n_l), dtype=np.float32)
        return Scatterers(field, keep, _smooth_unit(tex_white, beams))
    x, d = beams.pixels.plane_coords(beams.to_pixel_x, beams.to_pixel_y)
    pts = (plane.points(x, d)).reshape(-1, 3)
    h = lattice_hash(pts, beams.dv_mm, seed=int(speckle_seed), stream=0)
    g1, g2 = _gaussians(h)
    field = np.stack([g1, g2], axis=-1).reshape(n_s, n_l, 2)
    keep = (lattice_hash(pts, beams.dv_mm, seed=int(speckle_seed), stream=1) >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)
    t1, _ = _gaussians(lattice_hash(pts, 0.5 * TEXTURE_MM, seed=int(speckle_seed), stream=2))
    return Scatterers(field, keep.reshape(n_s, n_l), _smooth_unit(t1.reshape(n_s, n_l), beams))
