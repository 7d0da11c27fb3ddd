"""Image statistics that compare phantom B-mode images with real ones (the renderer's calibration).

All functions take a greyscale uint8 image, a boolean mask of the region to measure (the imaging
sector, possibly eroded) and, where lengths matter, the pixel spacing ``(row, col)`` in mm. The
statistics are what a reader notices first: the grey-level distribution, the speckle grain size
(the width of the autocorrelation peak of the high-passed image, axially and laterally) and how
brightness falls off with depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from neocus.errors import NeocusError
from neocus.phantom.presets import ProbeKind
from neocus.phantom.probe_geometry import ProbeGeometry
from neocus.results import AsDict

# The GE LOGIQ E8/E9 + 9L screen captures of the NCLS examples (1442 x 898), measured on the captures:
# image top at y = 43, probe axis at x = 722.5, flat face 44.6 mm wide, 57 degree opening (trapezoid).
GE_TOP_Y, GE_CENTRE_X, GE_FACE_MM, GE_ANGLE_DEG = 43, 722.5, 44.6, 57.0


@dataclass(frozen=True, eq=False)
class LookStats(AsDict):
    """Summary of how an ultrasound image looks (grey levels 0..255, lengths in mm)."""

    mean: float
    std: float
    p10: float
    p50: float
    p90: float
    speckle_axial_mm: float  # FWHM of the autocorrelation peak along the rows' direction (depth)
    speckle_lateral_mm: float  # FWHM across
    depth_mm: np.ndarray  # bin centres
    depth_mean: np.ndarray  # mean grey per depth bin (NaN where the bin is empty)

    def summary(self) -> dict[str, float]:
        """The scalar statistics, rounded for a table (``to_dict()`` has everything)."""
        return {
            "mean": round(self.mean, 1),
            "std": round(self.std, 1),
            "p10": round(self.p10, 1),
            "p50": round(self.p50, 1),
            "p90": round(self.p90, 1),
            "speckle_axial_mm": round(self.speckle_axial_mm, 3),
            "speckle_lateral_mm": round(self.speckle_lateral_mm, 3),
        }


def grey_histogram(image: np.ndarray, mask: np.ndarray, *, bins: int = 32) -> np.ndarray:
    """Normalised histogram (sums to 1) of the grey levels inside ``mask``."""
    h, _ = np.histogram(image[mask], bins=bins, range=(0, 256))
    return h / max(1, h.sum())


def depth_profile(
    image: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float], *, bin_mm: float = 5.0, top_row: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean grey per depth bin: ``(bin centres in mm below ``top_row``, means)``."""
    rows = np.arange(image.shape[0])
    depth = (rows - top_row) * spacing_mm[0]
    n = int(np.ceil(max(depth.max(), bin_mm) / bin_mm))
    edges = np.arange(n + 1) * bin_mm
    img = image.astype(np.float64) * mask
    row_sum = img.sum(1)
    row_n = mask.sum(1).astype(np.float64)
    idx = np.clip(np.digitize(depth, edges) - 1, -1, n - 1)
    sums = np.zeros(n)
    cnts = np.zeros(n)
    ok = (idx >= 0) & (depth >= 0)
    np.add.at(sums, idx[ok], row_sum[ok])
    np.add.at(cnts, idx[ok], row_n[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(cnts > 0, sums / np.maximum(cnts, 1), np.nan)
    return (edges[:-1] + bin_mm / 2), means


def speckle_fwhm_mm(
    image: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float], *, highpass_mm: float = 1.5,
) -> tuple[float, float]:
    """FWHM (mm) of the autocorrelation peak of the high-passed image, ``(axial, lateral)``.

    The image is high-passed by subtracting a masked Gaussian mean (sigma ``highpass_mm``) so anatomy
    and depth trends drop out and the speckle grain remains; the autocorrelation is normalised by the
    mask's own autocorrelation, so the region's shape does not bias it.
    """
    m = mask.astype(np.float32)
    img = image.astype(np.float32)
    sy, sx = spacing_mm
    ksize = (0, 0)
    blur_i = cv2.GaussianBlur(img * m, ksize, sigmaX=highpass_mm / sx, sigmaY=highpass_mm / sy)
    blur_m = cv2.GaussianBlur(m, ksize, sigmaX=highpass_mm / sx, sigmaY=highpass_mm / sy)
    resid = np.where(m > 0, img - blur_i / np.maximum(blur_m, 1e-6), 0.0).astype(np.float32)
    h, w = img.shape
    fh, fw = cv2.getOptimalDFTSize(2 * h), cv2.getOptimalDFTSize(2 * w)
    fr = np.fft.rfft2(resid, s=(fh, fw))
    fm = np.fft.rfft2(m, s=(fh, fw))
    ac = np.fft.irfft2(fr * np.conj(fr), s=(fh, fw))
    am = np.fft.irfft2(fm * np.conj(fm), s=(fh, fw))
    ac = np.fft.fftshift(ac)
    am = np.fft.fftshift(am)
    cy, cx = fh // 2, fw // 2
    norm = np.where(am > 0.25 * am[cy, cx], ac / np.maximum(am, 1e-9), 0.0)
    norm /= norm[cy, cx]

    def half_width(profile: np.ndarray) -> float:
        below = np.nonzero(profile < 0.5)[0]
        if len(below) == 0:
            return float(len(profile))
        k = int(below[0])
        a, b = profile[k - 1], profile[k]
        return (k - 1) + (a - 0.5) / (a - b)

    ax = half_width(norm[cy:, cx])
    lat = half_width(norm[cy, cx:])
    return 2 * ax * sy, 2 * lat * sx


def look_stats(
    image: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float], *, top_row: int = 0, bin_mm: float = 5.0,
) -> LookStats:
    """All the statistics of one image region."""
    v = image[mask].astype(np.float64)
    ax, lat = speckle_fwhm_mm(image, mask, spacing_mm)
    d, prof = depth_profile(image, mask, spacing_mm, bin_mm=bin_mm, top_row=top_row)
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return LookStats(float(v.mean()), float(v.std()), float(p10), float(p50), float(p90), ax, lat, d, prof)


