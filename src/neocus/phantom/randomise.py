"""SynthSeg-style domain randomisation of rendered phantom stills.

A network trained on one look of the phantom learns that look (grey levels, speckle grain, a skull rim,
the sector's outline) instead of the anatomy. Randomising the look far beyond what any scanner shows
(Billot et al., "SynthSeg", Med Image Anal 2023) leaves shape as the only stable cue. Everything here
works on an image and its tissue label map (``RenderedFrame.tissue``, after any crop / resize with
nearest-neighbour labels), so it runs per training step at the network's input size, without
re-rendering::

    out = randomise_still(image, tissue, mask, rng=rng)             # uint8 [H, W], 0 outside the new region

What one call draws (all from ``rng``, in a fixed order, so a seed gives the same bytes):

0. a random magnification (up to x1.5) of a window hanging from the top edge: real heads often fill
   the sector and their outline leaves the image (:func:`random_zoom`);
1. a random intensity per tissue class (:class:`~neocus.phantom.tissues.Tissue`): the rendered speckle
   is kept as texture and rescaled to a random mean per tissue (log-uniform gain, random offset), with
   the label edges softened so no class gets a razor edge the renderer never draws; the sector outside
   the head (black on the render) is filled half of the time, so the head's outline is no shortcut;
2. a random point-spread blur (anisotropic: lateral wider than axial, as on a scanner) and a
   multiplicative speckle field with a random grain size, then random additive noise;
3. sparse bright dots (real brain shows scattered punctate echoes) at a random density;
4. a random grey curve (gain, gamma, dynamic-range stretch);
5. a random imaging region: a flat-topped trapezoid, a pointed sector or a curved-top fan, with a
   random opening, face width and depth cut, replacing the rendered region.

``strength`` (0..1) scales every spread: 0 returns the input unchanged (inside the new region).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from neocus.phantom.tissues import N_TISSUES, Tissue


@dataclass(frozen=True)
class RandomisationSpread:
    """How far each randomisation may go at ``strength`` 1 (log10 gains, pixels, fractions)."""

    tissue_log10_gain: float = 0.5  # per-tissue gain 10**U(-g, g): x0.32 .. x3.2
    tissue_offset: float = 25.0  # grey levels, per tissue, uniform +-
    fluid_fill: float = 60.0  # grey levels: fluid (CSF, cysts) may be filled up to this
    outside_fill: float = 90.0  # grey levels: the sector outside the head may be filled up to this
    blur_px: float = 1.0  # PSF sigma, uniform 0..blur_px (lateral up to 2x)
    speckle_contrast: float = 0.35  # multiplicative speckle field std
    speckle_grain_px: tuple[float, float] = (0.4, 1.2)  # finer than the smallest ventricle at the probe's input size
    noise: float = 12.0  # additive Gaussian grey levels
    dot_density: float = 0.004  # bright dots per pixel (at most)
    gamma_log: float = 0.45  # gamma = exp(U(-g, g))
    gain: float = 0.35  # overall gain 1 + U(-g, g)
    region_probability: float = 0.8  # chance of redrawing the imaging region
    zoom: float = 0.5  # magnification up to 1 + zoom (0 = none)


DEFAULT_SPREAD = RandomisationSpread()

#: tissue classes that are fluid (anechoic on every scanner)
_FLUID = (Tissue.CSF, Tissue.CYST)


def random_region(shape_hw: tuple[int, int], *, rng: np.random.Generator) -> np.ndarray:
    """A random imaging region filling an ``[H, W]`` frame: trapezoid, sector or curved fan (bool mask)."""
    h, w = shape_hw
    kind = int(rng.integers(3))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx = w / 2.0 + rng.uniform(-0.04, 0.04) * w
    half_angle = np.deg2rad(rng.uniform(22.0, 48.0))
    depth = h * rng.uniform(0.8, 1.0)
    if kind == 0:  # flat face, sides opening with depth (linear probe, virtual convex)
        top = rng.uniform(0.15, 0.45) * w
        inside = np.abs(xx - cx) <= top + yy * np.tan(half_angle)
        inside &= yy <= depth
        # a curved bottom: arc around the virtual apex
        apex_y = -top / max(np.tan(half_angle), 1e-3)
        inside &= np.hypot(xx - cx, yy - apex_y) <= depth - apex_y
    else:  # a fan from an apex at (kind 1) or above (kind 2, curved face) the top edge
        apex_y = 0.0 if kind == 1 else -rng.uniform(0.05, 0.3) * h
        r = np.hypot(xx - cx, yy - apex_y)
        ang = np.arctan2(xx - cx, yy - apex_y)
        inside = (np.abs(ang) <= half_angle) & (r <= depth - apex_y) & (r >= -apex_y)
    return inside


def random_zoom(
    image: np.ndarray, tissue: np.ndarray, mask: np.ndarray, *, max_zoom: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Magnify by a random factor in [1, ``max_zoom``] about a window hanging from the top edge (the
    probe face stays at the top): a larger head than the sector, whose outline then leaves the image,
    as on many real views. Labels and mask are resampled nearest-neighbour."""
    h, w = image.shape
    z = float(rng.uniform(1.0, max_zoom))
    cw, ch = w / z, h / z
    x0 = (w - cw) / 2.0 + rng.uniform(-0.5, 0.5) * (w - cw)
    a = np.array([[z, 0.0, -x0 * z], [0.0, z, 0.0]], np.float32)
    size = (w, h)
    img = cv2.warpAffine(image, a, size, flags=cv2.INTER_LINEAR, borderValue=0)
    tis = cv2.warpAffine(tissue, a, size, flags=cv2.INTER_NEAREST, borderValue=0)
    msk = cv2.warpAffine(mask.astype(np.uint8), a, size, flags=cv2.INTER_NEAREST, borderValue=0).astype(bool)
    return img, tis, msk


