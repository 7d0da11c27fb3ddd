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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline, PchipInterpolator
from scipy.spatial import cKDTree

F32 = np.float32


def lut(ids: object) -> np.ndarray:
    """A 256-entry boolean look-up table of uint8 ids (``lut(ids)[arr]`` is a fast ``np.isin``)."""
    t = np.zeros(256, dtype=bool)
    t[np.asarray(list(ids), dtype=np.int64)] = True
    return t


def on_rows(fn: Callable[[np.ndarray], np.ndarray], p: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``fn(p)[rows]``, computed on those rows only, for a row-wise ``fn`` built on float32 matrix
    products (:meth:`Ellipsoid.q`, the folding field): BLAS rounds a row the same in any batch of two
    or more rows, but a one-row product takes another code path, so a lone row of several is
    evaluated as a pair (same bytes as evaluating all of ``p``, at the cost of the rows kept)."""
    if len(rows) == 1 and len(p) > 1:
        return fn(np.take(p, np.repeat(rows, 2), axis=0))[:1]
    return fn(np.take(p, rows, axis=0))


def rotation_xyz(*, rx_deg: float = 0.0, ry_deg: float = 0.0, rz_deg: float = 0.0) -> np.ndarray:
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
        pad_mm: float = 0.0,
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
        self._tab = np.stack([self.px, self.pa, self.pb, self.pc, self.ps], axis=1).astype(F32)
        self._m1 = F32(m - 1)
        self._xrange = self._lateral_ranges(grid_mm, pad_mm) if not self.droop else self._lateral_ranges_sampled(grid_mm, pad_mm)

    def _lateral_ranges(self, grid_mm: float, pad_mm: float) -> np.ndarray:
        """Per (y, z) grid cell, a conservative range of the lateral offset ``xo`` where the tube (its
        cross-section inflated by ``pad_mm`` and by the cell's half-diagonal) can be: a cheap first
        test that rejects most points in the tube's bounding box."""
        g = self._grid.reshape(-1, 3).astype(np.float64)
        i = np.clip(np.rint(g[:, 0] * (len(self.tt) - 1)).astype(int), 0, len(self.tt) - 1)
        infl = pad_mm + 0.75 * grid_mm
        a, b = self.pa[i] + infl, self.pb[i] + infl
        c, s = self.pc[i], self.ps[i]
        u, e = g[:, 1], np.maximum(g[:, 2] - infl, 0.0)
        # (xo c + u s)^2 / b^2 + (u c - xo s)^2 / a^2 + e^2 / a^2 < 1  <=>  A xo^2 + B xo + C < 0
        qa = c * c / (b * b) + s * s / (a * a)
        qb = 2 * u * c * s * (1 / (b * b) - 1 / (a * a))
        qc = u * u * (s * s / (b * b) + c * c / (a * a)) + e * e / (a * a) - 1
        disc = qb * qb - 4 * qa * qc
        ok = disc >= 0
        r = np.sqrt(np.where(ok, disc, 0.0))
        lo = np.where(ok, (-qb - r) / (2 * qa) + self.px[i] - 0.05, np.inf)
        hi = np.where(ok, (-qb + r) / (2 * qa) + self.px[i] + 0.05, -np.inf)
        return np.stack([lo, hi], axis=1).reshape(*self._shape, 2).astype(F32)

    def at(self, t: float) -> dict[str, float]:
        """Centreline point and cross-section at parameter ``t`` (for building other parts)."""
        i = round(float(np.clip(t, 0, 1)) * (len(self.tt) - 1))
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

    def _lateral_ranges_sampled(self, grid_mm: float, pad_mm: float, n_x: int = 96) -> np.ndarray:
        """As :meth:`_lateral_ranges`, by sampling ``xo`` (for drooping cross-sections)."""
        g = self._grid.reshape(-1, 3).astype(np.float64)
        i = np.clip(np.rint(g[:, 0] * (len(self.tt) - 1)).astype(int), 0, len(self.tt) - 1)
        infl = pad_mm + 0.75 * grid_mm
        a, b = (self.pa[i] + infl)[:, None], (self.pb[i] + infl)[:, None]
        c, s = self.pc[i][:, None], self.ps[i][:, None]
        u, e = g[:, 1:2], np.maximum(g[:, 2:3] - infl, 0.0)
        xmax = float(np.max(self.pb)) + infl + 1.0
        xo = np.linspace(-xmax, xmax, n_x)[None, :]
        step = xo[0, 1] - xo[0, 0]
        uu = u + self.droop * xo * xo
        v1 = xo * c + uu * s
        v2 = uu * c - xo * s
        inside = (v1 / b) ** 2 + (v2 / a) ** 2 + (e / a) ** 2 < 1
        anyin = inside.any(axis=1)
        first = np.argmax(inside, axis=1)
        last = n_x - 1 - np.argmax(inside[:, ::-1], axis=1)
        lo = np.where(anyin, xo[0, first] - step + self.px[i], np.inf)
        hi = np.where(anyin, xo[0, last] + step + self.px[i], -np.inf)
        return np.stack([lo, hi], axis=1).reshape(*self._shape, 2).astype(F32)

    def eval(self, p: np.ndarray) -> dict[str, np.ndarray]:
        """Evaluate points ``[n, 3]`` (float32): ``q`` (squared normalised radius, < 1 inside),
        ``t`` (centreline parameter), ``v1`` / ``v2`` (mm along the long / short cross-section axes),
        ``a`` / ``b`` (the local half-axes). Points that the per-cell lateral range rejects get
        ``q`` = 4 and zeros elsewhere."""
        n = len(p)
        gy = (p[:, 1] - self._g0[0]) * self._inv
        gz = (p[:, 2] - self._g0[1]) * self._inv
        ny, nz = self._shape
        np.clip(gy, 0, ny - 1.001, out=gy)
        np.clip(gz, 0, nz - 1.001, out=gz)
        iy = gy.astype(np.int32)
        iz = gz.astype(np.int32)
        xs = p[:, 0] * F32(self.side)
        if self._xrange is not None:
            # nearest cell's lateral range (the range is padded for the cell's extent)
            # (flat np.take: faster than 2-D fancy indexing, same values)
            rng = np.take(self._xrange.reshape(-1, 2), np.rint(gy).astype(np.int32) * nz + np.rint(gz).astype(np.int32), axis=0)
            keep = np.flatnonzero((xs >= rng[:, 0]) & (xs <= rng[:, 1]))
            out = {k: np.zeros(n, dtype=F32) for k in ("t", "v1", "v2", "a", "b", "e")}
            out["q"] = np.full(n, 4.0, dtype=F32)
            if len(keep) == 0:
                return out
            if len(keep) < n:
                sub = self._eval_cells(xs[keep], gy[keep], gz[keep], iy[keep], iz[keep])
                for k, v in sub.items():
                    out[k][keep] = v
                return out
        return self._eval_cells(xs, gy, gz, iy, iz)

    def lateral_cells(self, cull: CullGrid, lo: np.ndarray, hi: np.ndarray, *, shift_x: float = 0.0, eps_mm: float = 0.05) -> np.ndarray:
        """``cull.mask(lo, hi)`` less the cells where no point can pass :meth:`eval`'s lateral-range test
        when the tube is evaluated at ``p - (shift_x, 0, 0)``: :meth:`eval` gives such points ``q`` = 4
        and zeros, so a painter that paints nothing there may skip those cells. Conservative: every
        (y, z) grid node a point of the cell can round to (one node more each way, cells widened by
        ``eps_mm``) counts, and the grid's border cells (which hold the points outside it) stay."""
        occ = cull.mask(lo, hi).reshape(cull.shape)
        edges = [cull.lo[k] + cull.cell * np.arange(n + 1) for k, n in enumerate(cull.shape)]
        ny, nz = self._shape
        inv, g0 = float(self._inv), self._g0.astype(np.float64)

        def nodes(k: int, n: int, g: float) -> tuple[np.ndarray, np.ndarray]:
            a = np.rint(np.clip((edges[k][:-1] - eps_mm - g) * inv, 0, n - 1.001)).astype(int) - 1
            b = np.rint(np.clip((edges[k][1:] + eps_mm - g) * inv, 0, n - 1.001)).astype(int) + 1
            return np.maximum(a, 0), np.minimum(b, n - 1)

        ya, yb = nodes(1, ny, g0[0])
        za, zb = nodes(2, nz, g0[1])
        xe = edges[0]
        x_lo = (xe[:-1] - eps_mm - shift_x) if self.side > 0 else -(xe[1:] + eps_mm - shift_x)
        x_hi = (xe[1:] + eps_mm - shift_x) if self.side > 0 else -(xe[:-1] - eps_mm - shift_x)
        nxc, nyc, nzc = cull.shape
        # per (y cell, z cell): the widest lateral range over its nodes (rows first, then columns)
        rows_lo = np.stack([self._xrange[ya[j] : yb[j] + 1, :, 0].min(axis=0) for j in range(nyc)])
        rows_hi = np.stack([self._xrange[ya[j] : yb[j] + 1, :, 1].max(axis=0) for j in range(nyc)])
        lo_x = np.stack([rows_lo[:, za[k] : zb[k] + 1].min(axis=1) for k in range(nzc)], axis=1)
        hi_x = np.stack([rows_hi[:, za[k] : zb[k] + 1].max(axis=1) for k in range(nzc)], axis=1)
        reach = (x_lo[:, None, None] <= hi_x[None]) & (x_hi[:, None, None] >= lo_x[None])
        reach[[0, -1]] = True
        reach[:, [0, -1]] = True
        reach[:, :, [0, -1]] = True
        return (occ & reach).reshape(-1)

    def _eval_cells(self, xs: np.ndarray, gy: np.ndarray, gz: np.ndarray, iy: np.ndarray, iz: np.ndarray) -> dict[str, np.ndarray]:
        fy = (gy - iy)[:, None]
        fz = (gz - iz)[:, None]
        g = self._grid.reshape(-1, 3)
        nz = self._shape[1]
        k = iy * nz + iz
        g00, g10 = np.take(g, k, axis=0), np.take(g, k + nz, axis=0)
        g01, g11 = np.take(g, k + 1, axis=0), np.take(g, k + (nz + 1), axis=0)
        v = (g00 * (1 - fy) + g10 * fy) * (1 - fz) + (g01 * (1 - fy) + g11 * fy) * fz
        t, u, e = v[:, 0], v[:, 1], v[:, 2]
        ft = t * self._m1
        i0 = np.minimum(ft.astype(np.int32), int(self._m1) - 1)
        w = (ft - i0)[:, None]
        prm = np.take(self._tab, i0, axis=0) * (1 - w) + np.take(self._tab, i0 + 1, axis=0) * w
        xc, a, b, c, s = prm[:, 0], prm[:, 1], prm[:, 2], prm[:, 3], prm[:, 4]
        xo = xs - xc
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
