"""Transabdominal B-mode images of the fetal head phantom, with exact label maps and truth.

:func:`simulate_fetal_image` draws one case (sizes, surroundings, scanner settings) and renders it
with the neonatal phantom's B-mode engine (:func:`neocus.phantom.bmode.render_plane`: speckle,
specular echoes, attenuation and the skull's acoustic shadow, the focused beam, TGC, log compression,
scan conversion). The probe is a curvilinear transabdominal array; three looks
(:class:`FetalLook`) stand for different scanners, and each case varies its settings
(:meth:`ScannerPreset.vary`), depth and sector angle (zoomed on the head, as sonographers do), the
maternal wall, fluid, placenta, fetal body parts, skull attenuation, echo levels and the head's pose.
Same seed, same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from neocus.errors import parse_choice
from neocus.fetal.phantom_anatomy import FetalHeadModel, FetalScene, HeadPose
from neocus.fetal.phantom_params import FetalHeadParams, sample_head_params
from neocus.phantom.acoustics import TissueAcoustics, default_acoustics
from neocus.phantom.bmode import render_plane
from neocus.phantom.presets import PresetVariation, ProbeKind, ScannerPreset
from neocus.phantom.probe_geometry import PixelGrid, ProbeGeometry
from neocus.phantom.tissues import Tissue
from neocus.phantom.types import ImagePlane
from neocus.results import AsDict
from neocus.vocab import FetalCondition, FetalPlane, FetalStructure

DEFAULT_OUT_SIZE_HW = (432, 576)
#: the fetal skull is thinner and less mineralised than adult bone (adult cortical bone ~ 6-8 MRayl);
#: 3 MRayl reflects ~1/3 of the amplitude, so the far hemisphere stays visible behind the near skull as
#: in real second- and third-trimester images
FETAL_SKULL_IMPEDANCE_MRAYL = 3.0
_PLANE = ImagePlane(apex=np.zeros(3), lateral=np.array([1.0, 0.0, 0.0]), axial=np.array([0.0, 1.0, 0.0]))


class FetalLook(StrEnum):
    """Scanner looks of the transabdominal presets."""

    SMOOTH = "smooth"  # high-end cart scanner: compounding, wide dynamic range
    GRAINY = "grainy"  # older cart scanner: raw speckle, harder grey map
    PORTABLE = "portable"  # portable scanner: low frequency, noisy, little processing


_BASE = ScannerPreset(
    name="fetal_smooth", scanner="Phantom obstetric scanner A", probe="curvilinear abdominal array, C1-5-like",
    probe_kind=ProbeKind.CURVED, frequency_mhz=4.0, bandwidth=0.7, f_number=2.5, focus_mm=90.0, depth_mm=140.0,
    footprint_mm=60.0, angle_deg=60.0, radius_mm=50.0, gain_db=10.0, tgc_db=(0.0, -4.0, -2.0, 0.0, 1.0, 2.0, 2.0, 2.0),
    tgc_db_per_cm=3.5, dynamic_range_db=55.0, grey_curve=(0.0, 0.03, 0.09, 0.2, 0.35, 0.52, 0.7, 0.88, 1.0),
    noise_db=-120.0, reverb_strength=0.15, specular_gain=50.0, speckle_smoothing=0.55, tissue_texture_db=2.0,
    elevation_fwhm_mm=0.0, default_out_size_hw=DEFAULT_OUT_SIZE_HW,
    variation=PresetVariation(gain_db=2.5, dynamic_range_db=4.0, frequency_mhz=0.3, focus_mm=10.0, tgc_db=1.5),
)
FETAL_PRESETS: dict[FetalLook, ScannerPreset] = {
    FetalLook.SMOOTH: _BASE,
    FetalLook.GRAINY: _BASE.model_copy(update={
        "name": "fetal_grainy", "scanner": "Phantom obstetric scanner B", "bandwidth": 0.55, "speckle_smoothing": 0.15,
        "dynamic_range_db": 48.0, "grey_gamma": 1.25, "tissue_texture_db": 3.0, "specular_gain": 40.0}),
    FetalLook.PORTABLE: _BASE.model_copy(update={
        "name": "fetal_portable", "scanner": "Phantom portable scanner C", "frequency_mhz": 3.2, "bandwidth": 0.5,
        "f_number": 3.2, "speckle_smoothing": 0.0, "noise_db": -95.0, "reverb_strength": 0.35, "dynamic_range_db": 45.0,
        "grey_curve": (0.0, 0.06, 0.15, 0.28, 0.42, 0.57, 0.72, 0.86, 1.0)}),
}


@dataclass(frozen=True)
class FetalTruth(AsDict):
    """True sizes of the case (mm). ``hc_mm`` is this plane's outer skull perimeter; ``tcd_mm``,
    ``cisterna_magna_mm`` and ``atrium_mm`` are the head's, whether or not this plane shows them."""

    ga_weeks: float
    plane: FetalPlane
    condition: FetalCondition
    hc_mm: float
    bpd_outer_inner_mm: float
    ofd_mm: float
    tcd_mm: float
    tcd_centile: float
    cisterna_magna_mm: float
    atrium_mm: float


