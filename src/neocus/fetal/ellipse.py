"""Skull ellipse from a mask, and the head measurements a sonographer reads from it (HC, BPD, OFD).

Fit: OpenCV's ``cv2.fitEllipse`` on the points of the mask's outer contour. That is Fitzgibbon's
direct least-squares ellipse fit (Fitzgibbon, Pilu, Fisher, IEEE TPAMI 21:476-480, 1999), i.e. a
least-squares conic fit constrained to be an ellipse: closed form, no iterations, always an ellipse
(a free conic fit can return a hyperbola on a partial skull), about 0.1 ms for a few thousand points.
Contour points on the image border are left out of the fit, so a skull cut off by the edge of the
image is fitted from the part that is seen, not from the straight cut. A network's head probability is
fitted sub-pixel instead (:func:`fit_iso_contour`: the same fit on its 0.5 iso-line, marching squares
by ``contourpy``), and a known edge offset (the width of the annotation line the network learnt) is
taken off both semi-axes before measuring (:func:`measure_ellipses`, :func:`edge_offset_px`).

Diameters (all from the fitted ellipses, in mm through an isotropic pixel spacing):

* **HC**: perimeter of the *outer* skull ellipse by Ramanujan's second approximation
  (``pi (a + b) (1 + 3h / (10 + sqrt(4 - 3h)))``, ``h = ((a - b) / (a + b))^2``; relative error below
  1e-9 for the eccentricities of a head). HC is taken on the outer border of the skull, as in the
  INTERGROWTH-21st standard (Papageorghiou et al., Lancet 2014;384:869-879) and in HC18 (van den
  Heuvel et al., PLoS ONE 2018;13:e0200412).
* **OFD**: occipito-frontal diameter, **outer-outer**: the major axis of the outer ellipse
  (INTERGROWTH-21st measures OFD outer-to-outer; Papageorghiou et al. 2014, Methods).
* **BPD**: biparietal diameter. INTERGROWTH-21st measures it **outer-inner** (outer border of the near
  parietal bone to the inner border of the far one; Papageorghiou et al. 2014; ISUOG practice
  guidelines, Salomon et al., Ultrasound Obstet Gynecol 2019;53:715-723, allow either, the norm must
  match). Here ``bpd_outer_outer_mm`` is the minor axis of the outer ellipse, and
  ``bpd_outer_inner_mm`` is the outer semi-minor axis plus the inner semi-minor axis, which needs the
  inner skull border: a ring-shaped skull mask (outer contour plus a hole) gives it, a filled ellipse
  (the HC18 annotations) does not, and then it is ``None`` with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from neocus.errors import NeocusError
from neocus.results import AsDict

__all__ = [
    "Ellipse",
    "HeadMeasurements",
    "SkullEllipses",
    "ellipse_mask",
    "edge_offset_px",
    "fit_iso_contour",
    "fit_skull_ellipses",
    "measure_ellipses",
    "measure_head",
    "offset_ellipse",
    "ramanujan_perimeter",
]

_MIN_CONTOUR_POINTS = 20  # fewer points than this on a skull contour is not a head


@dataclass(frozen=True)
class Ellipse(AsDict):
    """An ellipse in pixels: centre ``(x, y)``, semi-axes ``a >= b``, and the angle of the major axis
    in degrees in [-90, 90) from +x toward +y (the rotated-box convention of neocus.geometry)."""

    center_xy: tuple[float, float]
    semi_major_px: float
    semi_minor_px: float
    angle_deg: float
    fit_rms_px: float  # RMS radial distance of the fitted contour points from the ellipse

    @property
    def perimeter_px(self) -> float:
        return ramanujan_perimeter(self.semi_major_px, self.semi_minor_px)


@dataclass(frozen=True)
class SkullEllipses(AsDict):
    """The outer skull ellipse and, for a ring-shaped mask, the inner one (``None`` for a filled mask)."""

    outer: Ellipse
    inner: Ellipse | None


@dataclass(frozen=True)
class HeadMeasurements(AsDict):
    """HC, OFD and BPD in mm from the skull ellipses (see the module docstring for the calipers)."""

    pixel_mm: float
    hc_mm: float
    ofd_mm: float
    bpd_outer_outer_mm: float
    bpd_outer_inner_mm: float | None
    bpd_outer_inner_reason: str | None
    cephalic_index: float  # BPD / OFD, both outer-outer
    ellipses: SkullEllipses  # as fitted; HC, OFD and BPD come from them shrunk by ``edge_offset_px``
    edge_offset_px: float = 0.0


def ramanujan_perimeter(a: float, b: float) -> float:
    """Perimeter of an ellipse with semi-axes ``a`` and ``b`` (Ramanujan's second approximation)."""
    if a < 0 or b < 0:
        raise ValueError(f"semi-axes must be >= 0, got {a}, {b}")
    if a + b == 0:
        return 0.0
    h = ((a - b) / (a + b)) ** 2
    return math.pi * (a + b) * (1.0 + 3.0 * h / (10.0 + math.sqrt(4.0 - 3.0 * h)))


def _as_mask(mask: np.ndarray) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):  # an RGB(A) annotation with identical channels
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise NeocusError(f"a skull mask must be 2-D [H, W], got shape {arr.shape}", where="mask",
                          hint="give one greyscale mask, non-zero inside the skull")
    return (arr > 0).astype(np.uint8)


