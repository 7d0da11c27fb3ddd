"""B-mode rendering of one image plane through a head model.

:func:`render_plane` is the API the sweeps, stills and export build on::

    frame = render_plane(model, plane, preset, rng, out_size_hw=(H, W))
    frame.image            # uint8 [H, W], the scan-converted B-mode image (0 outside the region)
    frame.mask             # bool  [H, W], the imaging region (sector / trapezoid / rectangle)
    frame.part, frame.lesion, frame.tissue   # uint8 [H, W] label maps sampled at the pixel centres
    frame.pixel_spacing_mm # (row, col) mm per pixel
    frame.pixel_to_head(col, row)            # head coordinates (mm) of pixels

The labels are sampled at exactly the output pixels, so ground truth and image share one geometry.

The physics, in beam (scan-line) coordinates ``[samples, lines]`` (see
:mod:`neocus.phantom.probe_geometry`):

1. the head model is sampled once at the output pixels (plus a 2 px margin) and its echo and the
   tissue's attenuation, impedance and scatterer density are resampled onto the beam grid
   (``cv2.remap``);
2. scatterers: complex Gaussian amplitudes (fully developed speckle) thinned by the tissue's
   scatterer density (sparse scatterers in fluid), times the echo map; plus coherent specular
   echoes where the impedance changes along the beam (reflection coefficient ``R = dZ / 2Z``,
   weighted by how squarely the beam meets the interface);
3. round-trip attenuation accumulated along each beam (``2 * alpha * f`` dB/cm) and the
   transmission loss at interfaces (bone: about 2.7 dB per interface, round trip), so the skull shadows what lies
   beyond it except through the fontanelle;
4. the point-spread function: a Gaussian pulse in depth (FWHM ``0.44 c / (B f)``) and a focused beam
   whose two-way lateral FWHM ``~0.72 lambda F#`` at the focus widens away from it (per-row Gaussian filter in
   the lateral frequency domain, exact for a width that varies with depth); higher frequency gives
   finer speckle;
5. electronic noise, envelope detection, near-field reverberation (replicas of the strongest
   near-field echo at multiples of its depth), time-gain compensation, log compression to the
   dynamic range, the scanner's speckle smoothing and an anti-alias filter matched to the output
   pixel size;
6. scan conversion to the Cartesian output (``cv2.remap``), and the preset's grey map.

Everything random comes from the ``numpy.random.Generator`` passed in, in a fixed order: same model,
plane, preset, size and generator state give the same bytes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft

from neocus.phantom.acoustics import TissueAcoustics, default_acoustics
from neocus.phantom.presets import ScannerPreset
from neocus.phantom.probe_geometry import BeamGrid, Fit, PixelGrid, ProbeGeometry, beam_grid, pixel_grid
from neocus.phantom.scatterers import Scatterers, draw_scatterers
from neocus.phantom.types import HeadModel, ImagePlane

#: log-compressed level (dB re. the mean white-matter echo at the face) shown as full white at 0 dB gain
TOP_DB = 30.0
#: beam samples per output pixel along the beam at most: finer speckle is simulated only up to this
SUPERSAMPLE = 2.0
#: beam lines per output pixel across the beams at most (lines are the costly axis: a beam narrower
#: than the output pixels is simulated at one line per pixel, the pixel then sets the lateral grain)
SUPERSAMPLE_LATERAL = 1.0
#: half-window (mm) of near-field echoes that reverberate between the probe face and the first interface
REVERB_WINDOW_MM = 6.0
REVERB_ORDERS = 3
RINGDOWN_MM = 1.5
GEL_IMPEDANCE_MRAYL = 1.5


@dataclass(frozen=True, eq=False)
class RenderedFrame:
    """One rendered B-mode image with its label maps (all ``[H, W]``, the same pixel geometry)."""

    image: np.ndarray  # uint8
    mask: np.ndarray  # bool: inside the imaging region
    tissue: np.ndarray  # uint8 tissue id (0 outside the region)
    part: np.ndarray  # uint8 anatomical part id (0 = none / outside)
    lesion: np.ndarray  # uint8 lesion kind index + 1 (0 = none / outside)
    pixel_spacing_mm: tuple[float, float]  # (row, col)
    plane: ImagePlane
    preset: ScannerPreset
    grid: PixelGrid

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape  # type: ignore[return-value]

    def pixel_to_head(self, col: np.ndarray | float, row: np.ndarray | float) -> np.ndarray:
        """Head coordinates ``[..., 3]`` (mm) of output pixel centres ``(col, row)`` (fractional allowed)."""
        x, d = self.grid.plane_coords(col, row)
        return self.plane.points(x, d)


def output_grid(preset: ScannerPreset, *, out_size_hw: tuple[int, int] | None = None, fit: Fit | str = Fit.CONTAIN) -> PixelGrid:
    """The (cached) pixel grid of a preset's image region at ``out_size_hw`` (default: the preset's)."""
    size = tuple(int(s) for s in (out_size_hw or preset.default_out_size_hw))
    return pixel_grid(ProbeGeometry.of(preset), size, fit=fit)  # type: ignore[arg-type]


def pixel_to_head(
    plane: ImagePlane,
    preset: ScannerPreset,
    col: np.ndarray | float,
    row: np.ndarray | float,
    *,
    out_size_hw: tuple[int, int] | None = None,
    fit: Fit | str = Fit.CONTAIN,
) -> np.ndarray:
    """Head coordinates ``[..., 3]`` (mm) of output pixels of a frame rendered with these arguments."""
    x, d = output_grid(preset, out_size_hw=out_size_hw, fit=fit).plane_coords(col, row)
    return plane.points(x, d)


def _quantize_down(x: float) -> float:
    """``x`` rounded down onto a geometric ladder of 8 steps per octave (so that scans whose settings
    differ slightly share one cached beam grid)."""
    return float(2.0 ** (math.floor(math.log2(x) * 8.0) / 8.0))


def _beam_steps(preset: ScannerPreset, grid: PixelGrid) -> tuple[float, float, float]:
    """Sample step (mm), line step (mm at the reference depth) and reference depth of the beam grid.

    Steps are half the PSF's FWHM (axially and laterally at the focus) but never finer than half an
    output pixel along the beam and one output pixel across the beams: speckle finer than the output
    pixels is simulated only down to that scale and then averaged by the anti-alias filter.
    """
    px = min(grid.spacing_mm)
    dv = max(preset.axial_fwhm_mm / 2.0, px / SUPERSAMPLE)
    ref = float(np.clip(round(preset.focus_mm / 10.0) * 10.0, 10.0, preset.depth_mm))
    dlat = max(float(preset.lateral_fwhm_mm(ref)) / 2.0, px / SUPERSAMPLE_LATERAL)
    return _quantize_down(dv), _quantize_down(dlat), ref


def _gauss_kernel(sigma: float) -> np.ndarray:
    r = max(1, math.ceil(3.0 * sigma))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k


class _Timer:
    def __init__(self, sink: dict[str, float] | None):
        self.sink = sink
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.sink is not None:
            now = time.perf_counter()
            self.sink[name] = self.sink.get(name, 0.0) + now - self.t
            self.t = now


def render_plane(
    model: HeadModel,
    plane: ImagePlane,
    preset: ScannerPreset,
    *,
    out_size_hw: tuple[int, int] | None = None,
    fit: Fit | str = Fit.CONTAIN,
    acoustics: TissueAcoustics | None = None,
    timings: dict[str, float] | None = None,
    speckle_seed: int | None = None,
    rng: np.random.Generator,
) -> RenderedFrame:
    """Render the B-mode image of ``plane`` through ``model`` as ``preset`` shows it.

    ``out_size_hw = (H, W)`` (default ``preset.default_out_size_hw``); ``fit`` places the image region in
    the frame (``"contain"``: square pixels, region centred and at the top; ``"stretch"``: fills the
    frame). ``acoustics`` overrides the tissue table (default: :func:`default_acoustics`).
    ``timings``, when given, accumulates seconds spent per stage (``sample``, ``to_beam``,
    ``speckle_psf``, ``compress``, ``scan_convert``). ``speckle_seed``: None draws independent
    speckle for every frame from ``rng``; an integer freezes the scatterers in head coordinates
    (:mod:`neocus.phantom.scatterers`), so frames of one subject's sweep share their speckle and
    tissue texture where their planes coincide (pass the same seed for all frames of a subject).
    """
    ac = acoustics or default_acoustics()
    clock = _Timer(timings)
    grid = output_grid(preset, out_size_hw=out_size_hw, fit=fit)
    dv, dlat, ref = _beam_steps(preset, grid)
    beams = beam_grid(grid, dv, dlat, ref)

    # 1. the head model at the output pixels -----------------------------------------------------
    h, w = grid.height, grid.width
    sr, sc = grid.sample_rows, grid.sample_cols
    pts = plane.points(grid.x_mm[sr, sc], grid.d_mm[sr, sc])
    ts = model.sample(pts)
    tissue_px = np.zeros((h, w), np.uint8)
    tissue_px[sr, sc] = ts.tissue
    chans = np.zeros((h, w, 4), np.float32)
    chans[sr, sc, 0] = ts.echo
    chans[..., 1] = ac.attenuation_db_cm_mhz[tissue_px]
    chans[..., 2] = ac.impedance_mrayl[tissue_px]
    chans[..., 3] = ac.scatterer_density[tissue_px]
    part = np.zeros((h, w), np.uint8)
    lesion = np.zeros((h, w), np.uint8)
    part[sr, sc] = ts.part
    lesion[sr, sc] = ts.lesion
    outside = ~grid.mask
    for a in (tissue_px, part, lesion):
        a[outside] = 0
    if preset.elevation_fwhm_mm > 0:
        _elevation_average(model, plane, grid, chans, preset.elevation_fwhm_mm, ac)
    clock.lap("sample")

    # 2. onto the beam grid ------------------------------------------------------------------------
    b = cv2.remap(chans, beams.to_pixel_x, beams.to_pixel_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    b[~beams.mask] = (0.0, 0.0, GEL_IMPEDANCE_MRAYL, 1.0)  # coupling gel before the face / outside
    echo, alpha, z_imp, density = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    clock.lap("to_beam")

    image_t = _beam_image(beams, preset, draw_scatterers(beams, plane, rng=rng, speckle_seed=speckle_seed), rng, echo, alpha, z_imp, density, clock)

    # 6. scan conversion ------------------------------------------------------------------------------
    cart = cv2.remap(image_t, beams.to_beam_x, beams.to_beam_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    idx = np.clip(cart * 255.0 + 0.5, 0, 255).astype(np.uint8)
    image = cv2.LUT(idx, preset.grey_lut())
    image[outside] = 0
    clock.lap("scan_convert")
    return RenderedFrame(
        image=image,
        mask=grid.mask,
        tissue=tissue_px,
        part=part,
        lesion=lesion,
        pixel_spacing_mm=grid.spacing_mm,
        plane=plane,
        preset=preset,
        grid=grid,
    )


def _elevation_average(model: HeadModel, plane: ImagePlane, grid: PixelGrid, chans: np.ndarray, fwhm_mm: float, ac: TissueAcoustics) -> None:
    """Partial-volume averaging over the beam's elevation (slice) thickness, in place.

    The elevation profile is Gaussian (FWHM ``fwhm_mm``), integrated by 3-point Gauss-Hermite
    quadrature: the image plane (weight 2/3) and two planes ``+-sqrt(3) sigma`` off it (1/6 each),
    the off-plane ones sampled on every other pixel and upsampled. Backscattered intensity and
    scatterer density average; attenuation and impedance (interfaces) stay those of the image plane,
    and so do the label maps.
    """
    off = math.sqrt(3.0) * fwhm_mm / 2.3548
    h, w = grid.height, grid.width
    sub = grid.mask[::2, ::2]
    sub = cv2.dilate(sub.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    xs, ds = grid.x_mm[::2, ::2][sub], grid.d_mm[::2, ::2][sub]
    inten = (2.0 / 3.0) * chans[..., 0] ** 2
    dens = (2.0 / 3.0) * chans[..., 3]
    for sign in (-1.0, 1.0):
        pts = plane.points(xs, ds) + (sign * off) * plane.normal
        ts = model.sample(pts)
        e = np.zeros(sub.shape, np.float32)
        n = np.zeros(sub.shape, np.float32)
        e[sub] = ts.echo
        n[sub] = ac.scatterer_density[ts.tissue]
        inten += (1.0 / 6.0) * cv2.resize(e * e, (w, h), interpolation=cv2.INTER_LINEAR)
        dens += (1.0 / 6.0) * cv2.resize(n, (w, h), interpolation=cv2.INTER_LINEAR)
    chans[..., 0] = np.sqrt(inten)
    chans[..., 3] = dens


def _beam_image(
    beams: BeamGrid,
    preset: ScannerPreset,
    scat: Scatterers,
    rng: np.random.Generator,
    echo: np.ndarray,
    alpha: np.ndarray,
    z_imp: np.ndarray,
    density: np.ndarray,
    clock: _Timer,
) -> np.ndarray:
    """Log-compressed, smoothed image (0..1, float32) on the beam grid."""
    n_s, n_l = beams.shape
    f = preset.frequency_mhz
    dv = beams.dv_mm
    range_mm = beams.range_mm
    depth_v = beams.v.astype(np.float32)
    line_mm = np.maximum(beams.line_spacing_mm, np.float32(0.05))  # [S] (lines meet at a sector's apex)

    # PSF sizes in grid units ------------------------------------------------------------------------
    sig_ax = max(preset.axial_fwhm_mm / 2.3548 / dv, 0.6)
    lat_fwhm = preset.lateral_fwhm_mm(np.clip(depth_v, 0.5, None))
    sig_lat = np.clip(lat_fwhm / 2.3548 / line_mm, 0.6, max(0.6, n_l / 6.0)).astype(np.float32)  # [S] in lines
    k_ax = _gauss_kernel(sig_ax)
    k_ax_energy = (k_ax / np.sqrt((k_ax**2).sum())).astype(np.float32)
    ax_peak = float(k_ax_energy.max())

    # 2. scatterers ---------------------------------------------------------------------------------
    field = scat.field
    sparse = density < 0.999
    thin = np.where(sparse, (scat.keep < density) / np.sqrt(np.maximum(density, 1e-4)), 1.0).astype(np.float32)
    # tissue texture (log-normal, preset.tissue_texture_db standard deviation) in scattering tissue, not in fluid
    if preset.tissue_texture_db > 0:
        tex_db = np.where(density >= 0.5, scat.texture * np.float32(preset.tissue_texture_db), np.float32(0.0))
        thin *= np.power(np.float32(10.0), tex_db / np.float32(20.0))
    # lateral energy normalisation: the lateral filter has unit DC gain, so white noise loses 1/sqrt(2 sqrt(pi) s)
    lat_norm = np.sqrt(2.0 * math.sqrt(math.pi) * sig_lat).astype(np.float32)[:, None]
    amp = echo * thin * lat_norm
    field *= amp[..., None]

    # specular echoes where the impedance changes along the beam
    gz = np.zeros_like(z_imp)
    gz[1:] = z_imp[1:] - z_imp[:-1]
    zsum = np.zeros_like(z_imp)
    zsum[1:] = z_imp[1:] + z_imp[:-1]
    refl = np.divide(gz, zsum, out=np.zeros_like(gz), where=zsum > 0)
    gx = np.zeros_like(z_imp)
    gx[:, 1:-1] = (z_imp[:, 2:] - z_imp[:, :-2]) / (2.0 * line_mm[:, None])
    gzmm = gz / dv
    cos2 = gzmm**2 / (gzmm**2 + gx**2 + 1e-12)
    refl_eff = refl * cos2 * cos2  # ~cos^4 of the incidence angle: oblique smooth surfaces reflect away
    field[..., 0] += refl_eff * (preset.specular_gain / ax_peak)

    # 3. attenuation and transmission loss, accumulated along each beam (exclusive of the sample itself)
    loss_db = alpha * (2.0 * f * dv / 10.0)
    r2 = np.minimum(refl * refl, 0.99)
    loss_db += -20.0 * np.log10(1.0 - r2)
    # the beam is not a line: it averages the losses over its lateral profile (so a thin fluid channel
    # along the beam, like the interhemispheric fissure, gives no bright streak, and shadows have soft edges)
    loss_db = cv2.GaussianBlur(loss_db, (0, 0), sigmaX=max(float(np.median(sig_lat)), 0.5), sigmaY=0.5, borderType=cv2.BORDER_REPLICATE)
    cum = np.cumsum(loss_db, axis=0, dtype=np.float32) - loss_db
    att = np.power(np.float32(10.0), -cum / 20.0).astype(np.float32)
    field *= att[..., None]

    # 4. PSF: axial Gaussian pulse (cv2), lateral depth-dependent beam (per-row Gaussian in lateral FFT)
    field = cv2.sepFilter2D(field, cv2.CV_32F, np.ones(1, np.float32), k_ax_energy, borderType=cv2.BORDER_CONSTANT)
    pad = math.ceil(3 * float(sig_lat.max()))
    n_fft = scipy.fft.next_fast_len(n_l + 2 * pad)
    cplx = field.view(np.complex64)[..., 0]
    spec = scipy.fft.fft(cplx, n=n_fft, axis=1, workers=1)
    omega = (2.0 * np.pi * scipy.fft.fftfreq(n_fft)).astype(np.float32)
    spec *= np.exp(np.float32(-0.5) * np.square(sig_lat[:, None] * omega[None, :]))  # float32 gain, in place
    cplx = scipy.fft.ifft(spec, axis=1, workers=1)[:, :n_l]
    clock.lap("speckle_psf")

    # 5. noise, envelope, reverberation, TGC, log compression ---------------------------------------
    noise_amp = np.float32(10.0 ** (preset.noise_db / 20.0))
    noise = rng.standard_normal((n_s, n_l, 2), dtype=np.float32) * noise_amp
    env2 = (cplx.real + noise[..., 0]) ** 2 + (cplx.imag + noise[..., 1]) ** 2
    env2 = env2.astype(np.float32)
    _add_reverberation(env2, preset, dv, range_mm)
    db = 10.0 * np.log10(env2 + np.float32(1e-12))
    tgc_nodes = np.asarray(preset.tgc_db, np.float64)
    tgc = np.interp(range_mm, np.linspace(0.0, preset.depth_mm, len(tgc_nodes)), tgc_nodes).astype(np.float32)
    tgc += np.float32(preset.tgc_db_per_cm / 10.0) * range_mm
    db += tgc
    dr = np.float32(preset.dynamic_range_db)
    t = (db + np.float32(preset.gain_db - TOP_DB) + dr) / dr
    np.clip(t, 0.0, 1.0, out=t)

    # the scanner's speckle reduction (compounding / adaptive filtering): the log image is pulled toward
    # its local mean (over ~2 speckle cells), which lowers speckle contrast without coarsening the grain;
    # then an anti-alias Gaussian for the output pixel size
    sm = preset.speckle_smoothing
    if sm > 0:
        kx = _gauss_kernel(2.0 * float(np.median(sig_lat)))
        ky = _gauss_kernel(2.0 * sig_ax)
        local = cv2.sepFilter2D(t, cv2.CV_32F, (kx / kx.sum()).astype(np.float32), (ky / ky.sum()).astype(np.float32), borderType=cv2.BORDER_REPLICATE)
        t = cv2.addWeighted(t, 1.0 - sm, local, sm, 0.0)
    sy, sx = beams.pixels.spacing_mm
    mid = float(np.median(line_mm))
    s_ax = 0.42 * sy / dv if sy > dv else 0.0
    s_lat = 0.42 * sx / mid if sx > mid else 0.0
    if s_ax > 0.3 or s_lat > 0.3:
        kx = _gauss_kernel(max(s_lat, 0.3))
        ky = _gauss_kernel(max(s_ax, 0.3))
        t = cv2.sepFilter2D(t, cv2.CV_32F, (kx / kx.sum()).astype(np.float32), (ky / ky.sum()).astype(np.float32), borderType=cv2.BORDER_REPLICATE)
    t[~beams.mask] = 0.0
    clock.lap("compress")
    return t


def _add_reverberation(env2: np.ndarray, preset: ScannerPreset, dv: float, range_mm: np.ndarray) -> None:
    """Near-field artefacts, added in intensity (in place).

    * reverberation: decaying replicas of the near-field echoes at multiples of the depth of the
      strongest near-field interface of each line (sound bouncing between the probe face and the
      scalp / fontanelle membrane / skull); each bounce keeps ``(reverb_strength / 4)**2`` of the
      intensity;
    * ring-down: the transducer's own ringing after transmit, a bright band over the first
      ``RINGDOWN_MM`` (``reverb_strength`` * +20 dB re. white matter at the face).
    """
    a = preset.reverb_strength
    if a <= 0:
        return
    n_w = max(2, round(REVERB_WINDOW_MM / dv))
    n_s = env2.shape[0]
    if n_w * 2 >= n_s:
        return
    near = env2[:n_w]
    smooth = cv2.blur(near, (9, 1))
    first = np.argmax(smooth, axis=0) + 1  # [L] samples from the top to the strongest near echo
    first = np.maximum(first, 2)
    n_r = min(n_s, n_w * (REVERB_ORDERS + 1))
    rows = np.arange(n_r)[:, None]
    acc = np.zeros((n_r, env2.shape[1]), np.float32)
    for k in range(1, REVERB_ORDERS + 1):
        src = rows - k * first[None, :]
        ok = (src >= 0) & (src < n_w)
        vals = np.take_along_axis(near, np.clip(src, 0, n_w - 1), axis=0)
        acc += np.where(ok, vals, 0.0).astype(np.float32) * np.float32((0.25 * a) ** (2 * k))
    ring = np.float32(100.0 * a) * np.exp(-range_mm[:n_r] / np.float32(RINGDOWN_MM)) * (range_mm[:n_r] > 0)
    env2[:n_r] += acc + ring
