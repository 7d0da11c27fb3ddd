"""Freehand and blind sweeps through the anterior fontanelle: a list of image planes plus motion.

Pure geometry: nothing here renders. A sweep is the probe resting on the anterior fontanelle and
tilting, frame by frame, through the brain:

* coronal sweep: the imaging plane is coronal (image +x = head +x, toward the patient's left) and the
  probe tilts about the left-right axis; ``tilt`` > 0 aims the beam ANTERIOR, < 0 POSTERIOR;
* sagittal sweep: the imaging plane is sagittal (image +x = head -y, toward posterior) and the probe
  tilts about the antero-posterior axis; ``tilt`` > 0 aims the beam toward the patient's LEFT.

These are the tilt conventions of :mod:`neocus.phantom.standard_views` (``StandardView.tilt_deg``), and
an untwisted, unrocked :func:`plane_at` is exactly its ``coronal_plane`` / ``sagittal_plane``.

Besides the tilt, a hand adds motion out of the intended sweep (all angles in degrees, lengths in mm):

* ``twist``: rotation about the beam axis (the plane turns oblique);
* ``rock``: rotation within the image plane (heel-toe / side-to-side rocking of the footprint);
* ``slide_lateral_mm`` / ``slide_elevation_mm``: the footprint slides on the skin along the image's
  lateral direction or across the plane.

Motion is built from a smooth random speed profile (uneven angular speed), pauses (a freehand
operator slows and stops near the standard views, a blind operator does not), hand tremor
(6-12 Hz angle and position noise), slow drift of twist / rock / slide, occasional motion-blurred
frames (rendered as the mean over the planes swept during the exposure) and dropped frames (frames
that never reached the recording; the next frame reports how many were lost before it).

Everything is drawn from the ``numpy.random.Generator`` given, in a fixed order: same seed, same sweep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from scipy.ndimage import gaussian_filter1d

from neocus.errors import NeocusError, parse_choice
from neocus.phantom.types import ImagePlane
from neocus.results import AsDict
from neocus.vocab import Plane, View


class SweepDirection(StrEnum):
    """Which way the probe tilts over the sweep (the order in which the views appear)."""

    ANTERIOR_TO_POSTERIOR = "anterior_to_posterior"
    POSTERIOR_TO_ANTERIOR = "posterior_to_anterior"
    RIGHT_TO_LEFT = "right_to_left"
    LEFT_TO_RIGHT = "left_to_right"


DIRECTIONS: dict[Plane, tuple[SweepDirection, SweepDirection]] = {
    # (direction of increasing tilt, direction of decreasing tilt)
    Plane.CORONAL: (SweepDirection.POSTERIOR_TO_ANTERIOR, SweepDirection.ANTERIOR_TO_POSTERIOR),
    Plane.SAGITTAL: (SweepDirection.RIGHT_TO_LEFT, SweepDirection.LEFT_TO_RIGHT),
}


# --------------------------------------------------------------------------------------------------
# Plane geometry
# --------------------------------------------------------------------------------------------------

# Untilted probe: the beam runs straight down (-z). Lateral directions follow the display conventions
# of neocus.phantom.types; the tilt axis is the lateral direction itself.
_BASE_LATERAL: dict[Plane, np.ndarray] = {
    Plane.CORONAL: np.array([1.0, 0.0, 0.0]),
    Plane.SAGITTAL: np.array([0.0, -1.0, 0.0]),
}
_DOWN = np.array([0.0, 0.0, -1.0])
# Direction the beam swings toward for positive tilt: anterior (coronal), patient's left (sagittal).
_TILT_TOWARD: dict[Plane, np.ndarray] = {
    Plane.CORONAL: np.array([0.0, 1.0, 0.0]),
    Plane.SAGITTAL: np.array([1.0, 0.0, 0.0]),
}


def _rotate(v: np.ndarray, axis: np.ndarray, deg: float) -> np.ndarray:
    """Rodrigues rotation of ``v`` about unit ``axis`` by ``deg`` degrees (right-hand rule)."""
    t = np.deg2rad(deg)
    axis = axis / np.linalg.norm(axis)
    return v * np.cos(t) + np.cross(axis, v) * np.sin(t) + axis * float(axis @ v) * (1.0 - np.cos(t))


def plane_at(
    apex: np.ndarray,
    plane: Plane,
    tilt_deg: float,
    *,
    twist_deg: float = 0.0,
    rock_deg: float = 0.0,
    slide_lateral_mm: float = 0.0,
    slide_elevation_mm: float = 0.0,
) -> ImagePlane:
    """The image plane of a probe at ``apex`` (head mm) tilted by ``tilt_deg`` in a coronal/sagittal sweep.

    Order of operations: tilt about the lateral axis, then twist about the (tilted) beam axis, then rock
    within the plane; the apex slides along the untilted lateral direction and across the plane.
    """
    plane = Plane(plane)
    lat0 = _BASE_LATERAL[plane]
    toward = _TILT_TOWARD[plane]
    t = np.deg2rad(tilt_deg)
    axial = _DOWN * np.cos(t) + toward * np.sin(t)
    lateral = lat0.copy()
    if twist_deg:
        lateral = _rotate(lateral, axial, twist_deg)
    if rock_deg:
        normal = np.cross(lateral, axial)
        lateral = _rotate(lateral, normal, rock_deg)
        axial = _rotate(axial, normal, rock_deg)
    elevation = np.cross(lat0, _DOWN)
    apex = np.asarray(apex, dtype=np.float64) + slide_lateral_mm * lat0 + slide_elevation_mm * elevation
    return ImagePlane(apex=apex, lateral=lateral, axial=axial)


def tilt_of(plane_obj: ImagePlane, plane: Plane) -> float:
    """The sweep tilt (degrees) of an image plane: the beam's angle from vertical toward the tilt direction."""
    plane = Plane(plane)
    ax = plane_obj.axial
    return float(np.rad2deg(np.arctan2(float(ax @ _TILT_TOWARD[plane]), float(ax @ _DOWN))))