@dataclass(frozen=True, eq=False)
class FetalPhantomImage(AsDict):
    """One rendered case: the B-mode image, its label map (:data:`LABEL_IDS`), the truth and how it was made."""

    image: np.ndarray = field(metadata={"to_dict": False})  # uint8 [H, W]
    labels: np.ndarray = field(metadata={"to_dict": False})  # uint8 [H, W]
    region: np.ndarray = field(metadata={"to_dict": False})  # bool [H, W]: inside the sector
    pixel_mm: float
    truth: FetalTruth
    params: FetalHeadParams
    pose: HeadPose
    look: FetalLook
    preset: dict
    grid: PixelGrid = field(metadata={"to_dict": False})  # plane mm <-> pixels


def fetal_acoustics(skull_db_cm_mhz: float) -> TissueAcoustics:
    """The renderer's tissue table with the (ossified) fetal skull's attenuation."""
    base = default_acoustics()
    att = base.attenuation_db_cm_mhz.copy()
    att[int(Tissue.SKULL)] = skull_db_cm_mhz
    imp = base.impedance_mrayl.copy()
    imp[int(Tissue.SKULL)] = FETAL_SKULL_IMPEDANCE_MRAYL
    return TissueAcoustics(attenuation_db_cm_mhz=att, impedance_mrayl=imp, scatterer_density=base.scatterer_density)


def _extent(a: float, b: float, angle: float) -> tuple[float, float]:
    """Half-extents (x, d) of an ellipse with semi-axes a (along ``angle``) and b."""
    c, s = math.cos(angle), math.sin(angle)
    return math.hypot(a * c, b * s), math.hypot(a * s, b * c)