def _tissue_gain_maps(tissue: np.ndarray, spread: RandomisationSpread, strength: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    gains = np.power(10.0, rng.uniform(-1.0, 1.0, N_TISSUES) * spread.tissue_log10_gain * strength).astype(np.float32)
    offsets = (rng.uniform(-1.0, 1.0, N_TISSUES) * spread.tissue_offset * strength).astype(np.float32)
    for t in _FLUID:
        offsets[int(t)] = rng.uniform(0.0, spread.fluid_fill * strength)
    # outside the head but inside the sector: black on the render, tissue-like on many real views (the
    # head fills the sector); filled half of the time so the head's outline is no shortcut
    offsets[int(Tissue.BACKGROUND)] = rng.uniform(0.0, spread.outside_fill * strength) if rng.random() < 0.5 else 0.0
    t = np.clip(tissue, 0, N_TISSUES - 1)
    g, o = gains[t], offsets[t]
    g = cv2.GaussianBlur(g, (0, 0), 0.8)
    o = cv2.GaussianBlur(o, (0, 0), 0.8)
    return g, o


def randomise_still(
    image: np.ndarray,
    tissue: np.ndarray,
    mask: np.ndarray,
    *,
    strength: float = 1.0,
    spread: RandomisationSpread = DEFAULT_SPREAD,
    rng: np.random.Generator,
) -> np.ndarray:
    """A randomised copy of ``image`` (uint8 ``[H, W]``) from its tissue map and imaging ``mask``.

    Returns uint8 ``[H, W]``, 0 outside the (possibly redrawn) imaging region. See the module text.
    """
    if image.shape != tissue.shape or image.shape != mask.shape:
        raise ValueError(f"image {image.shape}, tissue {tissue.shape} and mask {mask.shape} differ")
    s = float(np.clip(strength, 0.0, 1.0))
    if spread.zoom > 0 and s > 0:
        image, tissue, mask = random_zoom(image, tissue, mask, max_zoom=1.0 + spread.zoom * s, rng=rng)
    img = image.astype(np.float32)
    g, o = _tissue_gain_maps(tissue, spread, s, rng)
    img = img * g + o
    # scanner blur (lateral wider than axial) and a speckle field of random grain
    sig_ax = rng.uniform(0.0, spread.blur_px * s)
    sig_lat = sig_ax * rng.uniform(1.0, 2.0)
    if sig_ax > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=sig_lat, sigmaY=sig_ax)
    grain = rng.uniform(*spread.speckle_grain_px)
    field = cv2.GaussianBlur(rng.standard_normal(img.shape).astype(np.float32), (0, 0), grain)
    field /= max(float(field.std()), 1e-6)
    img *= np.clip(1.0 + rng.uniform(0.0, spread.speckle_contrast * s) * field, 0.0, None)
    img += rng.standard_normal(img.shape).astype(np.float32) * rng.uniform(0.0, spread.noise * s)
    # scattered bright dots
    n_dots = int(rng.uniform(0.0, spread.dot_density * s) * img.size)
    if n_dots:
        dots = np.zeros(img.shape, np.float32)
        ys = rng.integers(0, img.shape[0], n_dots)
        xs = rng.integers(0, img.shape[1], n_dots)
        dots[ys, xs] = rng.uniform(80.0, 255.0, n_dots)
        img += cv2.GaussianBlur(dots, (0, 0), 0.6) * 2.0
    # grey curve
    img = np.clip(img * (1.0 + rng.uniform(-spread.gain, spread.gain) * s), 0.0, 255.0) / 255.0
    img = np.power(img, np.exp(rng.uniform(-spread.gamma_log, spread.gamma_log) * s)) * 255.0
    region = mask
    if rng.random() < spread.region_probability * s:
        region = random_region(mask.shape, rng=rng)
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    out[~region] = 0
    return out