# --------------------------------------------------------------------------------------------------
# Operator behaviour
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepStyle:
    """How an operator sweeps. Angles in degrees, lengths in mm, times in seconds.

    ``tilt_range_deg`` is the nominal extent (start and end drawn around it by ``range_jitter_deg``);
    ``aim_error_deg`` is a per-sweep systematic error of twist and rock (and of the range centre);
    ``speed_variation`` the log-std of the smooth speed profile; ``linger_depth`` how much the operator
    slows near the standard views (0 = not at all, blind sweeps); ``pauses`` the mean number of stops.
    """

    name: str
    duration_s: float
    fps: float
    tilt_range_deg: tuple[float, float]
    range_jitter_deg: float
    aim_error_deg: float
    speed_variation: float
    speed_correlation_s: float
    linger_depth: float
    linger_width_deg: float
    pauses: float
    pause_s: tuple[float, float]
    tremor_deg: float
    tremor_mm: float
    drift_deg: float
    drift_mm: float
    blur_probability: float
    drop_probability: float
    persistence_frames: float

    def with_frames(self, n_frames: int) -> SweepStyle:
        """The same style with the duration set so that about ``n_frames`` frames are recorded."""
        if n_frames < 2:
            raise NeocusError(f"a sweep needs at least 2 frames, got {n_frames}", where="n_frames")
        return replace(self, duration_s=n_frames / self.fps)


FREEHAND_CORONAL = SweepStyle(
    name="freehand",
    duration_s=4.2,
    fps=28.0,
    tilt_range_deg=(-45.0, 45.0),
    range_jitter_deg=4.0,
    aim_error_deg=2.0,
    speed_variation=0.45,
    speed_correlation_s=0.35,
    linger_depth=0.7,
    linger_width_deg=4.0,
    pauses=1.0,
    pause_s=(0.15, 0.5),
    tremor_deg=0.35,
    tremor_mm=0.15,
    drift_deg=2.0,
    drift_mm=0.8,
    blur_probability=0.03,
    drop_probability=0.015,
    persistence_frames=2.0,
)
FREEHAND_SAGITTAL = replace(FREEHAND_CORONAL, tilt_range_deg=(-35.0, 35.0), duration_s=3.9)

BLIND_CORONAL = replace(
    FREEHAND_CORONAL,
    name="blind",
    duration_s=2.8,
    range_jitter_deg=9.0,
    aim_error_deg=5.0,
    speed_variation=0.6,
    linger_depth=0.0,
    pauses=0.2,
    tremor_deg=0.8,
    tremor_mm=0.35,
    drift_deg=4.0,
    drift_mm=2.0,
    blur_probability=0.09,
    drop_probability=0.04,
    persistence_frames=3.0,
)
BLIND_SAGITTAL = replace(BLIND_CORONAL, tilt_range_deg=(-35.0, 35.0), duration_s=2.6)

