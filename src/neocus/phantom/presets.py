"""Scanner presets: the probe, its geometry and the scanner's image processing settings.

A :class:`ScannerPreset` says everything the B-mode renderer (:mod:`neocus.phantom.bmode`) needs
besides the anatomy and the plane: the probe kind and footprint, the centre frequency and bandwidth,
the focus, the imaging depth, gain, time-gain compensation, dynamic range, the grey map (look-up
curve), electronic noise and near-field reverberation. Presets are immutable pydantic models, so a
preset serialises to JSON for a dataset's provenance and :meth:`ScannerPreset.vary` returns a new
preset with per-scan random variation drawn from a numpy ``Generator``.

Probe kinds (geometry of the image region, see :mod:`neocus.phantom.probe_geometry`):

* ``sector``: phased array, beams fan out from one point at the skin (``footprint_mm`` only sets the
  aperture for the lateral resolution);
* ``curved``: convex / micro-convex array of radius ``radius_mm``, beams radial from the centre of
  curvature;
* ``trapezoid``: linear array with steered outer lines ("virtual convex", e.g. the GE 9L as used in
  the NCLS captures): flat face of width ``footprint_mm``, beams radial from a virtual apex behind
  the face so the image widens with depth by ``angle_deg`` in total;
* ``linear``: rectangle ``footprint_mm`` wide.

Named presets (:data:`PRESETS`, :func:`get_preset`): ``internal`` (GE-like 9L linear probe in
virtual-convex mode, calibrated against the real NCLS captures), ``internal_microconvex`` (a
micro-convex probe on the same scanner), ``external`` (a different scanner, linear probe in
trapezoid mode and look, like a second hospital) and ``blind`` (a low-cost handheld convex probe used
for blind sweeps by non-experts: lower frequency, fixed settings, noisier). None of them is a pointed
phased-array sector (``sector`` stays available for custom presets).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from neocus.errors import NeocusError

#: speed of sound assumed by the scanner (mm per microsecond), as on clinical scanners
SOUND_SPEED_MM_US = 1.54


class ProbeKind(StrEnum):
    SECTOR = "sector"
    CURVED = "curved"
    TRAPEZOID = "trapezoid"
    LINEAR = "linear"


class PresetName(StrEnum):
    """Names of the built-in presets (also the values the ``simulate`` command takes)."""

    INTERNAL = "internal"
    INTERNAL_MICROCONVEX = "internal_microconvex"
    EXTERNAL = "external"
    BLIND = "blind"


class PresetVariation(BaseModel):
    """Spread of the per-scan random variation (standard deviations unless said otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gain_db: float = 2.0
    dynamic_range_db: float = 3.0
    frequency_mhz: float = 0.3
    focus_mm: float = 6.0
    tgc_db: float = 1.5  # per TGC slider, independent
    tgc_db_per_cm: float = 0.3
    grey_gamma: float = 0.06  # log-normal spread of the grey map's gamma
    noise_db: float = 2.0
    reverb_strength: float = 0.05
    angle_deg: float = 0.0
    depth_choices_mm: tuple[float, ...] = ()  # the operator's depth setting: one of these (empty: keep)


class ScannerPreset(BaseModel):
    """A scanner + probe + settings. Lengths in mm, frequencies in MHz, gains in dB.

    ``tgc_db`` are the TGC slider gains at equally spaced depths from the face (first) to
    ``depth_mm`` (last), linearly interpolated; ``tgc_db_per_cm`` is the scanner's automatic depth
    gain (range-proportional, compensating an assumed attenuation). ``grey_curve`` is the look-up
    curve: output grey (0..1) at equally spaced inputs 0..1 of the log-compressed signal, then raised
    to ``grey_gamma``. ``noise_db`` is the electronic noise amplitude relative to the echo of normal
    white matter at the face (before attenuation and TGC). ``speckle_smoothing`` (0..1) models the
    scanner's speckle reduction / compounding filter (0 = raw envelope). ``tissue_texture_db`` is
    the renderer's mm-scale heterogeneity of parenchyma (see :mod:`neocus.phantom.scatterers`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", serialize_by_alias=True)

    name: str
    scanner: str
    probe: str
    probe_kind: ProbeKind
    frequency_mhz: float = Field(gt=0.5, lt=30)
    bandwidth: float = Field(0.6, gt=0.1, le=1.5, description="fractional -6 dB bandwidth")
    f_number: float = Field(2.5, gt=0.5, le=10, description="lateral focusing f-number (receive + transmit)")
    focus_mm: float = Field(gt=0)
    depth_mm: float = Field(gt=5, le=250)
    footprint_mm: float = Field(gt=0, le=100)
    angle_deg: float = Field(0.0, ge=0, lt=150, description="total opening angle (0 for linear)")
    radius_mm: float = Field(0.0, ge=0, description="radius of curvature (curved probes)")
    gain_db: float = 0.0
    tgc_db: tuple[float, ...] = (0.0,) * 8
    tgc_db_per_cm: float = 0.0
    dynamic_range_db: float = Field(60.0, ge=20, le=120)
    grey_curve: tuple[float, ...] = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)
    grey_gamma: float = Field(1.0, gt=0.1, lt=10)
    noise_db: float = -60.0
    reverb_strength: float = Field(0.3, ge=0, le=1)
    specular_gain: float = Field(40.0, ge=0, description="envelope of a flat interface per unit reflection coefficient")
    speckle_smoothing: float = Field(0.0, ge=0, le=1)
    elevation_fwhm_mm: float = Field(
        0.0, ge=0, le=10, description="slice thickness (FWHM) for partial-volume averaging; 0 = an infinitely thin plane"
    )
    tissue_texture_db: float = Field(
        2.5, ge=0, le=10, description="std of the smooth (~1 mm) echo modulation of parenchyma: real tissue is not a uniform scatterer"
    )
    default_out_size_hw: tuple[int, int] = Field(
        (480, 640),
        description="(H, W) of the scan-converted image; written and read as `default_out_size` in files (the format predates the name)",
        serialization_alias="default_out_size",
        validation_alias=AliasChoices("default_out_size_hw", "default_out_size"),
    )
    variation: PresetVariation = PresetVariation()

    @field_validator("tgc_db", "grey_curve")
    @classmethod
    def _at_least_two(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) < 2:
            raise ValueError("needs at least two points")
        return tuple(float(x) for x in v)

    @field_validator("grey_curve")
    @classmethod
    def _monotone(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        a = np.asarray(v)
        if np.any(np.diff(a) < 0) or a.min() < 0 or a.max() > 1:
            raise ValueError("grey_curve must be non-decreasing within [0, 1]")
        return v

    @model_validator(mode="after")
    def _geometry(self) -> ScannerPreset:
        if self.probe_kind is ProbeKind.LINEAR and self.angle_deg != 0:
            raise ValueError("a linear probe has angle_deg 0 (use trapezoid for a widening image)")
        if self.probe_kind is not ProbeKind.LINEAR and self.angle_deg <= 0:
            raise ValueError(f"a {self.probe_kind} probe needs angle_deg > 0")
        if self.probe_kind is ProbeKind.CURVED and self.radius_mm <= 0:
            raise ValueError("a curved probe needs radius_mm > 0")
        return self

    # --- derived physics -------------------------------------------------------------------------
    @property
    def wavelength_mm(self) -> float:
        return SOUND_SPEED_MM_US / self.frequency_mhz

    @property
    def axial_fwhm_mm(self) -> float:
        """Pulse-echo axial resolution (FWHM of the envelope) of a Gaussian pulse.

        The two-way envelope FWHM in time of a Gaussian pulse with -6 dB fractional bandwidth ``B`` is
        ``0.883 / (B f)``; range is half the time of flight times ``c``.
        """
        return 0.883 * SOUND_SPEED_MM_US / (2.0 * self.bandwidth * self.frequency_mhz)

    def lateral_fwhm_mm(self, depth_mm: np.ndarray | float) -> np.ndarray:
        """Lateral (two-way) beam width FWHM at depths along the beam (mm).

        Transmit: a focused Gaussian beam, one-way FWHM ``1.02 lambda F#`` at ``focus_mm`` widening with
        depth of field ``7 lambda F#**2``. Receive: dynamic focusing with an aperture growing to keep
        ``F#`` (up to the probe's ``footprint_mm``), one-way FWHM ``1.02 lambda max(F#, z / aperture)``.
        The pulse-echo beam is the product of the two Gaussian profiles.
        """
        lam = self.wavelength_mm
        z = np.maximum(np.asarray(depth_mm, dtype=np.float64), 0.1)
        w_tx = 1.02 * lam * self.f_number * np.sqrt(1.0 + ((z - self.focus_mm) / (7.0 * lam * self.f_number**2)) ** 2)
        w_rx = 1.02 * lam * np.maximum(self.f_number, z / max(self.footprint_mm, 1.0))
        return 1.0 / np.sqrt(1.0 / w_tx**2 + 1.0 / w_rx**2)

    # --- variation -------------------------------------------------------------------------------
    def vary(self, *, rng: np.random.Generator) -> ScannerPreset:
        """This preset with per-scan random variation (what one operator on one scan would set).

        Deterministic for a given ``rng`` state. Geometry (probe, footprint) stays; depth changes only
        among ``variation.depth_choices_mm``.
        """
        v = self.variation
        tgc = tuple(float(t + rng.normal(0, v.tgc_db)) for t in self.tgc_db)
        depth = self.depth_mm
        if v.depth_choices_mm:
            depth = float(v.depth_choices_mm[int(rng.integers(len(v.depth_choices_mm)))])
        freq = float(np.clip(self.frequency_mhz + rng.normal(0, v.frequency_mhz), 0.7 * self.frequency_mhz, 1.3 * self.frequency_mhz))
        angle = self.angle_deg
        if v.angle_deg and angle > 0:
            angle = float(np.clip(angle + rng.normal(0, v.angle_deg), 0.8 * angle, 1.2 * angle))
        updates = {
            "gain_db": float(self.gain_db + rng.normal(0, v.gain_db)),
            "dynamic_range_db": float(np.clip(self.dynamic_range_db + rng.normal(0, v.dynamic_range_db), 25, 110)),
            "frequency_mhz": freq,
            "focus_mm": float(np.clip(self.focus_mm + rng.normal(0, v.focus_mm), 0.2 * depth, 0.9 * depth)),
            "tgc_db": tgc,
            "tgc_db_per_cm": float(max(0.0, self.tgc_db_per_cm + rng.normal(0, v.tgc_db_per_cm))),
            "grey_gamma": float(np.clip(self.grey_gamma * np.exp(rng.normal(0, v.grey_gamma)), 0.3, 3.0)),
            "noise_db": float(self.noise_db + rng.normal(0, v.noise_db)),
            "reverb_strength": float(np.clip(self.reverb_strength + rng.normal(0, v.reverb_strength), 0, 1)),
            "depth_mm": depth,
            "angle_deg": angle,
        }
        return self.model_copy(update=updates)

    def grey_lut(self) -> np.ndarray:
        """The 256-entry uint8 look-up table: log-compressed level (0..255) -> displayed grey."""
        x = np.linspace(0.0, 1.0, 256)
        knots = np.linspace(0.0, 1.0, len(self.grey_curve))
        y = np.interp(x, knots, np.asarray(self.grey_curve)) ** self.grey_gamma
        return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)


# Calibrated against the real GE LOGIQ E8/E9 + 9L captures in ../shared/data/real/ncls-examples
# (geometry measured from the captures' depth scale and sector edges; look tuned with
# docs/make_phantom_figures.py, see docs/phantom-rendering.md).
_INTERNAL = ScannerPreset(
    name=PresetName.INTERNAL,
    scanner="Phantom scanner A (GE LOGIQ-like)",
    probe="9L-like linear array, virtual convex",
    probe_kind=ProbeKind.TRAPEZOID,
    frequency_mhz=7.0,
    bandwidth=0.5,
    f_number=3.5,
    focus_mm=50.0,
    depth_mm=90.0,
    footprint_mm=44.6,
    angle_deg=57.0,
    gain_db=6.5,
    tgc_db=(-4.0, -10.0, -1.0, 0.0, 1.0, 2.0, 2.0, 1.0),
    tgc_db_per_cm=9.0,
    dynamic_range_db=45.0,
    grey_curve=(0.0, 0.04, 0.12, 0.24, 0.38, 0.54, 0.72, 0.91, 1.0),
    grey_gamma=1.0,
    noise_db=-110.0,
    reverb_strength=0.25,
    specular_gain=60.0,
    speckle_smoothing=0.4,
    tissue_texture_db=1.0,
    elevation_fwhm_mm=1.0,
    default_out_size_hw=(480, 640),
    variation=PresetVariation(depth_choices_mm=(80.0, 90.0, 90.0, 100.0)),
)

_INTERNAL_MICROCONVEX = _INTERNAL.model_copy(
    update={
        "name": PresetName.INTERNAL_MICROCONVEX,
        "probe": "micro-convex array, 8C-like",
        "probe_kind": ProbeKind.CURVED,
        "frequency_mhz": 6.5,
        "bandwidth": 0.6,
        "f_number": 2.2,
        "focus_mm": 40.0,
        "depth_mm": 85.0,
        "footprint_mm": 20.0,
        "radius_mm": 11.0,
        "angle_deg": 110.0,
        "gain_db": 11.0,
        # the look of the micro-convex probe as calibrated before the 9L got its sharper beam
        "tgc_db": (0.0, -1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 1.0),
        "tgc_db_per_cm": 6.0,
        "noise_db": -85.0,
        "reverb_strength": 0.6,
        "elevation_fwhm_mm": 2.5,
        "speckle_smoothing": 0.5,
        "tissue_texture_db": 2.5,
        "variation": PresetVariation(depth_choices_mm=(75.0, 85.0, 95.0)),
    }
)

# External and blind presets: other vendors' looks, but no pointed sector any more (issue #14: no real
# capture here has one; transfontanellar imaging uses linear arrays with a steered, widening field or
# convex arrays). External: another vendor's linear array in trapezoid mode, a little narrower than
# the 9L; blind: a handheld convex array (flat-ish, curved face, not a point).
_EXTERNAL = ScannerPreset(
    name=PresetName.EXTERNAL,
    scanner="Phantom scanner B",
    probe="linear array, trapezoid (virtual convex) mode",
    probe_kind=ProbeKind.TRAPEZOID,
    frequency_mhz=7.5,
    bandwidth=0.7,
    f_number=3.0,
    focus_mm=45.0,
    depth_mm=100.0,
    footprint_mm=38.0,
    angle_deg=50.0,
    gain_db=-5.0,
    tgc_db=(-2.0, 0.0, 1.0, 1.0, 1.0, 2.0, 3.0, 3.0),
    tgc_db_per_cm=8.5,
    dynamic_range_db=66.0,
    grey_curve=(0.0, 0.1, 0.22, 0.35, 0.48, 0.6, 0.72, 0.86, 1.0),
    grey_gamma=0.9,
    noise_db=-118.0,
    reverb_strength=0.25,
    specular_gain=30.0,
    speckle_smoothing=0.2,
    elevation_fwhm_mm=3.0,
    default_out_size_hw=(600, 800),
    variation=PresetVariation(depth_choices_mm=(90.0, 100.0, 110.0)),
)

_BLIND = ScannerPreset(
    name=PresetName.BLIND,
    scanner="Phantom handheld C",
    probe="handheld convex array",
    probe_kind=ProbeKind.CURVED,
    frequency_mhz=4.5,
    bandwidth=0.5,
    f_number=3.5,
    focus_mm=50.0,
    depth_mm=110.0,
    footprint_mm=14.0,  # the active aperture of a low-cost handheld (coarse lateral resolution)
    radius_mm=30.0,
    angle_deg=75.0,
    gain_db=4.0,
    tgc_db=(0.0,) * 8,
    tgc_db_per_cm=5.0,
    dynamic_range_db=50.0,
    grey_curve=(0.0, 0.06, 0.15, 0.28, 0.42, 0.57, 0.72, 0.86, 1.0),
    grey_gamma=1.1,
    noise_db=-70.0,
    reverb_strength=0.45,
    specular_gain=35.0,
    speckle_smoothing=0.0,
    elevation_fwhm_mm=4.0,
    default_out_size_hw=(480, 480),
    variation=PresetVariation(
        gain_db=4.0, dynamic_range_db=5.0, frequency_mhz=0.2, focus_mm=8.0, tgc_db=0.5, noise_db=4.0, reverb_strength=0.1
    ),
)

PRESETS: dict[str, ScannerPreset] = {
    p.name: p for p in (_INTERNAL, _INTERNAL_MICROCONVEX, _EXTERNAL, _BLIND)
}


def get_preset(name: str) -> ScannerPreset:
    """A built-in preset by name; raises :class:`NeocusError` naming the choices for an unknown name."""
    try:
        return PRESETS[str(name)]
    except KeyError:
        raise NeocusError(
            f"unknown scanner preset {name!r}", where="preset", hint="choose one of " + ", ".join(PRESETS)
        ) from None


def as_preset(preset: ScannerPreset | str) -> ScannerPreset:
    """``preset`` itself, or the built-in preset of that name (:func:`get_preset`)."""
    return get_preset(preset) if isinstance(preset, str) else preset
