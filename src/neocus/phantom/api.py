"""The phantom's Python API: subjects, single planes, standard-view stills, jittered neighbours,
sweeps and whole cases, each with exact ground truth.

For training-time generation (no files)::

    from neocus.phantom import new_subject, standard_still, jittered_neighbours, get_preset
    rng = np.random.default_rng(7)
    subject = new_subject(7, population="internal")
    preset = get_preset("internal").vary(rng=rng)
    still = standard_still(subject, View.TVV, preset, out_size_hw=(256, 256), rng=rng)
    still.image, still.truth.boxes, still.findings, still.quality
    near = jittered_neighbours(subject, View.TVV, preset, n=4, out_size_hw=(256, 256), rng=rng)

:func:`simulate_case` makes everything ``neocus simulate`` writes for one case; :mod:`neocus.phantom.export`
writes it. Everything random is drawn from the generator passed in, in a fixed order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from neocus.errors import parse_choice
from neocus.phantom.bmode import RenderedFrame, render_plane
from neocus.phantom.field_of_view import fit_depth
from neocus.phantom.parts import LATERAL_VENTRICLE_PARTS, VENTRICLE_PARTS, part_side
from neocus.phantom.presets import PresetName, ScannerPreset, as_preset, get_preset
from neocus.phantom.standard_views import StandardView, standard_views, view_qualities, view_quality
from neocus.phantom.subject import NON_SEVERE_CASE_TYPES, SEVERE_CASE_TYPES, CaseType, Population, Subject, sample_subject
from neocus.phantom.sweep import SweepPlan, SweepStyleName, plan_sweep, plane_at, sweep_style
from neocus.phantom.truth import (
    MIN_BOX_AREA_MM2,
    FrameTruth,
    ViewWindow,
    frame_truth,
    still_findings,
    ventricle_mask,
    view_windows,
    visible_lesion_kinds,
)
from neocus.phantom.types import ImagePlane
from neocus.vocab import LESION_FINDING, VIEW_PLANE, VIEWS_IN_SWEEP_ORDER, Finding, LesionKind, Plane, View, views_of_plane

# --------------------------------------------------------------------------------------------------
# Operator error of a still and the spread of training-time neighbours (degrees, mm; standard deviations)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaneJitter:
    """Random pose error around a plane: tilt (sweep direction), twist (about the beam), rock (in plane), slide."""

    tilt_deg: float
    twist_deg: float
    rock_deg: float
    slide_mm: float

    def apply(self, view: StandardView, apex: np.ndarray, *, rng: np.random.Generator) -> ImagePlane:
        plane = VIEW_PLANE[view.view]
        return plane_at(
            apex,
            plane,
            view.tilt_deg + rng.normal(0.0, self.tilt_deg),
            twist_deg=rng.normal(0.0, self.twist_deg),
            rock_deg=rng.normal(0.0, self.rock_deg),
            slide_lateral_mm=rng.normal(0.0, self.slide_mm),
            slide_elevation_mm=rng.normal(0.0, self.slide_mm),
        )


STILL_ERROR = PlaneJitter(tilt_deg=1.5, twist_deg=1.5, rock_deg=1.5, slide_mm=0.4)
"""An expert's still: close to the ideal plane, never exactly on it."""

NEIGHBOUR_JITTER = PlaneJitter(tilt_deg=4.0, twist_deg=3.0, rock_deg=3.0, slide_mm=1.0)
"""Training-time neighbours: near misses around the ideal plane (their quality says how near)."""

BLIND_STILL_ERROR = PlaneJitter(tilt_deg=4.0, twist_deg=5.0, rock_deg=3.0, slide_mm=1.2)
"""A still picked from a blind sweep by a reader afterwards: the sweep rarely passed the ideal plane."""


# --------------------------------------------------------------------------------------------------
# Subjects and single planes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PopulationMix:
    """Who a hospital scans: GA distribution, share of severe lesion patterns and the lesion mix.

    ``severe_fraction`` is the probability of drawing a *severe* case pattern; the case label is then
    read off the built model, so near-threshold cases can land on the other side. Weights are
    relative frequencies of the case patterns of :mod:`neocus.phantom.subject` within each group.
    """

    population: Population
    severe_fraction: float
    severe_weights: dict[CaseType, float]
    non_severe_weights: dict[CaseType, float]

    def draw_case_type(self, *, severe: bool | None = None, rng: np.random.Generator) -> CaseType:
        if severe is None:
            severe = bool(rng.random() < self.severe_fraction)
        weights = self.severe_weights if severe else self.non_severe_weights
        types = [t for t in (SEVERE_CASE_TYPES if severe else NON_SEVERE_CASE_TYPES) if weights.get(t, 0) > 0]
        p = np.array([weights[t] for t in types], dtype=np.float64)
        return types[int(rng.choice(len(types), p=p / p.sum()))]


