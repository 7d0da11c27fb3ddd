"""Appearance transfer from unlabelled real frames onto phantom images (training-time augmentation).

Where the phantom's anatomy is right but its look is not, a phantom image can borrow the look of a
real frame without any label: only grey-level statistics or low spatial frequencies move, the
phantom's structures (and so its ground truth) stay where they are.

* :func:`fda_transfer`: Fourier domain adaptation (Yang & Soatto, "FDA", CVPR 2020): the amplitude
  spectrum's lowest frequencies (a centred square of half-width ``beta * min(H, W)``) are replaced by
  the reference's, the phase is kept. Brightness, gain over depth and coarse texture come from the
  real frame.
* :func:`histogram_match`: the grey-level distribution inside the imaging region is mapped onto the
  reference's (exact histogram specification by quantiles).

Both take uint8 ``[H, W]`` images of the same size (resize the reference first) and the imaging masks;
pixels outside the source mask stay 0. Reference frames: e.g. the ROI crops of real sweeps
(:func:`neocus.io.roi.detect_sweep_roi`), which need no labels.
"""

from __future__ import annotations

import numpy as np


def _check(src: np.ndarray, ref: np.ndarray) -> None:
    if src.shape != ref.shape or src.ndim != 2:
        raise ValueError(f"source {src.shape} and reference {ref.shape} must be the same 2-D size")


def fda_transfer(src: np.ndarray, ref: np.ndarray, src_mask: np.ndarray, *, beta: float = 0.02) -> np.ndarray:
    """``src`` with the low-frequency amplitude spectrum of ``ref`` (uint8, 0 outside ``src_mask``)."""
    _check(src, ref)
    h, w = src.shape
    fs = np.fft.fft2(src.astype(np.float32))
    fr = np.fft.fft2(ref.astype(np.float32))
    amp_s, pha_s = np.abs(fs), np.angle(fs)
    amp_r = np.abs(fr)
    b = max(1, int(np.floor(min(h, w) * beta)))
    amp_s = np.fft.fftshift(amp_s)
    amp_r = np.fft.fftshift(amp_r)
    cy, cx = h // 2, w // 2
    amp_s[cy - b : cy + b + 1, cx - b : cx + b + 1] = amp_r[cy - b : cy + b + 1, cx - b : cx + b + 1]
    amp_s = np.fft.ifftshift(amp_s)
    out = np.real(np.fft.ifft2(amp_s * np.exp(1j * pha_s)))
    out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    out[~src_mask] = 0
    return out


def histogram_match(src: np.ndarray, ref: np.ndarray, src_mask: np.ndarray, ref_mask: np.ndarray) -> np.ndarray:
    """``src`` with the grey-level histogram of ``ref`` inside the masks (uint8, 0 outside ``src_mask``)."""
    _check(src, ref)
    s = src[src_mask]
    r = ref[ref_mask]
    out = np.zeros_like(src)
    if s.size == 0 or r.size == 0:
        return out
    s_values, s_counts = np.unique(s, return_counts=True)
    s_q = np.cumsum(s_counts) / s.size
    r_values, r_counts = np.unique(r, return_counts=True)
    r_q = np.cumsum(r_counts) / r.size
    mapped = np.interp(s_q, r_q, r_values)
    lut = np.zeros(256, np.float64)
    lut[s_values] = mapped
    out[src_mask] = np.clip(lut[s] + 0.5, 0, 255).astype(np.uint8)
    return out