def _scene_and_preset(p: FetalHeadParams, look: FetalLook, *, rng: np.random.Generator) -> tuple[FetalScene, ScannerPreset]:
    preset = FETAL_PRESETS[look].vary(rng=rng)
    radius = float(rng.uniform(40.0, 60.0))
    skin = float(rng.uniform(1.5, 3.0))
    fat = skin + float(rng.uniform(2.0, 15.0))
    muscle = fat + float(rng.uniform(3.0, 10.0))
    uterus = muscle + float(rng.uniform(3.0, 10.0))
    placenta = None
    top = uterus
    if rng.random() < 0.5:
        thick = float(rng.uniform(12.0, 30.0))
        placenta = (float(rng.uniform(-40.0, 40.0)), float(rng.choice([-1.0, 1.0])), thick)
        top += thick * 0.5
    angle = float(rng.uniform(0.0, 2.0 * math.pi))
    a = p.semi_major_mm + 2.0
    hx, hd = _extent(a, p.semi_minor_mm + 2.0, angle)
    dc = top + float(rng.uniform(2.0, 15.0)) + hd
    depth = dc + hd + float(rng.uniform(5.0, 25.0))
    xc = float(rng.uniform(-0.2, 0.2)) * hx
    half = math.asin(min(0.95, (abs(xc) + hx * float(rng.uniform(1.05, 1.35))) / (radius + dc)))
    angle_deg = float(np.clip(math.degrees(2.0 * half), 30.0, 90.0))
    geom = ProbeGeometry(kind=ProbeKind.CURVED, footprint_mm=preset.footprint_mm, angle_deg=angle_deg, depth_mm=depth, radius_mm=radius)
    t = np.linspace(0.0, 2.0 * math.pi, 72, endpoint=False)
    pose = HeadPose(xc, dc, angle, bool(rng.random() < 0.5))
    ex, ed = pose.to_plane(a * np.cos(t), (p.semi_minor_mm + 2.0) * np.sin(t))
    while not geom.contains(ex, ed).all() and geom.angle_deg < 120.0:  # widen the sector until the head fits
        geom = ProbeGeometry(kind=geom.kind, footprint_mm=geom.footprint_mm, angle_deg=geom.angle_deg + 5.0, depth_mm=geom.depth_mm, radius_mm=radius)
    freq = float(np.clip(preset.frequency_mhz * (1.15 - depth / 400.0), 2.0, 6.0))
    preset = preset.model_copy(update={"radius_mm": radius, "angle_deg": geom.angle_deg, "depth_mm": depth,
                                       "frequency_mhz": freq, "focus_mm": float(np.clip(dc + rng.normal(0, 10), 0.3 * depth, 0.9 * depth))})
    bodies = []
    for _ in range(int(rng.integers(1, 4))):
        phi = float(rng.uniform(0, 2 * math.pi))
        sa, sb = float(rng.uniform(0.5, 1.2)) * a, float(rng.uniform(0.3, 0.7)) * a
        dist = a + sb * float(rng.uniform(0.6, 1.0))
        bodies.append((xc + dist * math.cos(phi), dc + dist * math.sin(phi), sa, sb, phi + math.pi / 2))
    bone = None
    if bodies and rng.random() < 0.4:
        bx, bd, sa, _, ph = bodies[0]
        bone = (bx - 0.6 * sa * math.cos(ph), bd - 0.6 * sa * math.sin(ph), bx + 0.6 * sa * math.cos(ph), bd + 0.6 * sa * math.sin(ph))
    n_streaks = int(rng.integers(15, 46))
    streaks = []
    for _ in range(n_streaks):
        u0, v0 = float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.8, 0.8))
        ang, ln = float(rng.uniform(0, math.pi)), float(rng.uniform(0.03, 0.15))
        streaks.append((u0, v0, u0 + ln * math.cos(ang), v0 + ln * math.sin(ang), float(rng.uniform(1.0, 3.5))))
    scene = FetalScene(
        pose=pose, probe_radius_mm=radius, wall_layers_mm=(skin, fat, muscle, uterus),
        wall_ripple=(float(rng.uniform(0.0, 3.0)), float(rng.uniform(40.0, 120.0)), float(rng.uniform(0, 2 * math.pi))),
        placenta=placenta, far_wall_mm=dc + hd + float(rng.uniform(1.0, 12.0)), bodies=tuple(bodies), bone=bone,
        streaks=tuple(streaks), echo_scale=tuple(float(x) for x in np.exp(rng.normal(0.0, 0.25, len(FetalStructure)))),
    )
    return scene, preset


def simulate_fetal_image(
    ga_weeks: float,
    *,
    plane: FetalPlane | str,
    condition: FetalCondition | str,
    look: FetalLook | str = FetalLook.SMOOTH,
    out_size_hw: tuple[int, int] = DEFAULT_OUT_SIZE_HW,
    rng: np.random.Generator,
) -> FetalPhantomImage:
    """Draw and render one phantom case (see the module docstring)."""
    look = parse_choice(FetalLook, look, what="look")
    params = sample_head_params(ga_weeks, plane=plane, condition=condition, rng=rng)
    scene, preset = _scene_and_preset(params, look, rng=rng)
    model = FetalHeadModel(params, scene)
    skull_att = float(rng.uniform(2.0, 6.0))
    frame = render_plane(model, _PLANE, preset, out_size_hw=tuple(out_size_hw), acoustics=fetal_acoustics(skull_att), rng=rng)
    from neocus.fetal.norms import FetalMeasure, centile_of

    tcd_centile = centile_of(params.tcd_mm, measure=FetalMeasure.TCD, ga_weeks=min(params.ga_weeks, 36.0))
    truth = FetalTruth(
        ga_weeks=params.ga_weeks, plane=params.plane, condition=params.condition, hc_mm=params.plane_hc_mm,
        bpd_outer_inner_mm=2 * params.semi_minor_mm - params.skull_mm, ofd_mm=2 * params.semi_major_mm,
        tcd_mm=params.tcd_mm, tcd_centile=tcd_centile, cisterna_magna_mm=params.cisterna_magna_mm, atrium_mm=params.atrium_mm,
    )
    return FetalPhantomImage(
        image=frame.image, labels=frame.part, region=frame.mask, pixel_mm=float(frame.pixel_spacing_mm[0]),
        truth=truth, params=params, pose=scene.pose, look=look,
        preset=preset.model_dump(mode="json") | {"skull_attenuation_db_cm_mhz": skull_att}, grid=frame.grid,
    )