class PopulationName(StrEnum):
    """The built-in populations (who a hospital scans), see :data:`POPULATIONS`."""

    INTERNAL = "internal"
    EXTERNAL = "external"
    BLIND = "blind"


POPULATIONS: dict[PopulationName, PopulationMix] = {
    # A tertiary NICU: many extremely preterm babies, haemorrhage-dominated lesion mix.
    PopulationName.INTERNAL: PopulationMix(
        population=Population(ga_min=24.0, ga_max=42.0, preterm_fraction=0.6),
        severe_fraction=0.3,
        severe_weights={CaseType.IVH_DILATED: 0.28, CaseType.PVHI: 0.18, CaseType.PVL_FLARE: 0.12,
                        CaseType.CYSTIC_PVL: 0.20, CaseType.HYDROCEPHALUS: 0.22},
        non_severe_weights={CaseType.NORMAL: 0.50, CaseType.GMH: 0.14, CaseType.IVH: 0.14,
                            CaseType.VENTRICULAR_DILATION: 0.12, CaseType.EPENDYMAL_CYST: 0.10},
    ),
    # A second hospital: older (more late-preterm and term) babies, fewer bleeds, more white-matter
    # injury and referred hydrocephalus, more normal scans.
    PopulationName.EXTERNAL: PopulationMix(
        population=Population(ga_min=27.0, ga_max=42.0, preterm_fraction=0.35, hc_sd_scale=1.0),
        severe_fraction=0.2,
        severe_weights={CaseType.IVH_DILATED: 0.18, CaseType.PVHI: 0.08, CaseType.PVL_FLARE: 0.20,
                        CaseType.CYSTIC_PVL: 0.26, CaseType.HYDROCEPHALUS: 0.28},
        non_severe_weights={CaseType.NORMAL: 0.62, CaseType.GMH: 0.08, CaseType.IVH: 0.08,
                            CaseType.VENTRICULAR_DILATION: 0.14, CaseType.EPENDYMAL_CYST: 0.08},
    ),
    # Blind sweeps in a setting without specialists: moderately preterm to term babies.
    PopulationName.BLIND: PopulationMix(
        population=Population(ga_min=28.0, ga_max=42.0, preterm_fraction=0.5, hc_sd_scale=1.0),
        severe_fraction=0.25,
        severe_weights={CaseType.IVH_DILATED: 0.25, CaseType.PVHI: 0.12, CaseType.PVL_FLARE: 0.15,
                        CaseType.CYSTIC_PVL: 0.20, CaseType.HYDROCEPHALUS: 0.28},
        non_severe_weights={CaseType.NORMAL: 0.55, CaseType.GMH: 0.12, CaseType.IVH: 0.12,
                            CaseType.VENTRICULAR_DILATION: 0.13, CaseType.EPENDYMAL_CYST: 0.08},
    ),
}


def new_subject(
    seed: np.random.SeedSequence | int,
    *,
    population: PopulationName | str = PopulationName.INTERNAL,
    severe: bool | None = None,
    case_type: CaseType | str | None = None,
) -> Subject:
    """A random subject (anatomy + lesions) of a population.

    ``severe`` forces the group of the case pattern (the label itself follows the built model);
    ``case_type`` forces the pattern.
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    rng = np.random.default_rng(ss)
    mix = POPULATIONS[parse_choice(PopulationName, population, what="population")]
    ct = CaseType(case_type) if case_type is not None else mix.draw_case_type(rng=rng, severe=severe)
    return sample_subject(int(rng.integers(0, 2**31 - 1)), case_type=ct, population=mix.population)


VENTRICULAR_STATE_KINDS = (LesionKind.VENTRICULAR_DILATION, LesionKind.HYDROCEPHALUS)


def ventricular_state_findings(subject: Subject) -> frozenset[Finding]:
    """Findings of the subject's *measured* ventricular state (dilation / hydrocephalus), if any."""
    return frozenset(LESION_FINDING[k] for k in subject.lesion_kinds if k in VENTRICULAR_STATE_KINDS)


def render(
    subject: Subject, plane: ImagePlane, preset: ScannerPreset | str, *, out_size_hw: tuple[int, int] | None = None,
    rng: np.random.Generator,
) -> RenderedFrame:
    """Render one plane of a subject (``out_size_hw`` = (H, W); label maps in ``frame.part`` / ``frame.lesion``)."""
    preset = as_preset(preset)
    return render_plane(subject.head, plane, preset, rng=rng, out_size_hw=out_size_hw)


