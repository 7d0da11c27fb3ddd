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


@dataclass(frozen=True)
class LookStats:
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

    def as_dict(self) -> dict[str, float]:
        return {
            "mean": round(self.mean, 1),
            "std": round(self.std, 1),
            "p10": round(self.p10, 1),
            "p50": round(self.p50, 1),
            "p90": round(self.p90, 1),
            "speckle_axial_mm": round(self.speckle_axial_mm, 3),
            "speckle_lateral_mm": round(self.speckle_lateral_mm, 3),
        }


def grey_histogram(image: np.ndarray, mask: np.ndarray, bins: int = 32) -> np.ndarray:
    """Normalised histogram (sums to 1) of the grey levels inside ``mask``."""
    h, _ = np.histogram(image[mask], bins=bins, range=(0, 256))
    return h / max(1, h.sum())


def depth_profile(image: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float], bin_mm: float = 5.0, top_row: int = 0) -> tuple[np.ndarray, np.ndarray]:
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


def speckle_fwhm_mm(image: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float], highpass_mm: float = 1.5) -> tuple[float, float]:
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


def look_stats(image: np.ndarray, mask: np.ndarray, spacing_mm: tuple[float, float], top_row: int = 0, bin_mm: float = 5.0) -> LookStats:
    """All the statistics of one image region."""
    v = image[mask].astype(np.float64)
    ax, lat = speckle_fwhm_mm(image, mask, spacing_mm)
    d, prof = depth_profile(image, mask, spacing_mm, bin_mm, top_row)
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return LookStats(float(v.mean()), float(v.std()), float(p10), float(p50), float(p90), ax, lat, d, prof)