class SweepStyleName(StrEnum):
    """How the probe is moved: by an operator looking for the views, or blind (no specialist)."""

    FREEHAND = "freehand"
    BLIND = "blind"


STYLES: dict[SweepStyleName, dict[Plane, SweepStyle]] = {
    SweepStyleName.FREEHAND: {Plane.CORONAL: FREEHAND_CORONAL, Plane.SAGITTAL: FREEHAND_SAGITTAL},
    SweepStyleName.BLIND: {Plane.CORONAL: BLIND_CORONAL, Plane.SAGITTAL: BLIND_SAGITTAL},
}


def sweep_style(style: SweepStyle | SweepStyleName | str, plane: Plane) -> SweepStyle:
    """The :class:`SweepStyle` of a named style in ``plane`` (a SweepStyle passes through)."""
    if isinstance(style, SweepStyle):
        return style
    return STYLES[parse_choice(SweepStyleName, style, what="style")][Plane(plane)]


# --------------------------------------------------------------------------------------------------
# Sweep plan
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameMotion(AsDict):
    """Probe pose and motion of one recorded frame (angles in degrees, lengths in mm)."""

    index: int  # frame index in the recorded sequence
    time_s: float  # seconds from the first recorded frame
    tilt_deg: float
    twist_deg: float
    rock_deg: float
    slide_lateral_mm: float
    slide_elevation_mm: float
    angular_speed_deg_s: float  # signed d(tilt)/dt, tremor included
    paused: bool  # the operator holds the probe still (nominal speed ~0)
    blur_deg: float  # tilt span swept during the exposure (0 = sharp frame)
    dropped_before: int  # frames lost between the previous recorded frame and this one


@dataclass(frozen=True, eq=False)
class SweepPlan:
    """A sweep ready to render: one plane (plus motion metadata) per recorded frame."""

    plane: Plane
    direction: SweepDirection
    style: str
    fps: float
    apex: np.ndarray
    motion: tuple[FrameMotion, ...]

    @property
    def n_frames(self) -> int:
        return len(self.motion)

    def frame_plane(self, i: int, *, tilt_offset_deg: float = 0.0) -> ImagePlane:
        """The (central) image plane of recorded frame ``i``, tilted by ``tilt_offset_deg`` (blur spans)."""
        m = self.motion[i]
        return plane_at(
            self.apex,
            self.plane,
            m.tilt_deg + tilt_offset_deg,
            twist_deg=m.twist_deg,
            rock_deg=m.rock_deg,
            slide_lateral_mm=m.slide_lateral_mm,
            slide_elevation_mm=m.slide_elevation_mm,
        )

    @property
    def planes(self) -> list[ImagePlane]:
        return [self.frame_plane(i) for i in range(self.n_frames)]

    def exposure_planes(self, i: int, *, n: int = 3) -> list[ImagePlane]:
        """Planes to average for frame ``i``: the central plane alone when sharp, ``n`` planes over the blur span."""
        m = self.motion[i]
        if m.blur_deg <= 0:
            return [self.frame_plane(i)]
        return [self.frame_plane(i, tilt_offset_deg=float(o)) for o in np.linspace(-0.5, 0.5, n) * m.blur_deg]