def truth_of(
    subject: Subject, frame: RenderedFrame, plane_kind: Plane, *, views: dict[View, StandardView] | None = None
) -> FrameTruth:
    """Ground truth of a rendered frame: boxes, lesion boxes, quality for each view of its plane."""
    views = views if views is not None else subject_views(subject)
    mine = {v: sv for v, sv in views.items() if VIEW_PLANE[v] is plane_kind}
    quality = view_qualities(subject.head, frame.plane, views=mine)
    head = subject.head
    return frame_truth(
        frame.part,
        frame.lesion,
        frame.pixel_spacing_mm,
        lambda p: head.part_structure(p, plane_kind),
        part_side,
        quality,
    )


def subject_views(subject: Subject) -> dict[View, StandardView]:
    """The ideal planes of a subject's six standard views (cached in ``subject.views_cache``)."""
    if not subject.views_cache:
        subject.views_cache.update(standard_views(subject.head))
    return subject.views_cache


# --------------------------------------------------------------------------------------------------
# Stills
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Still:
    """A rendered still of (or near) a standard view, with its ground truth.

    ``quality``: the plane's quality score as ``view``; ``findings``: image findings (vocab rules,
    :func:`neocus.phantom.truth.still_findings`); ``ventricles``: bool mask of ventricle pixels.
    """

    view: View
    frame: RenderedFrame
    truth: FrameTruth
    quality: float
    findings: frozenset[Finding]
    ventricles: np.ndarray

    @property
    def image(self) -> np.ndarray:
        return self.frame.image

    @property
    def lesion(self) -> np.ndarray:
        return self.frame.lesion


def _still(subject: Subject, view: View, frame: RenderedFrame, views: dict[View, StandardView]) -> Still:
    """A still with its truth and findings.

    The measured ventricular state counts where the still can show it: ventricular dilation (a lateral
    ventricle index) when a lateral ventricle is in the image, hydrocephalus when any ventricle is.
    """
    plane_kind = VIEW_PLANE[view]
    truth = truth_of(subject, frame, plane_kind, views=views)
    ventricles = ventricle_mask(frame.part, VENTRICLE_PARTS)
    px_area = frame.pixel_spacing_mm[0] * frame.pixel_spacing_mm[1]
    shows_any = bool(ventricles.sum() * px_area >= MIN_BOX_AREA_MM2)
    shows_lateral = bool(ventricle_mask(frame.part, LATERAL_VENTRICLE_PARTS).sum() * px_area >= MIN_BOX_AREA_MM2)
    state = {
        f for f in ventricular_state_findings(subject)
        if (f is Finding.VENTRICULAR_DILATION and shows_lateral) or (f is Finding.HYDROCEPHALUS and shows_any)
    }
    findings = still_findings(visible_lesion_kinds(frame.lesion, frame.pixel_spacing_mm), state, shows_any)
    return Still(view, frame, truth, float(truth.quality.get(view, 0.0)), findings, ventricles)


STILL_MIN_QUALITY = 0.75
"""An operator keeps searching until the still is at least this good (quality of the saved plane)."""

BLIND_MIN_QUALITY = 0.25
"""Blind acquisitions: a still worse than this is no view at all (the view is missing from the case)."""


def still_plane(
    subject: Subject, view: View, *, error: PlaneJitter | None = STILL_ERROR,
    min_quality: float | None = STILL_MIN_QUALITY, max_tries: int = 50, rng: np.random.Generator,
) -> tuple[ImagePlane, float]:
    """The plane an operator saves for ``view`` and its quality: the ideal plane plus a pose error,
    redrawn (up to ``max_tries``) until its quality reaches ``min_quality`` (None: first draw).
    ``error`` None, or no draw good enough: the ideal plane itself (quality 1)."""
    sv = subject_views(subject)[View(view)]
    if error is not None:
        for _ in range(max_tries):
            plane = error.apply(sv, sv.plane.apex, rng=rng)
            q = view_quality(plane, sv, scale=subject.head.scale)
            if min_quality is None or q >= min_quality:
                return plane, q
    return sv.plane, 1.0


