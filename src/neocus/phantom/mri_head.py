"""A phantom head whose anatomy comes from a real neonatal brain (an ADC map), for the B-mode engine.

Issue #14: the phantom's painted primitives did not carry the shapes of real scans, so this head
takes its brain from MRI (:mod:`neocus.phantom.mri_labels` for the label map, :mod:`neocus.phantom.mri_echo`
for the echogenic features ultrasound shows and ADC does not) and adds what lies outside the
skull-stripped brain by rules on the brain's signed distance ``d`` (mm, > 0 outside):

* extra-axial CSF for ``0 < d < CSF_SHELL_MM``, then the calvarium (``SKULL_MM`` thick over the vault,
  thickening to ``SKULL_BASE_MM`` at the skull base, below the foramina of Monro minus 10 mm), then
  the scalp (``SCALP_MM``);
* the anterior fontanelle: a rhombus gap in the bone (``FONTANELLE_WH_MM``) on the top of the head,
  ``FONTANELLE_AHEAD_MM`` in front of the foramina of Monro, where the probe sits, with open sutures
  (``SUTURE_MM``) through it left-right (coronal) and front-back (sagittal, metopic). The gap is
  larger than a term fontanelle (~20-25 mm): this head does not press the scalp flat under the probe
  as :class:`~neocus.phantom.anatomy.NeonatalHead` does, and with an anatomical gap the outer beams
  of the wide probes crossed bone and the views were shadowed except in the midline. The bone thins
  toward it as in :class:`~neocus.phantom.anatomy.NeonatalHead` (``SKULL_TAPER_MIN`` of its thickness at
  the opening, full ``SKULL_TAPER_MM`` further out), so the probe's outer beams are not shadowed;
* under the brain (below Monro - 15 mm) beyond the bone: soft tissue (the face, neck and skull-base
  marrow) out to ``BASE_SOFT_MM``, so that no view shows black under the skull base.

Not modelled: the probe's pressure on the scalp (the analytic head flattens it), the orbits and the
petrous bones as such, lesions (the MRI lesion masks are excluded from the labels), preterm brains
(the source brains are term). Head coordinates are those of :mod:`neocus.phantom.types` with the
origin at the (estimated) foramina of Monro.

:func:`mri_views` places the standard planes from the label map's landmarks like
:func:`neocus.phantom.standard_views.standard_views` (same plane construction,
:func:`~neocus.phantom.standard_views.views_through`); :func:`mri_still` renders a still as
:func:`neocus.phantom.api.standard_still` does (the same pose error and quality floor, the depth fitted
to the head).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from neocus.phantom.anatomy import SKULL_TAPER_MIN, SKULL_TAPER_MM
from neocus.phantom.anatomy_params import Fontanelle
from neocus.phantom.api import STILL_ERROR, STILL_MIN_QUALITY, PlaneJitter
from neocus.phantom.bmode import RenderedFrame, render_plane
from neocus.phantom.field_of_view import fit_depth
from neocus.phantom.mri_echo import tissue_volumes
from neocus.phantom.mri_labels import MriLabelMap, derive_labels, dilate_ventricles, resample_head
from neocus.phantom.parts import Part, part_structure
from neocus.phantom.presets import ScannerPreset, get_preset
from neocus.phantom.standard_views import StandardView, view_quality, views_through
from neocus.phantom.tissues import ECHO, Tissue
from neocus.phantom.types import ImagePlane, TissueSample
from neocus.vocab import Structure, View

CSF_SHELL_MM = 1.5
SKULL_MM = 2.5
SKULL_BASE_MM = 6.0
SCALP_MM = 3.0
BASE_SOFT_MM = 22.0
FONTANELLE_WH_MM = (28.0, 32.0)
#: open sutures through the fontanelle's centre (mm wide), down to this far under it (mm)
SUTURE_MM = 2.5
SUTURE_DEPTH_MM = 30.0
FONTANELLE_AHEAD_MM = 10.0
#: the scalp's inward normal at the fontanelle: central differences this wide (mm); a normal more than
#: ``FONTANELLE_MAX_TILT_DEG`` off straight down is replaced by straight down
FONTANELLE_NORMAL_STEP_MM = 5.0
FONTANELLE_MAX_TILT_DEG = 30.0
F32 = np.float32


@dataclass(frozen=True)
class MriShells:
    """Thickness (mm) of the shells around the brain: extra-axial CSF, calvarium, scalp (what
    :func:`neocus.phantom.field_of_view.head_depth_mm` adds under the deepest brain point)."""

    thick: tuple[float, float, float]


class MriHead:
    """A head model (:class:`neocus.phantom.types.HeadModel`) built from a real brain's label map.

    ``sample(points)`` returns tissue, echo, part and lesion (always 0) for head-coordinate points
    ``[N, 3]`` (mm); ``fontanelle``, ``brain_distance`` and ``outline`` serve the field-of-view fit.
    """

    def __init__(self, label_map: MriLabelMap) -> None:
        self.label_map = label_map
        self.scale = 1.0  # term brains
        m = label_map.landmarks
        self.offset = np.asarray(m.monro, dtype=np.float64)  # grid mm -> head mm: subtract
        self.origin = np.asarray(label_map.origin_mm, dtype=np.float64) - self.offset
        self.spacing = float(label_map.spacing_mm)
        self.volumes = tissue_volumes(label_map)
        brain = label_map.labels > 0
        sp = F32(self.spacing)
        self.sdf = (ndimage.distance_transform_edt(~brain).astype(F32) * sp - ndimage.distance_transform_edt(brain).astype(F32) * sp)
        self.outline = MriShells((CSF_SHELL_MM, SKULL_MM, SCALP_MM))
        self.fontanelle = self._find_fontanelle()

    # ------------------------------------------------------------------ geometry
    def _grid(self, pts: np.ndarray) -> np.ndarray:
        return ((np.asarray(pts, dtype=np.float64).reshape(-1, 3) - self.origin) / self.spacing).T

    def brain_distance(self, pts: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to the brain surface, < 0 inside (trilinear; far outside the grid: 99)."""
        return ndimage.map_coordinates(self.sdf, self._grid(pts), order=1, cval=99.0, mode="constant").astype(F32)

    def _find_fontanelle(self) -> Fontanelle:
        x0 = self.label_map.landmarks.midline_x - self.offset[0]
        y = FONTANELLE_AHEAD_MM
        z = np.arange(self.origin[2] + self.spacing * self.sdf.shape[2], 0.0, -0.25)
        pts = np.stack([np.full_like(z, x0), np.full_like(z, y), z], axis=1)
        d = self.brain_distance(pts)
        outer = sum(self.outline.thick)
        i = int(np.flatnonzero(d <= outer)[0])
        top = pts[i]
        h = FONTANELLE_NORMAL_STEP_MM  # a wide difference: the thick slices leave steps on the vertex
        offs = np.array([[h, 0, 0], [-h, 0, 0], [0, h, 0], [0, -h, 0], [0, 0, h], [0, 0, -h]])
        dd = self.brain_distance(top - np.array([0.0, 0.0, h]) + offs)
        grad = np.array([dd[0] - dd[1], dd[2] - dd[3], dd[4] - dd[5]], dtype=np.float64)
        normal = -grad / max(float(np.linalg.norm(grad)), 1e-9)
        if normal[2] > -np.cos(np.radians(FONTANELLE_MAX_TILT_DEG)):  # implausible: straight down
            normal = np.array([0.0, 0.0, -1.0])
        return Fontanelle(top, normal, *FONTANELLE_WH_MM)

    # ------------------------------------------------------------------ sampling
    def sample(self, points: np.ndarray) -> TissueSample:
        """Tissue, echo, part and lesion at head-coordinate points ``[N, 3]`` (mm)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        n = len(pts)
        g = self._grid(pts)
        d = ndimage.map_coordinates(self.sdf, g, order=1, cval=99.0, mode="constant").astype(F32)
        tissue = np.zeros(n, np.uint8)
        part = np.zeros(n, np.uint8)
        echo = np.zeros(n, F32)
        inside = np.flatnonzero(d <= 0)
        if len(inside):
            ijk = np.rint(g[:, inside]).astype(np.intp)
            for a in range(3):
                np.clip(ijk[a], 0, self.sdf.shape[a] - 1, out=ijk[a])
            v = self.volumes
            tissue[inside] = v.tissue[ijk[0], ijk[1], ijk[2]]
            part[inside] = v.part[ijk[0], ijk[1], ijk[2]]
            echo[inside] = v.echo[ijk[0], ijk[1], ijk[2]]
        out = np.flatnonzero(d > 0)
        if len(out):
            t, p, e = self._shells(pts[out], d[out])
            tissue[out], part[out], echo[out] = t, p, e
        return TissueSample(tissue=tissue, echo=echo, part=part, lesion=np.zeros(n, np.uint8))

    def _shells(self, pts: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Extra-axial CSF, bone (with the fontanelle), scalp and the soft tissue under the skull base."""
        z = pts[:, 2]
        base = np.clip((-10.0 - z) / 30.0, 0.0, 1.0)
        fon = self.fontanelle
        q = pts - fon.centre
        r = np.hypot(q[:, 0] / fon.width_mm, q[:, 1] / fon.length_mm) * 2.0  # 1 at the opening's edge
        taper = np.clip(SKULL_TAPER_MIN + (1.0 - SKULL_TAPER_MIN) * (r - 1.0) * 0.5 * fon.width_mm / SKULL_TAPER_MM, SKULL_TAPER_MIN, 1.0)
        skull_end = CSF_SHELL_MM + SKULL_MM * taper + (SKULL_BASE_MM - SKULL_MM) * base
        lay = (d > CSF_SHELL_MM).astype(np.intp) + (d > skull_end) + (d > skull_end + SCALP_MM)
        t_of = np.array([Tissue.CSF, Tissue.SKULL, Tissue.SCALP, Tissue.BACKGROUND], np.uint8)
        p_of = np.array([Part.EXTRA_AXIAL_CSF, Part.SKULL, Part.SCALP, Part.NONE], np.uint8)
        tissue, part = t_of[lay], p_of[lay]
        under = (lay == 3) & (z < -15.0) & (d < BASE_SOFT_MM)
        tissue[under], part[under] = Tissue.SCALP, Part.SKULL_BASE
        rhombus = np.abs(q[:, 0]) / (fon.width_mm / 2) + np.abs(q[:, 1]) / (fon.length_mm / 2) < 1
        sutures = (np.abs(q[:, 0]) < SUTURE_MM / 2) | (np.abs(q[:, 1]) < SUTURE_MM / 2)  # sagittal / metopic, coronal
        gap = (rhombus | sutures) & (q[:, 2] > -SUTURE_DEPTH_MM) & (lay == 1)
        tissue[gap], part[gap] = Tissue.FONTANELLE, Part.FONTANELLE
        echo = ECHO[tissue].astype(F32)
        # skull base: bone brighter where thick, soft tissue under it mottled (marrow, fat, muscle)
        mottle = F32(0.6) + F32(0.8) * (np.sin(pts[:, 0] * 0.9) * np.sin(pts[:, 1] * 0.7 + pts[:, 2] * 0.5) > 0.3)
        echo[under] *= mottle[under]
        return tissue, part, echo

    def part_structure(self, part: int, plane_kind: str) -> Structure | None:
        return part_structure(part, plane_kind)