def _smooth_noise(rng: np.random.Generator, n: int, sigma_frames: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit standard deviation (0 when ``n`` < 2)."""
    raw = rng.standard_normal(n + 8 * int(sigma_frames + 1))
    s = gaussian_filter1d(raw, max(sigma_frames, 1e-3), mode="wrap")[: n]
    sd = float(s.std())
    return (s - s.mean()) / sd if sd > 0 and n > 1 else np.zeros(n)


def _tremor(rng: np.random.Generator, t: np.ndarray, amplitude: float) -> np.ndarray:
    """Physiological hand tremor: a few 6-12 Hz sinusoids plus white jitter, RMS ~ ``amplitude``."""
    out = np.zeros_like(t)
    for _ in range(3):
        f = rng.uniform(6.0, 12.0)
        out += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.5, 1.0)
    out += 0.5 * rng.standard_normal(len(t))
    rms = float(np.sqrt(np.mean(out**2))) or 1.0
    return out / rms * amplitude


#: fraction of the tilt between two neighbouring views, next to each view, over which the operator
#: does not turn the probe (the turn happens in between)
TWIST_FLAT = 0.3


def _follow_twist(tilt: np.ndarray, view_tilts: Mapping[View, float], view_twists: Mapping[View, float]) -> np.ndarray:
    """The twist (degrees) an operator adds at each tilt to follow the views' ideal twists: a smooth step
    between neighbouring views, flat within ``TWIST_FLAT`` of each (the plane turns between views, so
    every view's window keeps its width), held beyond the outermost."""
    known = sorted((view_tilts[v], view_twists[v]) for v in view_twists if v in view_tilts)
    if not known:
        return np.zeros_like(tilt)
    kt = np.array([k[0] for k in known])
    kw = np.array([k[1] for k in known])
    if len(kt) == 1:
        return np.full_like(tilt, kw[0])
    i = np.clip(np.searchsorted(kt, tilt) - 1, 0, len(kt) - 2)
    u = np.clip((tilt - kt[i]) / np.maximum(kt[i + 1] - kt[i], 1e-9), 0.0, 1.0)
    u = np.clip((u - TWIST_FLAT) / (1.0 - 2.0 * TWIST_FLAT), 0.0, 1.0)
    return kw[i] + (kw[i + 1] - kw[i]) * u * u * (3.0 - 2.0 * u)


def plan_sweep(
    plane: Plane,
    apex: np.ndarray,
    *,
    style: SweepStyle | SweepStyleName | str = SweepStyleName.FREEHAND,
    direction: SweepDirection | None = None,
    view_tilts: Mapping[View, float] | None = None,
    n_frames: int | None = None,
    view_twists: Mapping[View, float] | None = None,
    rng: np.random.Generator,
) -> SweepPlan:
    """Plan one sweep: the probe pose of every recorded frame.

    ``view_tilts`` (standard view -> its ideal tilt in this sweep, e.g. from the anatomy's ideal planes
    through :func:`tilt_of`) tells a freehand operator where to slow down and pause; the sweep range is
    widened, if needed, to pass every one of them by a few degrees (unless the style's aim error
    pushes it past them: blind sweeps may miss views). ``n_frames`` sets the duration (about that
    many recorded frames; dropped frames make it slightly fewer). ``direction`` is drawn when None.
    ``view_twists`` (standard view -> its ideal twist about the beam, :attr:`StandardView.twist_deg`)
    makes the operator follow the anatomy: the twist goes smoothly from view to view over the tilt (held
    beyond the outermost), so the plane turns to follow the lateral ventricles in a sagittal sweep.
    """
    plane = Plane(plane)
    style = sweep_style(style, plane)
    if n_frames is not None:
        style = style.with_frames(n_frames)
    view_tilts = dict(view_tilts or {})
    inc, dec = DIRECTIONS[plane]
    if direction is None:
        direction = inc if rng.random() < 0.5 else dec
    if direction not in (inc, dec):
        raise NeocusError(f"{direction} does not belong to a {plane} sweep", where="direction", hint=f"use {inc} or {dec}")

    # Range: nominal extent, widened to include every view, jittered (and off-centre for aim errors).
    lo, hi = style.tilt_range_deg
    if view_tilts:
        lo = min(lo, min(view_tilts.values()) - 6.0)
        hi = max(hi, max(view_tilts.values()) + 6.0)
    centre_error = rng.normal(0.0, style.aim_error_deg)
    lo = lo + rng.normal(0.0, style.range_jitter_deg) + centre_error
    hi = hi + rng.normal(0.0, style.range_jitter_deg) + centre_error
    start, end = (lo, hi) if direction is inc else (hi, lo)

    n_total = max(2, int(round(style.duration_s * style.fps)))
    fps = style.fps
    t = np.arange(n_total) / fps
    corr = style.speed_correlation_s * fps

    # Pauses: a freehand operator stops at a view, a blind one anywhere. Each is a run of frames at
    # one progress value, inserted into the moving part of the sweep.
    pauses: list[tuple[float, int]] = []  # (progress where the probe stops, frames held)
    targets = list(view_tilts.values())
    for _ in range(int(rng.poisson(style.pauses))):
        if targets and style.linger_depth > 0:
            vt = targets[int(rng.integers(len(targets)))]
            at = float(np.clip((vt - start) / (end - start), 0.0, 1.0))
        else:
            at = float(rng.uniform(0.05, 0.95))
        pauses.append((at, max(1, int(round(rng.uniform(*style.pause_s) * fps)))))
    if n_total - sum(n for _, n in pauses) < max(2, n_total // 2):
        pauses = []  # too short a sweep to stop in
    n_move = n_total - sum(n for _, n in pauses)

    # Smooth random speed profile, slowed near the views a freehand operator is looking for.
    speed = np.exp(style.speed_variation * _smooth_noise(rng, n_move, corr))
    progress = np.concatenate([[0.0], np.cumsum(speed[:-1])])
    progress /= progress[-1]
    if style.linger_depth > 0 and view_tilts:
        tilt_nominal = start + progress * (end - start)
        slow = np.ones(n_move)
        for vt in view_tilts.values():
            slow *= 1.0 - style.linger_depth * np.exp(-0.5 * ((tilt_nominal - vt) / style.linger_width_deg) ** 2)
        speed = speed * np.clip(slow, 0.05, 1.0)
        progress = np.concatenate([[0.0], np.cumsum(speed[:-1])])
        progress /= progress[-1]
    held = np.zeros(n_move, dtype=np.int64)  # extra frames held after each moving frame
    for at, n in pauses:
        held[min(int(np.searchsorted(progress, at)), n_move - 1)] += n
    index = np.repeat(np.arange(n_move), 1 + held)
    paused = np.concatenate([[False] * 1 + [True] * int(h) for h in held])
    progress = progress[index]
    tilt_nominal = start + progress * (end - start)

    # Hand: tremor on every degree of freedom, slow drift and a systematic aim error out of plane.
    drift_sigma = 1.2 * fps
    tilt = tilt_nominal + _tremor(rng, t, style.tremor_deg)
    twist = rng.normal(0.0, style.aim_error_deg) + style.drift_deg * _smooth_noise(rng, n_total, drift_sigma)
    twist = twist + _tremor(rng, t, 0.5 * style.tremor_deg)
    twist = twist + _follow_twist(tilt_nominal, view_tilts, view_twists or {})
    rock = rng.normal(0.0, 0.5 * style.aim_error_deg) + 0.5 * style.drift_deg * _smooth_noise(rng, n_total, drift_sigma)
    rock = rock + _tremor(rng, t, 0.5 * style.tremor_deg)
    slide_lat = style.drift_mm * _smooth_noise(rng, n_total, drift_sigma) + _tremor(rng, t, style.tremor_mm)
    slide_elev = style.drift_mm * _smooth_noise(rng, n_total, drift_sigma) + _tremor(rng, t, style.tremor_mm)
    omega = np.gradient(tilt, t) if n_total > 1 else np.zeros(1)

    # Blurred frames: more likely when moving fast; span = tilt covered over the persistence time.
    mean_speed = float(np.mean(np.abs(omega))) or 1.0
    p_blur = np.clip(style.blur_probability * np.abs(omega) / mean_speed, 0.0, 0.5)
    blurred = rng.random(n_total) < p_blur
    blur_deg = np.where(blurred, np.maximum(np.abs(omega) / fps * style.persistence_frames, 1.0), 0.0)
    # Dropped frames never reach the recording (never the first or the last).
    dropped = rng.random(n_total) < style.drop_probability
    dropped[0] = dropped[-1] = False

    pose = {"tilt_deg": tilt, "twist_deg": twist, "rock_deg": rock, "slide_lateral_mm": slide_lat,
            "slide_elevation_mm": slide_elev, "angular_speed_deg_s": omega, "blur_deg": blur_deg}
    return SweepPlan(
        plane=plane,
        direction=direction,
        style=style.name,
        fps=fps,
        apex=np.asarray(apex, dtype=np.float64),
        motion=_recorded_motion(t, pose, paused, dropped),
    )


def _recorded_motion(
    t: np.ndarray, pose: dict[str, np.ndarray], paused: np.ndarray, dropped: np.ndarray
) -> tuple[FrameMotion, ...]:
    """One :class:`FrameMotion` per recorded frame: dropped frames are left out and counted on the next."""
    motion: list[FrameMotion] = []
    lost = 0
    for k in range(len(t)):
        if dropped[k]:
            lost += 1
            continue
        motion.append(
            FrameMotion(
                index=len(motion),
                time_s=float(t[k]),
                tilt_deg=float(pose["tilt_deg"][k]),
                twist_deg=float(pose["twist_deg"][k]),
                rock_deg=float(pose["rock_deg"][k]),
                slide_lateral_mm=float(pose["slide_lateral_mm"][k]),
                slide_elevation_mm=float(pose["slide_elevation_mm"][k]),
                angular_speed_deg_s=float(pose["angular_speed_deg_s"][k]),
                paused=bool(paused[k]),
                blur_deg=float(pose["blur_deg"][k]),
                dropped_before=lost,
            )
        )
        lost = 0
    return tuple(motion)