def _fit(points: np.ndarray, shape_hw: tuple[int, int]) -> Ellipse | None:
    """Fitzgibbon fit of contour points ``[N, 2]`` (x, y), without those on the image border."""
    h, w = shape_hw
    x, y = points[:, 0], points[:, 1]
    keep = (x > 0) & (y > 0) & (x < w - 1) & (y < h - 1)
    pts = points[keep].astype(np.float32)
    if len(pts) < _MIN_CONTOUR_POINTS:
        return None
    (cx, cy), (d1, d2), angle = cv2.fitEllipse(pts)
    if d1 >= d2:
        a, b, major_angle = d1 / 2.0, d2 / 2.0, angle
    else:
        a, b, major_angle = d2 / 2.0, d1 / 2.0, angle + 90.0
    major_angle = (major_angle + 90.0) % 180.0 - 90.0
    if not (np.isfinite([cx, cy, a, b]).all() and b > 0):
        return None
    t = math.radians(major_angle)
    dx, dy = pts[:, 0] - cx, pts[:, 1] - cy
    u = dx * math.cos(t) + dy * math.sin(t)
    v = -dx * math.sin(t) + dy * math.cos(t)
    r = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    radial = np.hypot(u, v) * np.abs(1.0 - 1.0 / np.maximum(r, 1e-9))
    rms = float(np.sqrt(np.mean(radial**2)))
    return Ellipse((float(cx), float(cy)), float(a), float(b), float(major_angle), rms)


def fit_skull_ellipses(mask: np.ndarray) -> SkullEllipses:
    """Outer (and, for a ring, inner) skull ellipse of the largest connected region of ``mask``.

    ``mask`` is ``[H, W]`` (or RGB with equal channels), non-zero inside the skull (a filled ellipse)
    or on it (a ring). A :class:`NeocusError` when there is nothing that can be a head."""
    m = _as_mask(mask)
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if not contours:
        raise NeocusError("the skull mask is empty: no head to measure", where="mask",
                          hint="give a mask that is non-zero inside or on the skull")
    hier = hierarchy[0]
    outer_ids = [i for i in range(len(contours)) if hier[i][3] == -1]
    outer_id = max(outer_ids, key=lambda i: cv2.contourArea(contours[i]))
    outer = _fit(contours[outer_id][:, 0, :], m.shape)
    if outer is None:
        raise NeocusError("the skull region is too small or too cut off to fit an ellipse", where="mask",
                          hint=f"the outer contour needs at least {_MIN_CONTOUR_POINTS} points inside the image")
    holes = [i for i in range(len(contours)) if hier[i][3] == outer_id]
    inner = None
    if holes:
        hole_id = max(holes, key=lambda i: cv2.contourArea(contours[i]))
        # a real inner skull border encloses most of the head; small holes are speckle
        if cv2.contourArea(contours[hole_id]) > 0.3 * cv2.contourArea(contours[outer_id]):
            inner = _fit(contours[hole_id][:, 0, :], m.shape)
    return SkullEllipses(outer=outer, inner=inner)


def _check_pixel_mm(pixel_mm: float | None) -> float:
    if pixel_mm is None:
        raise NeocusError("no pixel spacing: millimetres cannot be measured", where="pixel_mm",
                          hint="give the pixel size in mm (from the image header or the HC18 CSV)")
    value = float(pixel_mm)
    if not math.isfinite(value) or value <= 0 or value > 5.0:
        raise NeocusError(f"impossible pixel spacing {pixel_mm!r} mm", where="pixel_mm",
                          hint="give the isotropic pixel size in mm, e.g. 0.1")
    return value


def measure_head(mask: np.ndarray, *, pixel_mm: float | None) -> HeadMeasurements:
    """HC, OFD and BPD in mm from a skull mask (filled ellipse or ring) and an isotropic pixel size."""
    spacing = _check_pixel_mm(pixel_mm)
    return measure_ellipses(fit_skull_ellipses(mask), pixel_mm=spacing)


def measure_ellipses(ellipses: SkullEllipses, *, pixel_mm: float | None, edge_offset_px: float = 0.0) -> HeadMeasurements:
    """HC, OFD and BPD in mm from fitted skull ellipses, each semi-axis first shrunk by ``edge_offset_px``
    (how far outside the measured skull line the fitted edge lies, e.g. the width of a drawn annotation
    line a model learnt; :func:`edge_offset_px`)."""
    spacing = _check_pixel_mm(pixel_mm)
    outer = offset_ellipse(ellipses.outer, by_px=-edge_offset_px)
    if ellipses.inner is not None:
        bpd_oi: float | None = (outer.semi_minor_px + ellipses.inner.semi_minor_px) * spacing
        reason = None
    else:
        bpd_oi = None
        reason = "the mask has no inner skull border (a filled ellipse); outer-inner BPD needs a skull ring"
    return HeadMeasurements(
        pixel_mm=spacing,
        hc_mm=outer.perimeter_px * spacing,
        ofd_mm=2.0 * outer.semi_major_px * spacing,
        bpd_outer_outer_mm=2.0 * outer.semi_minor_px * spacing,
        bpd_outer_inner_mm=bpd_oi,
        bpd_outer_inner_reason=reason,
        cephalic_index=outer.semi_minor_px / outer.semi_major_px,
        ellipses=ellipses,
        edge_offset_px=float(edge_offset_px),
    )