def ge_depth_scale(screen: np.ndarray) -> tuple[float, int]:
    """(mm per pixel, row of the deepest tick) from the depth-scale ticks at a GE capture's right edge.

    The 9L captures tick every 5 mm at 9 cm depth (many ticks) and every 1 cm at 10 cm depth.
    """
    col = screen[:, -6:].max(1)
    ys = np.nonzero(col > 100)[0]
    groups: list[list[int]] = []
    for y in ys:
        if groups and y - groups[-1][-1] <= 2:
            groups[-1].append(int(y))
        else:
            groups.append([int(y)])
    if len(groups) < 3:
        raise NeocusError("no depth scale found at the right edge of the capture", where="capture", hint="give a screen capture with its depth scale")
    centres = np.array([np.mean(g) for g in groups])
    step = float(np.median(np.diff(centres)))
    mm = 5.0 if len(centres) > 14 else 10.0
    return mm / step, round(centres[-1])


def ge_capture_region(screen: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The image crop ``[H, W]`` of a GE 9L screen capture, its trapezoid mask (logo removed) and its
    pixel spacing (mm, square)."""
    s, bottom = ge_depth_scale(screen)
    g = ProbeGeometry(ProbeKind.TRAPEZOID, GE_FACE_MM, GE_ANGLE_DEG, (bottom - GE_TOP_Y) * s)
    x_min, x_max, _, _ = g.bounds()
    c0 = max(0, round(GE_CENTRE_X + x_min / s))
    c1 = min(screen.shape[1] - 1, round(GE_CENTRE_X + x_max / s))
    crop = screen[GE_TOP_Y : bottom + 1, c0 : c1 + 1]
    xx, dd = np.meshgrid((np.arange(c0, c1 + 1) - GE_CENTRE_X) * s, np.arange(crop.shape[0]) * s)
    mask = g.contains(xx, dd)
    top = int(12 / s)
    left = int(0.45 * crop.shape[1])
    mask[:top, :left] &= crop[:top, :left] < 250  # the burned-in logo at the sector's top-left
    return crop, mask, s