def standard_still(
    subject: Subject,
    view: View,
    preset: ScannerPreset | str,
    *,
    out_size_hw: tuple[int, int] | None = None,
    error: PlaneJitter | None = STILL_ERROR,
    min_quality: float | None = STILL_MIN_QUALITY,
    rng: np.random.Generator,
) -> Still:
    """The still an operator saves for ``view``: the ideal plane plus a small pose error (None: exact),
    at least ``min_quality`` good (see :func:`still_plane`); the preset's depth fitted to the head
    (:func:`neocus.phantom.field_of_view.fit_depth`)."""
    preset = fit_depth(as_preset(preset), subject.head)
    plane, _ = still_plane(subject, view, rng=rng, error=error, min_quality=min_quality)
    frame = render_plane(subject.head, plane, preset, rng=rng, out_size_hw=out_size_hw)
    return _still(subject, View(view), frame, subject_views(subject))


def jittered_neighbours(
    subject: Subject,
    view: View,
    preset: ScannerPreset | str,
    *,
    n: int,
    out_size_hw: tuple[int, int] | None = None,
    jitter: PlaneJitter = NEIGHBOUR_JITTER,
    rng: np.random.Generator,
) -> list[Still]:
    """``n`` stills at random poses around the ideal plane of ``view`` (each with its quality score;
    depth fitted to the head as in :func:`standard_still`)."""
    preset = fit_depth(as_preset(preset), subject.head)
    views = subject_views(subject)
    sv = views[View(view)]
    out = []
    for _ in range(n):
        plane = jitter.apply(sv, sv.plane.apex, rng=rng)
        out.append(_still(subject, View(view), render_plane(subject.head, plane, preset, rng=rng, out_size_hw=out_size_hw), views))
    return out


# --------------------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RenderedSweep:
    """A rendered sweep: frames ``[T, H, W]`` uint8, per-frame truth, masks and view windows."""

    plan: SweepPlan
    frames: np.ndarray
    truth: tuple[FrameTruth, ...]
    lesion: np.ndarray  # uint8 [T, H, W]
    ventricles: np.ndarray  # bool [T, H, W]
    windows: dict[View, ViewWindow | None]
    spacing_mm: tuple[float, float]
    rendered: tuple[RenderedFrame, ...] = field(repr=False, default=())

    @property
    def quality(self) -> dict[View, np.ndarray]:
        """Per view of the sweep's plane: its quality score in every frame."""
        return _quality_tracks(self.truth, self.plan.plane)


def _quality_tracks(truth: Sequence[FrameTruth], plane: Plane) -> dict[View, np.ndarray]:
    return {v: np.array([t.quality.get(v, 0.0) for t in truth]) for v in views_of_plane(plane)}


def render_sweep(
    subject: Subject,
    plane: Plane,
    preset: ScannerPreset | str,
    *,
    style: SweepStyleName | str = SweepStyleName.FREEHAND,
    n_frames: int | None = None,
    out_size_hw: tuple[int, int] | None = None,
    keep_frames: bool = False,
    rng: np.random.Generator,
) -> RenderedSweep:
    """Plan and render one sweep of ``subject``; motion-blurred frames average their exposure planes.

    ``keep_frames`` keeps the :class:`RenderedFrame` of every frame (for a screen capture).
    Speckle is frozen in the subject's head (``speckle_seed`` from the subject's seed), so a pausing
    probe sees the same speckle and a moving one sees it decorrelate, as in a real sweep.
    """
    preset = as_preset(preset)
    plane = Plane(plane)
    views = subject_views(subject)
    apex = np.asarray(subject.head.fontanelle.centre, dtype=np.float64)
    view_tilts = {v: views[v].tilt_deg for v in views_of_plane(plane)}
    view_twists = {v: views[v].twist_deg for v in views_of_plane(plane)}
    plan = plan_sweep(plane, apex, style=sweep_style(style, plane), view_tilts=view_tilts, view_twists=view_twists, n_frames=n_frames, rng=rng)
    speckle_seed = int(np.random.SeedSequence([int(subject.seed), 0x5BEC]).generate_state(1)[0])
    frames, truths, lesions, vents, kept = [], [], [], [], []
    for i in range(plan.n_frames):
        planes = plan.exposure_planes(i, n=3)
        centre = len(planes) // 2
        rendered = [render_plane(subject.head, p, preset, rng=rng, out_size_hw=out_size_hw, speckle_seed=speckle_seed) for p in planes]
        main = rendered[centre]
        if len(rendered) > 1:
            image = np.mean([r.image.astype(np.float32) for r in rendered], axis=0)
            image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
        else:
            image = main.image
        frames.append(image)
        truths.append(truth_of(subject, main, plane, views=views))
        lesions.append(main.lesion)
        vents.append(ventricle_mask(main.part, VENTRICLE_PARTS))
        if keep_frames:
            kept.append(main)
    return RenderedSweep(
        plan=plan,
        frames=np.stack(frames),
        truth=tuple(truths),
        lesion=np.stack(lesions),
        ventricles=np.stack(vents),
        windows=view_windows(_quality_tracks(truths, plane)),
        spacing_mm=main.pixel_spacing_mm,
        rendered=tuple(kept),
    )


