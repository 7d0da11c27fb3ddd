"""Fast analytic shape primitives for the head model (float32, vectorised, bounding-box culled).

* :class:`Ellipsoid` - an oriented ellipsoid; ``q(points)`` is the squared normalised radius
  (< 1 inside).
* :class:`Tube` - a tube swept along a smooth centreline that lies in a sagittal (y, z) plane, with
  a lateral offset ``X(t)`` and an elliptical cross-section (half-axes ``a(t)`` along the in-plane
  normal, ``b(t)`` along the long axis, tilted by ``theta(t)`` in the (lateral, normal) plane) that
  varies along the arc-length parameter ``t`` in [0, 1]. The nearest centreline point of every
  (y, z) is precomputed on a 0.5 mm grid at build time (a k-d tree query), so evaluating a point is
  a bilinear look-up plus a few interpolations: O(1) per point, whatever the centreline's length.
  The lateral ventricles, corpus callosum and brainstem are tubes, so dilating a ventricle is just a
  larger ``a(t)``.
* :class:`CullGrid` - a coarse grid of the head space; each primitive marks the cells its bounding
  box touches, and a point is only evaluated against primitives whose cells it is in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline, PchipInterpolator
from scipy.spatial import cKDTree

F32 = np.float32


def rotation_xyz(rx_deg: float = 0.0, ry_deg: float = 0.0, rz_deg: float = 0.0) -> np.ndarray:
    """Rotation matrix R = Rz @ Ry @ Rx (degrees, right-handed, about head axes)."""
    ax, ay, az = np.radians([rx_deg, ry_deg, rz_deg])
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


@dataclass
class Ellipsoid:
    """Oriented ellipsoid: centre (mm), semi-axes (mm), rotation (columns = the ellipsoid's axes)."""

    centre: np.ndarray
    radii: np.ndarray
    rotation: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.centre = np.asarray(self.centre, dtype=np.float64).reshape(3)
        self.radii = np.asarray(self.radii, dtype=np.float64).reshape(3)
        if np.any(self.radii <= 0):
            raise ValueError(f"ellipsoid radii must be positive, got {self.radii}")
        r = np.eye(3) if self.rotation is None else np.asarray(self.rotation, dtype=np.float64)
        self.rotation = r
        # q = |M (p - c)|^2 with M = diag(1/radii) R^T
        self._m = (np.diag(1.0 / self.radii) @ r.T).astype(F32)
        self._c = self.centre.astype(F32)
        ext = np.sqrt(((r * self.radii[None, :]) ** 2).sum(axis=1))  # half-extent along x, y, z
        self.lo = self.centre - ext
        self.hi = self.centre + ext

    def q(self, p: np.ndarray) -> np.ndarray:
        """Squared normalised radius of points ``[n, 3]`` (float32); < 1 inside."""
        d = p - self._c
        u = d @ self._m.T
        return np.einsum("ij,ij->i", u, u)


class Tube:
    """A tube swept along a sagittal-plane centreline (see the module docstring).

    ``ctrl_yz``: control points ``[K, 2]`` (y, z) in mm; ``x``, ``a``, ``b``, ``theta_deg``: the
    lateral offset of the centreline from the midline (mm, >= 0 for a paired structure: the tube is
    mirrored by ``side`` = +1 left / -1 right), the cross-section half-axes (mm) and tilt (degrees)
    at the control points. ``droop`` bends the cross-section: the normal offset gains
    ``droop * xo**2`` (a sheet that curves down laterally, like the corpus callosum).
    """

    def __init__(
        self,
        ctrl_yz: np.ndarray,
        x: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        theta_deg: np.ndarray,
        side: int = 1,
        droop: float = 0.0,
        grid_mm: float = 0.5,
        dense_mm: float = 0.2,
    ) -> None:
        p = np.asarray(ctrl_yz, dtype=np.float64)
        seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
        if np.any(seg <= 1e-6):
            raise ValueError("tube control points must be distinct")
        s = np.r_[0.0, np.cumsum(seg)]
        self.length = float(s[-1])
        self.t_ctrl = s / s[-1]
        spline = CubicSpline(s, p, bc_type="natural")
        m = max(int(self.length / dense_mm) + 1, 16)
        ss = np.linspace(0.0, s[-1], m)
        c = spline(ss)
        tan = spline(ss, 1)
        tan /= np.linalg.norm(tan, axis=1, keepdims=True)
        nrm = np.stack([tan[:, 1], -tan[:, 0]], axis=1)  # tangent rotated by -90 deg in (y, z)
        self.tt = (ss / s[-1]).astype(np.float64)

        def prof(v: np.ndarray) -> np.ndarray:
            v = np.asarray(v, dtype=np.float64)
            return PchipInterpolator(self.t_ctrl, v)(self.tt) if len(v) > 2 else np.interp(self.tt, self.t_ctrl, v)

        self.px = prof(x)
        self.pa = np.maximum(prof(a), 0.05)
        self.pb = np.maximum(prof(b), 0.05)
        th = np.radians(prof(theta_deg))
        self.pc, self.ps = np.cos(th), np.sin(th)
        self.side = 1 if side >= 0 else -1
        self.droop = float(droop)
        self.centre_yz = c
        self.tangent_yz = tan
        self.normal_yz = nrm

        # extents: along the normal (y, z) and laterally (x)
        ext_n = np.sqrt((self.pa * self.pc) ** 2 + (self.pb * self.ps) ** 2)
        ext_x = np.sqrt((self.pb * self.pc) ** 2 + (self.pa * self.ps) ** 2)
        margin = float(np.max(ext_n) + abs(self.droop) * float(np.max(ext_x)) ** 2 + 2 * grid_mm)
        lo_yz = c.min(axis=0) - margin
        hi_yz = c.max(axis=0) + margin
        ny = int(np.ceil((hi_yz[0] - lo_yz[0]) / grid_mm)) + 1
        nz = int(np.ceil((hi_yz[1] - lo_yz[1]) / grid_mm)) + 1
        gy = lo_yz[0] + grid_mm * np.arange(ny)
        gz = lo_yz[1] + grid_mm * np.arange(nz)
        q = np.stack(np.meshgrid(gy, gz, indexing="ij"), axis=-1).reshape(-1, 2)
        _, idx = cKDTree(c).query(q)
        d = q - c[idx]
        u = np.einsum("ij,ij->i", d, nrm[idx])
        along = np.einsum("ij,ij->i", d, tan[idx])
        e = np.zeros_like(u)
        e = np.where(idx == 0, np.maximum(-along, 0.0), e)
        e = np.where(idx == m - 1, np.maximum(along, 0.0), e)
        self._grid = np.stack([self.tt[idx], u, e], axis=-1).reshape(ny, nz, 3).astype(F32)
        self._g0 = lo_yz.astype(F32)
        self._inv = F32(1.0 / grid_mm)
        self._shape = (ny, nz)
        xs_lo = float(np.min(self.px - ext_x)) - grid_mm
        xs_hi = float(np.max(self.px + ext_x)) + grid_mm
        if self.side > 0:
            xlo, xhi = xs_lo, xs_hi
        else:
            xlo, xhi = -xs_hi, -xs_lo
        self.lo = np.array([xlo, lo_yz[0], lo_yz[1]])
        self.hi = np.array([xhi, hi_yz[0], hi_yz[1]])
        self._tabs = [v.astype(F32) for v in (self.px, self.pa, self.pb, self.pc, self.ps)]
        self._tt32 = self.tt.astype(F32)

    def at(self, t: float) -> dict[str, float]:
        """Centreline point and cross-section at parameter ``t`` (for building other parts)."""
        i = int(round(float(np.clip(t, 0, 1)) * (len(self.tt) - 1)))
        return {
            "y": float(self.centre_yz[i, 0]),
            "z": float(self.centre_yz[i, 1]),
            "x": float(self.side * self.px[i]),
            "a": float(self.pa[i]),
            "b": float(self.pb[i]),
            "cos": float(self.pc[i]),
            "sin": float(self.ps[i]),
            "ny": float(self.normal_yz[i, 0]),
            "nz": float(self.normal_yz[i, 1]),
        }

    def eval(self, p: np.ndarray) -> dict[str, np.ndarray]:
        """Evaluate points ``[n, 3]`` (float32): ``q`` (squared normalised radius, < 1 inside),
        ``t`` (centreline parameter), ``v1`` / ``v2`` (mm along the long / short cross-section axes),
        ``a`` / ``b`` (the local half-axes)."""
        gy = (p[:, 1] - self._g0[0]) * self._inv
        gz = (p[:, 2] - self._g0[1]) * self._inv
        ny, nz = self._shape
        np.clip(gy, 0, ny - 1.001, out=gy)
        np.clip(gz, 0, nz - 1.001, out=gz)
        iy = gy.astype(np.int32)
        iz = gz.astype(np.int32)
        fy = (gy - iy)[:, None]
        fz = (gz - iz)[:, None]
        g = self._grid
        v = (g[iy, iz] * (1 - fy) + g[iy + 1, iz] * fy) * (1 - fz) + (g[iy, iz + 1] * (1 - fy) + g[iy + 1, iz + 1] * fy) * fz
        t, u, e = v[:, 0], v[:, 1], v[:, 2]
        tx, ta, tb, tc, ts = self._tabs
        xc = np.interp(t, self._tt32, tx).astype(F32)
        a = np.interp(t, self._tt32, ta).astype(F32)
        b = np.interp(t, self._tt32, tb).astype(F32)
        c = np.interp(t, self._tt32, tc).astype(F32)
        s = np.interp(t, self._tt32, ts).astype(F32)
        xo = p[:, 0] * F32(self.side) - xc
        if self.droop:
            u = u + F32(self.droop) * xo * xo
        v1 = xo * c + u * s
        v2 = u * c - xo * s
        q = (v1 / b) ** 2 + (v2 / a) ** 2 + (e / a) ** 2
        return {"q": q, "t": t, "v1": v1, "v2": v2, "a": a, "b": b, "e": e}


class CullGrid:
    """Coarse cells over the head space for bounding-box culling (``cell_mm`` cubes)."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, cell_mm: float = 4.0) -> None:
        self.lo = np.asarray(lo, dtype=np.float64)
        self.cell = float(cell_mm)
        self.shape = tuple(int(np.ceil((h - lo_) / self.cell)) for lo_, h in zip(self.lo, hi, strict=True))

    def cells(self, p: np.ndarray) -> np.ndarray:
        """Flat cell id of each point (points outside the grid map to the border cells)."""
        g = ((p - self.lo.astype(F32)) * F32(1.0 / self.cell)).astype(np.int32)
        nx, ny, nz = self.shape
        np.clip(g[:, 0], 0, nx - 1, out=g[:, 0])
        np.clip(g[:, 1], 0, ny - 1, out=g[:, 1])
        np.clip(g[:, 2], 0, nz - 1, out=g[:, 2])
        return (g[:, 0] * ny + g[:, 1]) * nz + g[:, 2]

    def mask(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Boolean occupancy over the flat cells of the box [lo, hi]."""
        occ = np.zeros(self.shape, dtype=bool)
        a = np.floor((np.asarray(lo) - self.lo) / self.cell).astype(int)
        b = np.floor((np.asarray(hi) - self.lo) / self.cell).astype(int)
        a = np.clip(a, 0, np.array(self.shape) - 1)
        b = np.clip(b, 0, np.array(self.shape) - 1)
        occ[a[0] : b[0] + 1, a[1] : b[1] + 1, a[2] : b[2] + 1] = True
        return occ.reshape(-1)
