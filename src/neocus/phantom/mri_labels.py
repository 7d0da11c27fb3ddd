"""Label maps of a real neonatal brain from an ADC map (issue #14: phantom anatomy from real brains).

Input: a skull-stripped apparent-diffusion-coefficient (ADC) volume (x1e-6 mm^2/s, 0 outside the
brain), e.g. the BONBID-HIE term neonates, read with :func:`neocus.io.load_volume`, and optionally its
lesion mask. Output: an isotropic label map on a head-aligned grid (:class:`MriLabelMap`).

Steps (:func:`resample_head`, then :func:`derive_labels`):

1. **Resampling** to a ``spacing_mm`` isotropic grid (default 1 mm) in head axes: +x the patient's
   left, +y anterior, +z superior (LPS x, -y, z), trilinear from the volume's voxels through its
   affine; the brain fraction and the ADC are then smoothed with a Gaussian whose width along the
   slice axis is ``SLICE_SMOOTH`` x the slice spacing (the acquisitions are axial: 2-6 mm slices), so
   the brain surface and the ventricles are smooth instead of stair-stepped. How coarse the result
   is: in plane the source's 1.25-2 mm, across slices the 2-6 mm slice spacing (a structure thinner
   than a slice, such as the third ventricle or a sulcus, is blurred into its neighbours); the grid's
   1 mm is finer than what it holds. Lesion voxels (the lesion mask, low ADC) are replaced by the
   median parenchymal ADC, so the labels describe the normal anatomy. The grid is then turned so
   that the interhemispheric fissure (fitted to the high-ADC midline in the upper brain) is the
   plane x = const (heads lie turned a few degrees in the scanner; the views are placed by the
   midline); pitch is not corrected.
2. **Labels** (:class:`MriLabel`) from the ADC and the distance to the brain surface:
   CSF is ADC > ``CSF_ADC``; CSF deeper than ``VENTRICLE_DEPTH_MM`` seeds the ventricles, which grow
   through connected CSF that lies deeper than ``VENTRICLE_GROW_DEPTH_MM``; the rest of the CSF is
   extra-axial (cisterns, sulci, the interhemispheric and Sylvian fissures). Parenchyma with ADC
   below ``GREY_ADC`` is cortex within ``CORTEX_DEPTH_MM`` of the surface and deep grey matter deeper
   than ``DEEP_GREY_DEPTH_MM``; the rest is white matter (neonatal white matter has the higher ADC).

Landmarks (:func:`find_landmarks`): the midline (the brain's centre of mass in x), the frontal horns'
tips and the lateral ventricles' extent, the foramina of Monro (estimated: 28 % of the lateral
ventricle's length behind the frontal horns' tips, ``MONRO_BELOW_ROOF_MM`` under the roof of the
ventricles there within 15 mm of the midline; the third ventricle is
rarely resolved at these slice spacings) and the trigones (the lateral ventricles' widest part behind
the thalami). Where the foramina land implausibly (``MONRO_HEIGHT``, ``MONRO_MAX_OFFSET_MM``: the
ventricles were not found cleanly), :func:`find_landmarks` refuses the volume with a
:class:`NeocusError`. The brain's pitch (nodding) is not corrected: the views are aimed at the landmarks, so a pitched head
gives the right ROIs under a somewhat different tilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np
from scipy import ndimage

from neocus.errors import NeocusError
from neocus.io.volume import Volume
from neocus.results import AsDict

#: ADC (x1e-6 mm^2/s) above which a voxel is CSF (neonatal white matter ~1400-1800, CSF ~3000)
CSF_ADC = 2000.0
#: ADC below which parenchyma is grey matter (cortex / deep nuclei ~1000-1200)
GREY_ADC = 1150.0
#: CSF deeper than this below the brain surface (mm) seeds the ventricles ...
VENTRICLE_DEPTH_MM = 12.0
#: ... which grow through connected CSF deeper than this (mm)
VENTRICLE_GROW_DEPTH_MM = 4.0
#: low-ADC parenchyma within this depth (mm) is cortex, beyond ``DEEP_GREY_DEPTH_MM`` deep grey matter
CORTEX_DEPTH_MM = 6.0
DEEP_GREY_DEPTH_MM = 14.0
#: Gaussian width across slices, as a fraction of the slice spacing
SLICE_SMOOTH = 0.35
#: empty margin around the brain on the resampled grid (mm): room for the skull, scalp and skull base
MARGIN_MM = 24.0
#: plausible height of the foramina of Monro over the brain's lowest point (fraction of its height) and
#: their largest distance (mm) from the brain's antero-posterior centre; outside: no head is built
MONRO_HEIGHT = (0.35, 0.8)
MONRO_MAX_OFFSET_MM = 22.0
#: the foramina lie this far (mm) under the roof of the lateral ventricles there (term: the frontal horn at the
#: foramina is ~8-10 mm tall, the foramina at its floor)
MONRO_BELOW_ROOF_MM = 7.0
#: midsagittal alignment: the fissure is looked for within this distance (mm) of the brain's centre, as
#: ADC above this; a turn of more than ``MIDLINE_MAX_TURN_DEG`` is not trusted (no alignment)
MIDLINE_BAND_MM = 6.0
MIDLINE_MIN_ADC = 1800.0
#: ... and only this far (mm) over the brain's centre of mass, where no lateral ventricle lies
MIDLINE_OVER_CENTRE_MM = 12.0
MIDLINE_MAX_TURN_DEG = 20.0
#: half-width (mm) of the septum that :func:`dilate_ventricles` keeps between the lateral ventricles
SEPTUM_HALF_MM = 1.5
#: the smallest brain that makes a head model (ml)
MIN_BRAIN_ML = 50.0


class MriLabel(IntEnum):
    """Label of a voxel of :class:`MriLabelMap` (uint8)."""

    OUTSIDE = 0
    WHITE_MATTER = 1
    CORTEX = 2
    DEEP_GREY = 3
    VENTRICLE = 4  # the lateral ventricles
    EXTRA_AXIAL_CSF = 5
    DEEP_CSF = 6  # other deep CSF: third ventricle, cavum, basal cisterns


@dataclass(frozen=True, eq=False)
class ResampledBrain:
    """An ADC map on an isotropic head-aligned grid ``[X, Y, Z]`` (x left, y anterior, z superior).

    ``origin_mm``: head coordinates of voxel ``[0, 0, 0]`` (the volume's centre of the brain is at 0);
    ``brain``: the (smoothed) brain mask; ``adc``: ADC inside the brain, 0 outside;
    ``slice_spacing_mm``: the source's coarsest spacing (how coarse the map really is across slices).
    """

    adc: np.ndarray  # float32 [X, Y, Z]
    brain: np.ndarray  # bool [X, Y, Z]
    origin_mm: np.ndarray  # (3,)
    spacing_mm: float
    slice_spacing_mm: float
    source: str = ""


@dataclass(frozen=True)
class MriLandmarks(AsDict):
    """Landmarks of a label map in head mm (grid coordinates times spacing plus origin)."""

    midline_x: float
    monro: tuple[float, float, float]  # midpoint of the foramina of Monro (estimated)
    frontal_tip_y: float  # most anterior ventricle point
    occipital_y: float  # most posterior lateral-ventricle point
    trigones: tuple[tuple[float, float, float], tuple[float, float, float]]  # (left, right) centres
    body_x: tuple[float, float]  # (left, right) mean x of the lateral ventricles' bodies
    brain_top_z: float
    brain_bottom_z: float


@dataclass(frozen=True, eq=False)
class MriLabelMap:
    """Labels (:class:`MriLabel`) of a resampled brain with its depth map and landmarks."""

    labels: np.ndarray  # uint8 [X, Y, Z]
    adc: np.ndarray  # float32 [X, Y, Z]
    depth_mm: np.ndarray  # float32 [X, Y, Z]: distance to the brain surface inside, 0 outside
    origin_mm: np.ndarray
    spacing_mm: float
    slice_spacing_mm: float
    landmarks: MriLandmarks
    source: str = field(default="")

    def coords(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Head coordinates (mm) of the grid's x, y and z axes."""
        return tuple(self.origin_mm[a] + self.spacing_mm * np.arange(self.labels.shape[a]) for a in range(3))  # type: ignore[return-value]


def _check_volume(volume: Volume, what: str) -> None:
    if not isinstance(volume, Volume):
        raise NeocusError(f"is a {type(volume).__name__}, not a volume", where=what, hint="read it with neocus.io.load_volume")
    if min(volume.shape) < 2:
        raise NeocusError(f"is a {volume.shape} image, not a 3-D volume", where=volume.source or what,
                          hint="give a 3-D ADC volume with several slices")


def resample_head(volume: Volume, *, lesion: Volume | None = None, spacing_mm: float = 1.0) -> ResampledBrain:
    """The ADC map of ``volume`` on an isotropic head-aligned grid (module docstring, step 1).

    ``lesion``: the lesion mask on the same grid (its voxels take the median parenchymal ADC).
    Raises :class:`NeocusError` for a volume that is not 3-D or holds (almost) no brain.
    """
    _check_volume(volume, "volume")
    adc = np.asarray(volume.array, dtype=np.float32)
    inside = adc > 0
    voxel_ml = float(np.prod(volume.spacing)) / 1000.0
    if inside.sum() * voxel_ml < MIN_BRAIN_ML:
        raise NeocusError(f"holds {inside.sum() * voxel_ml:.1f} ml of brain (ADC > 0), below {MIN_BRAIN_ML:.0f} ml",
                          where=volume.source or "volume", hint="give a skull-stripped ADC map of a whole neonatal brain")
    if lesion is not None:
        _check_volume(lesion, "lesion")
        if lesion.shape != volume.shape:
            raise NeocusError(f"has shape {lesion.shape}, the ADC volume {volume.shape}", where=lesion.source or "lesion",
                              hint="give the lesion mask of the same acquisition")
        les = (np.asarray(lesion.array) > 0.5) & inside
        if les.any():
            adc = adc.copy()
            adc[les] = float(np.median(adc[inside & ~les & (adc < CSF_ADC)]))
    aff = volume.affine()
    idx = np.argwhere(inside)
    world = aff[:3, :3] @ idx.T + aff[:3, 3:4]
    head = world * np.array([[1.0], [-1.0], [1.0]])  # LPS -> x left, y anterior, z superior
    centre = 0.5 * (head.min(1) + head.max(1))
    lo = head.min(1) - centre - MARGIN_MM
    n = np.ceil((head.max(1) - head.min(1) + 2 * MARGIN_MM) / spacing_mm).astype(int) + 1
    axes = [lo[a] + spacing_mm * np.arange(n[a]) for a in range(3)]
    slice_mm = float(max(volume.spacing))
    slice_axis = aff[:3, int(np.argmax(volume.spacing))]
    sigma = np.maximum(0.6, SLICE_SMOOTH * slice_mm * np.abs(slice_axis / np.linalg.norm(slice_axis)) / spacing_mm)
    grid = _Grid(adc=np.where(inside, adc, 0).astype(np.float32), inside=inside.astype(np.float32), affine=aff, centre=centre, axes=axes, sigma=sigma)
    brain, out = _resample(grid, np.eye(3))
    rot = _midsagittal_rotation(out, brain, axes)
    if rot is not None:
        brain, out = _resample(grid, rot)
    return ResampledBrain(out, brain, lo.astype(np.float64), float(spacing_mm), slice_mm, volume.source)


@dataclass(frozen=True, eq=False)
class _Grid:
    adc: np.ndarray
    inside: np.ndarray
    affine: np.ndarray
    centre: np.ndarray
    axes: list[np.ndarray]
    sigma: np.ndarray


def _resample(g: _Grid, rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(brain mask, ADC) on the head grid whose points ``p`` are ``rot @ (head point - centre)``."""
    n = tuple(len(a) for a in g.axes)
    gx, gy, gz = np.meshgrid(*g.axes, indexing="ij")
    p = rot.T @ np.stack([gx, gy, gz], axis=0).reshape(3, -1)
    pts = np.stack([p[0] + g.centre[0], -(p[1] + g.centre[1]), p[2] + g.centre[2]], axis=0)
    vox = np.linalg.solve(g.affine[:3, :3], pts - g.affine[:3, 3:4])
    frac = ndimage.map_coordinates(g.inside, vox, order=1, cval=0.0).reshape(n)
    val = ndimage.map_coordinates(g.adc, vox, order=1, cval=0.0).reshape(n)
    f_s = ndimage.gaussian_filter(frac, g.sigma)
    v_s = ndimage.gaussian_filter(val, g.sigma)
    brain = ndimage.binary_fill_holes(f_s > 0.5)
    lab, nlab = ndimage.label(brain)
    if nlab > 1:
        brain = lab == (1 + int(np.argmax(ndimage.sum(brain, lab, range(1, nlab + 1)))))
    return brain, np.where(brain, v_s / np.maximum(f_s, 1e-3), 0.0).astype(np.float32)


def _midsagittal_rotation(adc: np.ndarray, brain: np.ndarray, axes: list[np.ndarray]) -> np.ndarray | None:
    """The rotation that makes the interhemispheric fissure the plane x = const, or None (already
    within 1 degree, or no fissure found). The fissure: ``MIDLINE_OVER_CENTRE_MM`` over the brain's centre, for each (y, z)
    the x of the highest ADC within ``MIDLINE_BAND_MM`` of the brain's centre, where that ADC is CSF-like
    (> ``MIDLINE_MIN_ADC``); a plane x = a + b y + c z is fitted, twice trimming points > 2 mm off it."""
    xs, ys, zs = axes
    x0 = float(xs[np.argwhere(brain)[:, 0]].mean())
    zc = float(zs[np.argwhere(brain)[:, 2]].mean())
    band = np.flatnonzero(np.abs(xs - x0) < MIDLINE_BAND_MM)
    sub = adc[band]
    full = brain[band].all(axis=0) & (zs > zc + MIDLINE_OVER_CENTRE_MM)[None, :]  # over the lateral ventricles
    peak = sub.max(axis=0)
    ok = full & (peak > MIDLINE_MIN_ADC)
    if ok.sum() < 50:
        return None
    jy, kz = np.nonzero(ok)
    x = xs[band][sub.argmax(axis=0)[ok]]
    a_mat = np.stack([np.ones_like(x), ys[jy], zs[kz]], axis=1)
    keep = np.ones(len(x), bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(a_mat[keep], x[keep], rcond=None)
        keep = np.abs(a_mat @ coef - x) < 2.0
        if keep.sum() < 30:
            return None
    normal = np.array([1.0, -coef[1], -coef[2]])
    normal /= np.linalg.norm(normal)
    angle = float(np.degrees(np.arccos(np.clip(normal[0], -1, 1))))
    if angle < 1.0 or angle > MIDLINE_MAX_TURN_DEG:
        return None
    v = np.cross(normal, [1.0, 0.0, 0.0])
    sv = float(np.linalg.norm(v))
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * ((1.0 - normal[0]) / sv**2)


def derive_labels(brain: ResampledBrain) -> MriLabelMap:
    """Labels and landmarks of a resampled brain (module docstring, step 2)."""
    if not brain.brain.any():
        raise NeocusError("the brain mask is empty", where=brain.source or "volume", hint="give a skull-stripped ADC map with the brain > 0")
    sp = brain.spacing_mm
    depth = ndimage.distance_transform_edt(brain.brain).astype(np.float32) * np.float32(sp)
    adc = brain.adc
    csf = brain.brain & (adc > CSF_ADC)
    seeds = csf & (depth > VENTRICLE_DEPTH_MM)
    grow_in = csf & (depth > VENTRICLE_GROW_DEPTH_MM)
    lab, nlab = ndimage.label(grow_in)
    keep = np.unique(lab[seeds])
    ventricle = np.isin(lab, keep[keep > 0])
    labels = np.zeros(adc.shape, np.uint8)
    labels[brain.brain] = MriLabel.WHITE_MATTER
    grey = brain.brain & ~csf & (adc < GREY_ADC)
    labels[grey & (depth <= CORTEX_DEPTH_MM)] = MriLabel.CORTEX
    labels[grey & (depth > DEEP_GREY_DEPTH_MM)] = MriLabel.DEEP_GREY
    labels[csf] = MriLabel.EXTRA_AXIAL_CSF
    labels[ventricle] = MriLabel.DEEP_CSF
    labels[_lateral_ventricles(ventricle, origin_mm=brain.origin_mm, spacing_mm=sp)] = MriLabel.VENTRICLE
    marks = find_landmarks(labels, origin_mm=brain.origin_mm, spacing_mm=sp, what=brain.source or "volume")
    return MriLabelMap(labels, adc, np.where(brain.brain, depth, 0).astype(np.float32), brain.origin_mm, sp,
                       brain.slice_spacing_mm, marks, brain.source)


def _lateral_ventricles(ventricle: np.ndarray, *, origin_mm: np.ndarray, spacing_mm: float) -> np.ndarray:
    """The largest connected deep-CSF component on each side of the midline (x of the deep CSF's
    centre), the midline band of +-3 mm (third ventricle, cavum) cut away first."""
    pts = np.argwhere(ventricle)
    out = np.zeros_like(ventricle)
    if len(pts) == 0:
        return out
    xs = origin_mm[0] + spacing_mm * np.arange(ventricle.shape[0])
    x0 = float(xs[pts[:, 0]].mean())
    for side in (1, -1):
        half = ventricle & (((xs - x0) * side) > 3.0)[:, None, None]
        lab, n = ndimage.label(half)
        if n:
            out |= lab == 1 + int(np.argmax(ndimage.sum(half, lab, range(1, n + 1))))
    return out


def find_landmarks(labels: np.ndarray, *, origin_mm: np.ndarray, spacing_mm: float, what: str = "volume") -> MriLandmarks:
    """Midline, foramina of Monro, frontal-horn tips, trigones and ventricle bodies (module docstring)."""
    to_mm = lambda ijk: np.asarray(origin_mm) + spacing_mm * np.asarray(ijk, float)  # noqa: E731
    brain = np.argwhere(labels > 0)
    if len(brain) == 0:
        raise NeocusError("the brain mask is empty", where=what, hint="give a skull-stripped ADC map with the brain > 0")
    b_mm = to_mm(brain)
    x0 = float(b_mm[:, 0].mean())
    v = to_mm(np.argwhere(labels == MriLabel.VENTRICLE))
    lateral = v[np.abs(v[:, 0] - x0) > 2.0] if len(v) else v
    if len(lateral) < 20 or not ((lateral[:, 0] > x0).any() and (lateral[:, 0] < x0).any()):
        raise NeocusError("no lateral ventricles found (no deep CSF on both sides of the midline)", where=what,
                          hint="give an ADC map of a whole brain (CSF above the CSF threshold)")
    front = float(np.percentile(lateral[:, 1], 99))
    back = float(np.percentile(lateral[:, 1], 1))
    y_monro = front - 0.28 * (front - back)
    near = lateral[(np.abs(lateral[:, 1] - y_monro) < 4.0) & (np.abs(lateral[:, 0] - x0) < 15.0)]  # not the temporal horns
    roof = float(np.percentile(near[:, 2], 95)) if len(near) else float(np.percentile(lateral[:, 2], 95))
    z_monro = roof - MONRO_BELOW_ROOF_MM  # the roof is robust; the floor mixes with the cisterns at these slice spacings
    top, bottom = float(b_mm[:, 2].max()), float(b_mm[:, 2].min())
    y_mid = 0.5 * (float(b_mm[:, 1].max()) + float(b_mm[:, 1].min()))
    height = (z_monro - bottom) / max(top - bottom, 1e-6)
    if not (MONRO_HEIGHT[0] <= height <= MONRO_HEIGHT[1]) or abs(y_monro - y_mid) > MONRO_MAX_OFFSET_MM:
        raise NeocusError(f"the foramina of Monro were placed implausibly ({height:.2f} of the brain's height, "
                          f"{y_monro - y_mid:+.0f} mm from its antero-posterior centre)", where=what,
                          hint="the lateral ventricles were not found cleanly (thick or oblique slices); use another volume")
    trig, body = [], []
    for side in (1, -1):
        own = lateral[(lateral[:, 0] - x0) * side > 0]
        post = own[own[:, 1] < y_monro - 0.35 * (front - back)]
        post = post if len(post) >= 5 else own
        trig.append(tuple(float(c) for c in post.mean(0)))
        mid = own[np.abs(own[:, 1] - (y_monro - 5.0)) < 8.0]
        mid = mid if len(mid) else own
        body.append(float(mid[:, 0].mean()))
    return MriLandmarks(
        midline_x=x0, monro=(x0, y_monro, z_monro), frontal_tip_y=front, occipital_y=back,
        trigones=(trig[0], trig[1]), body_x=(body[0], body[1]),
        brain_top_z=top, brain_bottom_z=bottom,
    )


def dilate_ventricles(label_map: MriLabelMap, *, mm: float) -> MriLabelMap:
    """``label_map`` with the lateral ventricles grown by ``mm`` into the parenchyma around them (not
    into the cortex within ``CORTEX_DEPTH_MM`` of the surface, nor across the septum, ``SEPTUM_HALF_MM``
    either side of the midline): a dilated-ventricle variant of a brain
    (the real severe exams of the probe have ventriculomegaly; the source brains have normal
    ventricles). The landmarks are those of the source (the foramina and the trigones move little)."""
    if mm < 0:
        raise NeocusError(f"is {mm}, must be >= 0", where="mm", hint="give the growth of the ventricles in mm")
    if mm == 0:
        return label_map
    vent = label_map.labels == MriLabel.VENTRICLE
    d = ndimage.distance_transform_edt(~vent).astype(np.float32) * np.float32(label_map.spacing_mm)
    xs = label_map.coords()[0]
    septum = (np.abs(xs - label_map.landmarks.midline_x) < SEPTUM_HALF_MM)[:, None, None]
    grow = (d <= mm) & (label_map.labels > 0) & (label_map.depth_mm > CORTEX_DEPTH_MM) & ~septum
    labels = label_map.labels.copy()
    labels[grow] = MriLabel.VENTRICLE
    adc = np.where(grow, np.float32(3000.0), label_map.adc).astype(np.float32)
    return replace(label_map, labels=labels, adc=adc)