# --------------------------------------------------------------------------------------------------
# Whole cases
# --------------------------------------------------------------------------------------------------

PRESET_POPULATION: dict[PresetName, PopulationName] = {
    PresetName.INTERNAL: PopulationName.INTERNAL,
    PresetName.INTERNAL_MICROCONVEX: PopulationName.INTERNAL,
    PresetName.EXTERNAL: PopulationName.EXTERNAL,
    PresetName.BLIND: PopulationName.BLIND,
}
"""Which population (GA distribution, lesion mix) a scanner preset's hospital sees."""

PRESET_STYLE: dict[PresetName, SweepStyleName] = {
    PresetName.INTERNAL: SweepStyleName.FREEHAND,
    PresetName.INTERNAL_MICROCONVEX: SweepStyleName.FREEHAND,
    PresetName.EXTERNAL: SweepStyleName.FREEHAND,
    PresetName.BLIND: SweepStyleName.BLIND,
}
"""Sweep style per preset."""


@dataclass(frozen=True, eq=False)
class SimulatedCase:
    """Everything ``neocus simulate`` writes for one case (before it is written)."""

    case_id: str
    subject: Subject
    preset: ScannerPreset
    preset_name: str
    stills: dict[View, Still]
    sweeps: dict[Plane, RenderedSweep]
    screen_seed: int
    extra: dict[str, Any] = field(default_factory=dict)


def simulate_case(
    seed: np.random.SeedSequence | int,
    *,
    case_id: str,
    preset: PresetName | str = PresetName.INTERNAL,
    severe: bool | None = None,
    out_size_hw: tuple[int, int] | None = None,
    sweeps: bool = True,
    sweep_frames: int | None = None,
    planes: Sequence[Plane] = (Plane.CORONAL, Plane.SAGITTAL),
    keep_frames: bool = False,
) -> SimulatedCase:
    """Simulate one case: a subject of the preset's population, one scan's preset variation, the six
    standard-view stills (blind preset: only those the acquisition came close enough to, see
    :data:`BLIND_MIN_QUALITY`) and (``sweeps``) a coronal and a sagittal sweep.

    Independent streams (subject, scanner, stills, each sweep, screen) are spawned from ``seed``, so
    e.g. stills-only and full cases of the same seed share subject and stills.
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    s_subject, s_scan, s_stills, s_cor, s_sag, s_screen = ss.spawn(6)
    base = get_preset(preset)  # an unknown name fails here, naming the choices
    name = PresetName(base.name)
    style = PRESET_STYLE[name]
    subject = new_subject(s_subject, population=PRESET_POPULATION[name], severe=severe)
    scan = fit_depth(base.vary(rng=np.random.default_rng(s_scan)), subject.head)  # the operator fits the depth to the head
    rng = np.random.default_rng(s_stills)
    stills: dict[View, Still] = {}
    for v in VIEWS_IN_SWEEP_ORDER:
        if style is SweepStyleName.BLIND:
            plane, q = still_plane(subject, v, rng=rng, error=BLIND_STILL_ERROR, min_quality=None)
            if q < BLIND_MIN_QUALITY:
                continue  # the view is missing from this blind acquisition
            stills[v] = _still(subject, v, render_plane(subject.head, plane, scan, rng=rng, out_size_hw=out_size_hw), subject_views(subject))
        else:
            stills[v] = standard_still(subject, v, scan, rng=rng, out_size_hw=out_size_hw)
    rendered: dict[Plane, RenderedSweep] = {}
    if sweeps:
        for plane, s in zip((Plane.CORONAL, Plane.SAGITTAL), (s_cor, s_sag)):
            if plane in planes:
                rendered[plane] = render_sweep(
                    subject, plane, scan, rng=np.random.default_rng(s), style=style, n_frames=sweep_frames,
                    out_size_hw=out_size_hw, keep_frames=keep_frames,
                )
    return SimulatedCase(
        case_id=case_id,
        subject=subject,
        preset=scan,
        preset_name=name.value,
        stills=stills,
        sweeps=rendered,
        screen_seed=int(s_screen.generate_state(1)[0]),
        extra={"population": PRESET_POPULATION[name].value, "style": style.value},
    )

