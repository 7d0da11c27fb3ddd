"""Where each output pixel and each beam sample lies in the image plane.

Plane coordinates ``(x, d)`` in mm follow :class:`neocus.phantom.types.ImagePlane`: ``x`` lateral
(image +x), ``d`` depth below the centre of the probe face (image +y). Polar probes (sector, curved,
trapezoid) have a virtual apex at ``d = -h`` (``h`` = :attr:`ProbeGeometry.apex_offset_mm`) and beam
coordinates ``(u, v)``: ``u`` the beam angle in radians from the axis (positive toward +x) and ``v =
rho - h`` the distance from the apex minus ``h`` (so ``v = d`` on the axis). A linear probe has
``u = x`` (mm) and ``v = d``.

Output pixels: the image region's bounding box is fitted into ``H x W`` pixels, either keeping square
pixels (``fit="contain"``: the box is centred horizontally and touches the top edge) or stretching
it to fill the frame (``fit="stretch"``). Pixel ``(col, row)`` has its centre at
``x = x0 + col * sx``, ``d = d0 + row * sy``.

:func:`pixel_grid` and :func:`beam_grid` are cached (the same preset geometry and output size give
the same objects), so a sweep computes its coordinate grids and remap tables once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import cv2
import numpy as np

from neocus.errors import NeocusError, parse_choice
from neocus.phantom.presets import ProbeKind, ScannerPreset

class Fit(StrEnum):
    """How the image region fills the frame: ``contain`` (square pixels, centred, touching the top) or
    ``stretch`` (fill the frame)."""

    CONTAIN = "contain"
    STRETCH = "stretch"


@dataclass(frozen=True)
class ProbeGeometry:
    """The image region of a probe in plane coordinates (mm / degrees)."""

    kind: ProbeKind
    footprint_mm: float
    angle_deg: float
    depth_mm: float
    radius_mm: float = 0.0

    @classmethod
    def of(cls, preset: ScannerPreset) -> ProbeGeometry:
        return cls(
            kind=preset.probe_kind,
            footprint_mm=round(float(preset.footprint_mm), 6),
            angle_deg=round(float(preset.angle_deg), 6),
            depth_mm=round(float(preset.depth_mm), 6),
            radius_mm=round(float(preset.radius_mm), 6),
        )

    @property
    def polar(self) -> bool:
        return self.kind is not ProbeKind.LINEAR

    @property
    def half_angle_rad(self) -> float:
        return math.radians(self.angle_deg) / 2.0

    @property
    def apex_offset_mm(self) -> float:
        """Distance ``h`` of the virtual apex behind the centre of the face (0 for sector and linear)."""
        if self.kind is ProbeKind.TRAPEZOID:
            return (self.footprint_mm / 2.0) / math.tan(self.half_angle_rad)
        if self.kind is ProbeKind.CURVED:
            return self.radius_mm
        return 0.0

    def bounds(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, d_min, d_max)`` of the image region."""
        if not self.polar:
            return (-self.footprint_mm / 2, self.footprint_mm / 2, 0.0, self.depth_mm)
        h = self.apex_offset_mm
        a = self.half_angle_rad
        r_max = h + self.depth_mm
        x_max = r_max * math.sin(min(a, math.pi / 2))
        d_min = h * math.cos(a) - h if self.kind is ProbeKind.CURVED else 0.0
        return (-x_max, x_max, d_min, self.depth_mm)

    def to_beam(self, x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plane ``(x, d)`` -> beam ``(u, v)``."""
        if not self.polar:
            return np.asarray(x), np.asarray(d)
        h = self.apex_offset_mm
        yy = np.asarray(d) + h
        return np.arctan2(x, yy), np.hypot(x, yy) - h

    def from_beam(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Beam ``(u, v)`` -> plane ``(x, d)``."""
        if not self.polar:
            return np.asarray(u), np.asarray(v)
        h = self.apex_offset_mm
        rho = np.asarray(v) + h
        return rho * np.sin(u), rho * np.cos(u) - h

    def range_from_face(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Distance (mm) travelled along the beam from the probe face to beam point ``(u, v)``."""
        if self.kind is ProbeKind.TRAPEZOID:
            h = self.apex_offset_mm
            return (np.asarray(v) + h) - h / np.cos(u)
        return np.asarray(v) + 0.0 * np.asarray(u)

    def contains(self, x: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Boolean mask: which plane points lie in the image region."""
        x = np.asarray(x)
        d = np.asarray(d)
        if not self.polar:
            return (np.abs(x) <= self.footprint_mm / 2) & (d >= 0) & (d <= self.depth_mm)
        u, v = self.to_beam(x, d)
        inside = (np.abs(u) <= self.half_angle_rad) & (v <= self.depth_mm) & (v >= 0)
        if self.kind is ProbeKind.TRAPEZOID:
            inside &= d >= 0
        return inside


@dataclass(frozen=True, eq=False)
class PixelGrid:
    """Plane coordinates of the pixel centres of an ``H x W`` output image, and its region mask."""

    geometry: ProbeGeometry
    height: int
    width: int
    x0_mm: float
    d0_mm: float
    spacing_mm: tuple[float, float]  # (row, col) = (sy, sx)
    x_mm: np.ndarray  # float32 [H, W]
    d_mm: np.ndarray  # float32 [H, W]
    mask: np.ndarray  # bool [H, W]: inside the image region
    sample_rows: np.ndarray  # int32 [N]: pixels where the model is sampled (region + 2 px margin)
    sample_cols: np.ndarray  # int32 [N]

    def plane_coords(self, col: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plane ``(x, d)`` (mm) of (possibly fractional) pixel coordinates."""
        sy, sx = self.spacing_mm
        return self.x0_mm + np.asarray(col, dtype=np.float64) * sx, self.d0_mm + np.asarray(row, dtype=np.float64) * sy

    def pixel_coords(self, x_mm: np.ndarray, d_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fractional pixel ``(col, row)`` of plane points."""
        sy, sx = self.spacing_mm
        return (np.asarray(x_mm, dtype=np.float64) - self.x0_mm) / sx, (np.asarray(d_mm, dtype=np.float64) - self.d0_mm) / sy


@lru_cache(maxsize=16)
def pixel_grid(geometry: ProbeGeometry, out_size_hw: tuple[int, int], *, fit: Fit | str = Fit.CONTAIN) -> PixelGrid:
    """The (cached) pixel grid of ``out_size_hw = (H, W)`` for a probe geometry."""
    h, w = int(out_size_hw[0]), int(out_size_hw[1])
    if h < 8 or w < 8:
        raise NeocusError(f"{out_size_hw} is too small (at least 8 x 8)", where="out_size_hw")
    x_min, x_max, d_min, d_max = geometry.bounds()
    bw, bh = x_max - x_min, d_max - d_min
    fit = parse_choice(Fit, fit, what="fit")
    if fit is Fit.STRETCH:
        sx, sy = bw / (w - 1), bh / (h - 1)
        x0, d0 = x_min, d_min
    else:
        s = max(bw / (w - 1), bh / (h - 1))
        sx = sy = s
        x0 = -(w - 1) / 2.0 * s  # centred on the probe axis
        d0 = d_min
    cols = np.arange(w, dtype=np.float64)
    rows = np.arange(h, dtype=np.float64)
    xx, dd = np.meshgrid(x0 + cols * sx, d0 + rows * sy)
    mask = geometry.contains(xx, dd)
    margin = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    sr, sc = np.nonzero(margin)
    for a in (xx, dd, mask):
        a.setflags(write=False)
    return PixelGrid(
        geometry=geometry,
        height=h,
        width=w,
        x0_mm=float(x0),
        d0_mm=float(d0),
        spacing_mm=(float(sy), float(sx)),
        x_mm=xx.astype(np.float32),
        d_mm=dd.astype(np.float32),
        mask=mask,
        sample_rows=sr.astype(np.int32),
        sample_cols=sc.astype(np.int32),
    )


@dataclass(frozen=True, eq=False)
class BeamGrid:
    """Beam (scan-line) sampling of the image region and the remap tables to and from pixels.

    Arrays are ``[n_samples, n_lines]`` (depth down the rows, like the image). ``u`` holds the line
    coordinates (radians, or mm for a linear probe), ``v`` the sample coordinates (mm).
    """

    pixels: PixelGrid
    u: np.ndarray  # float64 [L]
    v: np.ndarray  # float64 [S]
    du: float
    dv_mm: float
    mask: np.ndarray  # bool [S, L]: beam samples inside the region
    range_mm: np.ndarray  # float32 [S, L]: distance from the face along the beam (0 before the face)
    line_spacing_mm: np.ndarray  # float32 [S]: lateral distance between neighbouring lines at each v
    to_pixel_x: np.ndarray  # float32 [S, L]: pixel column of each beam sample (cv2.remap pixels -> beams)
    to_pixel_y: np.ndarray  # float32 [S, L]
    to_beam_x: np.ndarray  # float32 [H, W]: fractional line index of each pixel (cv2.remap beams -> pixels)
    to_beam_y: np.ndarray  # float32 [H, W]: fractional sample index of each pixel

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.v), len(self.u))


@lru_cache(maxsize=16)
def beam_grid(pixels: PixelGrid, dv_mm: float, dlat_mm: float, lateral_ref_mm: float) -> BeamGrid:
    """The (cached) beam grid with sample step ``dv_mm`` and line step ``dlat_mm`` (mm at depth
    ``lateral_ref_mm`` below the face for polar probes)."""
    g = pixels.geometry
    x_min, x_max, _, _ = g.bounds()
    if g.polar:
        h = g.apex_offset_mm
        du = dlat_mm / (h + lateral_ref_mm)
        a = g.half_angle_rad
        n_lines = math.ceil(2 * a / du) + 1
        u = np.linspace(-a, a, n_lines)
        v_min = 0.0
    else:
        n_lines = math.ceil((x_max - x_min) / dlat_mm) + 1
        u = np.linspace(x_min, x_max, n_lines)
        v_min = 0.0
    du = float(u[1] - u[0])
    n_samples = math.ceil((g.depth_mm - v_min) / dv_mm) + 1
    v = np.linspace(v_min, g.depth_mm, n_samples)
    dv = float(v[1] - v[0])
    uu, vv = np.meshgrid(u, v)
    x, d = g.from_beam(uu, vv)
    mask = (vv >= 0) & (vv <= g.depth_mm + 1e-9)
    if g.kind is ProbeKind.TRAPEZOID:
        mask &= d >= -1e-9  # samples behind the flat face
    rng_mm = np.clip(g.range_from_face(uu, vv), 0, None).astype(np.float32)
    col, row = pixels.pixel_coords(x, d)
    if g.polar:
        line_spacing = (v + g.apex_offset_mm) * du
    else:
        line_spacing = np.full_like(v, du)
    # pixels -> beam indices
    pu, pv = g.to_beam(pixels.x_mm.astype(np.float64), pixels.d_mm.astype(np.float64))
    bx = (pu - u[0]) / du
    by = (pv - v[0]) / dv
    out = BeamGrid(
        pixels=pixels,
        u=u,
        v=v,
        du=du,
        dv_mm=dv,
        mask=mask,
        range_mm=rng_mm,
        line_spacing_mm=line_spacing.astype(np.float32),
        to_pixel_x=col.astype(np.float32),
        to_pixel_y=row.astype(np.float32),
        to_beam_x=bx.astype(np.float32),
        to_beam_y=by.astype(np.float32),
    )
    return out