def mri_head(
    volume_path: str | Path, *, lesion_path: str | Path | None = None, spacing_mm: float = 1.0, dilate_ventricles_mm: float = 0.0,
) -> MriHead:
    """A head model from an ADC volume file (and its lesion mask), read with :func:`neocus.io.load_volume`;
    ``dilate_ventricles_mm`` grows the lateral ventricles (:func:`~neocus.phantom.mri_labels.dilate_ventricles`)."""
    from neocus.io import load_volume

    les = load_volume(lesion_path) if lesion_path is not None else None
    labels = derive_labels(resample_head(load_volume(volume_path), lesion=les, spacing_mm=spacing_mm))
    return MriHead(dilate_ventricles(labels, mm=dilate_ventricles_mm))


def mri_views(head: MriHead) -> dict[View, StandardView]:
    """The six standard views of ``head``, aimed at ROI points from its landmarks (head mm):

    AHV halfway between the frontal horns' tips and the foramina of Monro, at the foramina's height
    plus 4 mm; TVV 1 mm behind the foramina, 4 mm under them (the third ventricle between the
    thalami); BV the mean of the trigones (the glomus); MSV 4 mm behind and 6 mm under the foramina
    (the third ventricle); RPSV / LPSV at the mean x of the ventricle's body, 5 mm behind the foramina
    at their height (the caudothalamic groove).
    """
    m = head.label_map.landmarks
    x0 = m.midline_x - head.offset[0]
    tip = m.frontal_tip_y - head.offset[1]
    trig = np.mean([np.asarray(t) for t in m.trigones], axis=0) - head.offset
    rois = {
        View.AHV: np.array([x0, 0.5 * tip, 4.0]),
        View.TVV: np.array([x0, -1.0, -4.0]),
        View.BV: np.array([x0, trig[1], trig[2]]),
        View.MSV: np.array([x0, -4.0, -6.0]),
        View.RPSV: np.array([m.body_x[1] - head.offset[0], -5.0, 0.0]),
        View.LPSV: np.array([m.body_x[0] - head.offset[0], -5.0, 0.0]),
    }
    return views_through(head.fontanelle.centre, rois)


def mri_still(
    head: MriHead,
    view: View,
    preset: ScannerPreset | str,
    *,
    out_size_hw: tuple[int, int] | None = None,
    error: PlaneJitter | None = STILL_ERROR,
    min_quality: float = STILL_MIN_QUALITY,
    max_tries: int = 50,
    rng: np.random.Generator,
) -> RenderedFrame:
    """A still of ``view`` as :func:`neocus.phantom.api.standard_still` makes one for a phantom subject:
    the ideal plane plus the pose ``error``, redrawn until its quality reaches ``min_quality``, the
    preset's depth fitted to the head."""
    preset = fit_depth(get_preset(preset) if isinstance(preset, str) else preset, head)  # type: ignore[arg-type]
    sv = mri_views(head)[View(view)]
    plane: ImagePlane = sv.plane
    if error is not None:
        for _ in range(max_tries):
            cand = error.apply(sv, sv.plane.apex, rng=rng)
            if view_quality(cand, sv, scale=head.scale) >= min_quality:
                plane = cand
                break
    return render_plane(head, plane, preset, rng=rng, out_size_hw=out_size_hw)