def offset_ellipse(ellipse: Ellipse, *, by_px: float) -> Ellipse:
    """The ellipse with both semi-axes grown by ``by_px`` (shrunk when negative), same centre and angle."""
    a, b = ellipse.semi_major_px + by_px, ellipse.semi_minor_px + by_px
    if b <= 0:
        raise NeocusError(f"an offset of {by_px:g} px leaves no ellipse of semi-axes {ellipse.semi_major_px:.2f}, "
                          f"{ellipse.semi_minor_px:.2f} px", where="edge offset", hint="give an offset smaller than the head")
    return Ellipse(ellipse.center_xy, a, b, ellipse.angle_deg, ellipse.fit_rms_px)


def fit_iso_contour(prob: np.ndarray, *, level: float = 0.5, region: np.ndarray | None = None) -> Ellipse:
    """Sub-pixel ellipse: Fitzgibbon fit to the ``level`` iso-line of a probability (or 0/1) map
    (marching squares, ``contourpy``; the line enclosing the largest area), in the pixel-centre
    coordinates of :func:`fit_skull_ellipses`. On a 0/1 mask the iso-line runs along the pixel edges,
    half a pixel outside the centres of the boundary pixels that :func:`fit_skull_ellipses` fits.
    ``region`` (bool ``[H, W]``) keeps only the lines within 2 pixels of it."""
    import contourpy

    z = np.asarray(prob, np.float64)
    if z.ndim != 2:
        raise NeocusError(f"a probability map must be 2-D [H, W], got shape {z.shape}", where="probability")
    x0 = y0 = 0
    if region is not None:
        near = cv2.dilate(np.asarray(region, np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        ys, xs = np.nonzero(near)
        if len(xs):  # only the box around the region (a third of the time on a head filling half the image)
            y0, x0 = max(int(ys.min()) - 1, 0), max(int(xs.min()) - 1, 0)
            box = (slice(y0, int(ys.max()) + 2), slice(x0, int(xs.max()) + 2))
            z, near = z[box], near[box]
        z = np.where(near, z, 0.0)
    lines = [ln + (x0, y0) for ln in contourpy.contour_generator(z=z).lines(level) if len(ln) >= 3]
    if not lines:
        raise NeocusError("the skull map has no head region to fit", where="probability",
                          hint="give a map with a head (values above the level)")

    def area(ln: np.ndarray) -> float:
        x, y = ln[:, 0], ln[:, 1]
        return abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))) / 2

    fit = _fit(max(lines, key=area), np.shape(prob))
    if fit is None:
        raise NeocusError("the skull region is too small or too cut off to fit an ellipse", where="probability",
                          hint=f"the head's outline needs at least {_MIN_CONTOUR_POINTS} points inside the image")
    return fit


def edge_offset_px(fitted: Ellipse, *, perimeter_px: float) -> float:
    """By how many pixels both semi-axes of ``fitted`` must shrink for its perimeter to be
    ``perimeter_px`` (negative: grow), e.g. a sonographer's filled mask against the HC the sonographer gave."""
    from scipy.optimize import brentq

    a, b = fitted.semi_major_px, fitted.semi_minor_px
    if not perimeter_px > 0:
        raise NeocusError(f"perimeter {perimeter_px!r} px is not positive", where="perimeter")
    try:
        return float(brentq(lambda d: ramanujan_perimeter(a - d, b - d) - perimeter_px, -perimeter_px, b - 1e-9))
    except ValueError:  # no root: the perimeter is below that of the flattest ellipse the offset can give
        raise NeocusError(f"no offset of the {a:.1f} x {b:.1f} px ellipse gives a perimeter of {perimeter_px:.1f} px",
                          where="perimeter", hint="the HC and the mask do not belong to one head") from None


def ellipse_mask(ellipse: Ellipse, *, shape_hw: tuple[int, int]) -> np.ndarray:
    """Filled ellipse as a bool mask ``[H, W]`` (sub-pixel centre and axes; for Dice / Hausdorff checks)."""
    img = np.zeros(shape_hw, dtype=np.uint8)
    s = 256  # 8 fractional bits
    cx, cy = ellipse.center_xy
    cv2.ellipse(img, (round(cx * s), round(cy * s)),
                (round(ellipse.semi_major_px * s), round(ellipse.semi_minor_px * s)),
                ellipse.angle_deg, 0, 360, 1, -1, lineType=cv2.LINE_8, shift=8)
    return img.astype(bool)
