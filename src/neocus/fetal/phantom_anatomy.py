"""The fetal head phantom's anatomy: one axial plane through a fetal head in the mother, as a model the
neonatal phantom's B-mode renderer samples (:class:`neocus.phantom.types.HeadModel`).

The image plane is the model's own ``(x, d)`` plane (``x`` lateral, ``d`` depth below the centre of
the probe face, mm; the renderer's points are ``(x, d, 0)``). In it lie, from the probe down, the
maternal abdominal wall (skin, fat, muscle, uterus, layered parallel to the curved probe face), an
optional placenta, amniotic fluid with parts of the fetal body, the fetal scalp, the skull and the
brain; deep to the head the posterior uterine wall.

The head has its own frame: ``u`` along the occipito-frontal axis (``+u`` toward the occiput), ``v``
transverse. The outer skull is the ellipse ``(u/a)^2 + (v/b)^2 = 1`` of
:class:`~neocus.fetal.phantom_params.FetalHeadParams`; the inner one is ``skull_mm`` smaller. Which
structures lie in the plane depends on the plane (ISUOG basic examination of the fetal CNS):

* trans-ventricular: midline echo, cavum septi pellucidi (CSP), frontal horns, the lateral ventricle
  bodies and the atria with the choroid plexus (atrial width = the atrium's minor axis);
* trans-thalamic: midline, CSP, thalami with the third ventricle between them, Sylvian fissures;
* trans-cerebellar: CSP, thalami, brainstem, the cerebellar hemispheres (TCD = their total transverse
  extent) with the vermis between them, and the cisterna magna from the vermis to the inner
  occipital bone (its depth on the midline);
* other: a high plane through the vault (midline and sulci only) or a low one through the skull base.

Every structure's label is what the renderer samples at each pixel, so masks and image share one
geometry. Echo levels and the bright sulcal streaks vary per case (``FetalScene``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neocus.fetal.phantom_params import FetalHeadParams
from neocus.phantom.tissues import Tissue
from neocus.phantom.types import TissueSample
from neocus.vocab import FetalPlane, FetalStructure, Structure

#: label id of each structure in the label map (0 = outside the imaging region)
LABEL_IDS: dict[FetalStructure, int] = {s: i + 1 for i, s in enumerate(FetalStructure)}
S = FetalStructure

#: labels inside the inner skull (the brain mask)
INTRACRANIAL = (S.BRAIN, S.MIDLINE, S.CAVUM_SEPTI_PELLUCIDI, S.THALAMUS, S.VENTRICLE, S.CHOROID_PLEXUS,
                S.CEREBELLAR_HEMISPHERE, S.VERMIS, S.CISTERNA_MAGNA, S.BRAINSTEM, S.SKULL_BASE)
CEREBELLUM = (S.CEREBELLAR_HEMISPHERE, S.VERMIS)

#: tissue class (for attenuation, impedance, scatterer density) and mean echo of each structure
STRUCTURE_TISSUE: dict[FetalStructure, Tissue] = {
    S.MATERNAL: Tissue.SCALP, S.AMNIOTIC_FLUID: Tissue.CSF, S.FETAL_BODY: Tissue.WHITE_MATTER,
    S.SCALP: Tissue.SCALP, S.SKULL: Tissue.SKULL, S.BRAIN: Tissue.GREY_MATTER, S.MIDLINE: Tissue.FALX,
    S.CAVUM_SEPTI_PELLUCIDI: Tissue.CSF, S.THALAMUS: Tissue.DEEP_GREY, S.VENTRICLE: Tissue.CSF,
    S.CHOROID_PLEXUS: Tissue.CHOROID_PLEXUS, S.CEREBELLAR_HEMISPHERE: Tissue.CEREBELLUM,
    S.VERMIS: Tissue.VERMIS, S.CISTERNA_MAGNA: Tissue.CSF, S.BRAINSTEM: Tissue.BRAINSTEM,
    S.SKULL_BASE: Tissue.SKULL,
}
BASE_ECHO: dict[FetalStructure, float] = {
    S.MATERNAL: 1.0, S.AMNIOTIC_FLUID: 0.005, S.FETAL_BODY: 0.6, S.SCALP: 0.8, S.SKULL: 3.5, S.BRAIN: 0.25,
    S.MIDLINE: 3.0, S.CAVUM_SEPTI_PELLUCIDI: 0.03, S.THALAMUS: 0.2, S.VENTRICLE: 0.03,
    S.CHOROID_PLEXUS: 3.5, S.CEREBELLAR_HEMISPHERE: 0.5, S.VERMIS: 2.5, S.CISTERNA_MAGNA: 0.03,
    S.BRAINSTEM: 0.3, S.SKULL_BASE: 6.0,
}


@dataclass(frozen=True)
class HeadPose:
    """Where the head lies in the image plane: centre ``(x, d)`` mm, the angle (radians, from image
    +x to the head's +u axis) and whether left and right are swapped."""

    centre_x_mm: float
    centre_d_mm: float
    angle_rad: float
    mirrored: bool

    def to_head(self, x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dd = x - self.centre_x_mm, d - self.centre_d_mm
        c, s = math.cos(self.angle_rad), math.sin(self.angle_rad)
        u = c * dx + s * dd
        v = -s * dx + c * dd
        return u, (-v if self.mirrored else v)

    def to_plane(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = -np.asarray(v) if self.mirrored else np.asarray(v)
        c, s = math.cos(self.angle_rad), math.sin(self.angle_rad)
        return self.centre_x_mm + c * np.asarray(u) - s * v, self.centre_d_mm + s * np.asarray(u) + c * v


@dataclass(frozen=True)
class FetalScene:
    """Everything around the head and the per-case appearance (drawn by the renderer's randomiser)."""

    pose: HeadPose
    probe_radius_mm: float
    wall_layers_mm: tuple[float, float, float, float]  # outer edges of skin, fat, muscle, uterus (range from the face)
    wall_ripple: tuple[float, float, float]  # amplitude (mm), wavelength (mm), phase of the layers' undulation
    placenta: tuple[float, float, float] | None  # (x edge mm, side +-1, thickness mm) under the wall
    far_wall_mm: float  # range from the face where the posterior uterine wall begins
    bodies: tuple[tuple[float, float, float, float, float], ...]  # ellipses (x, d, semi-a, semi-b, angle) of fetal body
    bone: tuple[float, float, float, float] | None  # a limb bone segment (x0, d0, x1, d1) inside a body part
    streaks: tuple[tuple[float, float, float, float, float], ...]  # head frame (u0, v0, u1, v1, echo) sulcal lines
    echo_scale: tuple[float, ...]  # per structure, in FetalStructure order


def _ellipse(u, v, cu, cv, su, sv, angle=0.0, power=2.0):
    du, dv = u - cu, v - cv
    if angle:
        c, s = math.cos(angle), math.sin(angle)
        du, dv = c * du + s * dv, -s * du + c * dv
    return np.abs(du / su) ** power + np.abs(dv / sv) ** power <= 1.0


def _segment(u, v, p0, p1, half_width):
    (u0, v0), (u1, v1) = p0, p1
    eu, ev = u1 - u0, v1 - v0
    ll = eu * eu + ev * ev
    t = np.clip(((u - u0) * eu + (v - v0) * ev) / max(ll, 1e-9), 0.0, 1.0)
    return (u - u0 - t * eu) ** 2 + (v - v0 - t * ev) ** 2 <= half_width**2


class _Canvas:
    """Labels, tissue ids and echo of a set of points, painted structure by structure."""

    def __init__(self, n: int, echo_scale: tuple[float, ...]):
        self.label = np.zeros(n, np.uint8)
        self.tissue = np.zeros(n, np.uint8)
        self.echo = np.zeros(n, np.float32)
        self.scale = echo_scale

    def paint(self, where: np.ndarray, structure: FetalStructure, *, echo: float | None = None, tissue: Tissue | None = None, label: bool = True) -> None:
        if label:
            self.label[where] = LABEL_IDS[structure]
        self.tissue[where] = int(tissue if tissue is not None else STRUCTURE_TISSUE[structure])
        base = BASE_ECHO[structure] if echo is None else echo
        self.echo[where] = base * self.scale[list(FetalStructure).index(structure)]


class FetalHeadModel:
    """A fetal head in its surroundings, sampled by :func:`neocus.phantom.bmode.render_plane`."""

    def __init__(self, params: FetalHeadParams, scene: FetalScene):
        self.params = params
        self.scene = scene

    def part_structure(self, part: int, plane_kind: str) -> Structure | None:
        """No neonatal detector structure: the fetal labels are :data:`LABEL_IDS`."""
        return None

    def sample(self, points: np.ndarray) -> TissueSample:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        x, d = pts[:, 0], pts[:, 1]
        canvas = _Canvas(len(pts), self.scene.echo_scale)
        self._surroundings(canvas, x, d)
        p, sc = self.params, self.scene
        near = np.hypot(x - sc.pose.centre_x_mm, d - sc.pose.centre_d_mm) <= p.semi_major_mm + 4.0
        idx = np.nonzero(near)[0]
        if len(idx):
            sub = _Canvas(len(idx), sc.echo_scale)
            sub.label[:], sub.tissue[:], sub.echo[:] = canvas.label[idx], canvas.tissue[idx], canvas.echo[idx]
            u, v = sc.pose.to_head(x[idx], d[idx])
            paint_head(sub, u, v, p, sc)
            canvas.label[idx], canvas.tissue[idx], canvas.echo[idx] = sub.label, sub.tissue, sub.echo
        zeros = np.zeros(len(pts), np.uint8)
        return TissueSample(tissue=canvas.tissue, echo=canvas.echo, part=canvas.label, lesion=zeros)

    def _surroundings(self, c: _Canvas, x: np.ndarray, d: np.ndarray) -> None:
        sc = self.scene
        r = sc.probe_radius_mm
        rng_mm = np.hypot(x, d + r) - r  # range from the curved face
        amp, wave, phase = sc.wall_ripple
        ripple = amp * np.sin(2.0 * math.pi * x / wave + phase)
        c.paint(np.ones(len(x), bool), S.AMNIOTIC_FLUID)
        skin, fat, muscle, uterus = sc.wall_layers_mm
        c.paint(rng_mm + ripple <= uterus, S.MATERNAL, echo=0.8)
        c.paint(rng_mm + ripple <= muscle, S.MATERNAL, echo=1.3)
        c.paint((rng_mm + ripple > muscle - 0.8) & (rng_mm + ripple <= muscle), S.MATERNAL, echo=3.0)  # fascia
        c.paint(rng_mm + 0.5 * ripple <= fat, S.MATERNAL, echo=0.45)
        c.paint(rng_mm <= skin, S.MATERNAL, echo=2.0)
        if sc.placenta is not None:
            edge, side, thick = sc.placenta
            c.paint((rng_mm + ripple > uterus) & (rng_mm + ripple <= uterus + thick) & (side * (x - edge) > 0), S.MATERNAL, echo=1.1)
        c.paint(rng_mm >= sc.far_wall_mm + 0.5 * ripple, S.MATERNAL, echo=0.4)
        for bx, bd, sa, sb, ang in sc.bodies:
            c.paint(_ellipse(x, d, bx, bd, sa, sb, ang), S.FETAL_BODY)
        if sc.bone is not None:
            x0, d0, x1, d1 = sc.bone
            c.paint(_segment(x, d, (x0, d0), (x1, d1), 1.2), S.FETAL_BODY, echo=6.0, tissue=Tissue.SKULL)


def paint_head(c: _Canvas, u: np.ndarray, v: np.ndarray, p: FetalHeadParams, sc: FetalScene) -> None:
    """Scalp, skull and the plane's intracranial structures, in head coordinates."""
    a, b, t = p.semi_major_mm, p.semi_minor_mm, p.skull_mm
    ai, bi = a - t, b - t
    c.paint(_ellipse(u, v, 0, 0, a + 2.0, b + 2.0), S.SCALP)
    c.paint(_ellipse(u, v, 0, 0, a, b), S.SKULL)
    inside = _ellipse(u, v, 0, 0, ai, bi)
    c.paint(inside, S.BRAIN)
    c.paint(inside & (np.abs(v) <= 0.4), S.MIDLINE)  # the falx; structures below interrupt it
    if p.plane is FetalPlane.OTHER:
        _other_plane(c, u, v, p, ai, bi, inside)
    else:
        if p.ga_weeks >= 21:
            for s in (-1.0, 1.0):
                for p0, p1 in (((-0.12, 0.80), (0.10, 0.70)), ((0.10, 0.70), (0.26, 0.80))):
                    c.paint(inside & _segment(u, v, (p0[0] * ai, s * p0[1] * bi), (p1[0] * ai, s * p1[1] * bi), 0.5), S.BRAIN, echo=2.5, tissue=Tissue.SULCUS)
        csp_u = -0.42 * ai if p.plane is not FetalPlane.TRANS_CEREBELLAR else -0.5 * ai
        w = p.csp_width_mm
        c.paint(_ellipse(u, v, csp_u, 0, 0.9 * w + 0.6, w / 2 + 0.6, power=4), S.BRAIN, echo=2.0, tissue=Tissue.FALX)
        c.paint(_ellipse(u, v, csp_u, 0, 0.9 * w, w / 2, power=4), S.CAVUM_SEPTI_PELLUCIDI)
        if p.plane is FetalPlane.TRANS_VENTRICULAR:
            _ventricles(c, u, v, p, ai, bi, csp_u)
        else:
            _thalami(c, u, v, p, ai, bi)
        if p.plane is FetalPlane.TRANS_CEREBELLAR:
            _posterior_fossa(c, u, v, p, ai, inside)
    for u0, v0, u1, v1, echo in sc.streaks:
        c.paint(inside & (c.label == LABEL_IDS[S.BRAIN]) & _segment(u, v, (u0 * ai, v0 * bi), (u1 * ai, v1 * bi), 0.35), S.BRAIN, echo=echo, tissue=Tissue.SULCUS)


def _thalami(c: _Canvas, u, v, p: FetalHeadParams, ai: float, bi: float) -> None:
    tu = -0.02 * ai if p.plane is FetalPlane.TRANS_THALAMIC else -0.12 * ai
    for s in (-1.0, 1.0):
        c.paint(_ellipse(u, v, tu, s * 0.12 * bi, 0.17 * ai, 0.105 * bi, angle=s * 0.35), S.THALAMUS)
    c.paint(_ellipse(u, v, tu, 0, 0.14 * ai, 0.6), S.VENTRICLE)  # third ventricle


def atria(p: FetalHeadParams) -> tuple[tuple[float, float, float], ...]:
    """Centre ``(u, v)`` (head frame, mm) and long-axis angle of the left and right atrium."""
    ai, bi = p.semi_major_mm - p.skull_mm, p.semi_minor_mm - p.skull_mm
    return tuple((0.5 * ai, s * 0.36 * bi, s * 0.45) for s in (-1.0, 1.0))


def _ventricles(c: _Canvas, u, v, p: FetalHeadParams, ai: float, bi: float, csp_u: float) -> None:
    w = p.atrium_mm
    length = min(max(2.4 * w, 0.3 * ai), 0.42 * ai)
    body = 0.5 if w < 10 else 0.07 * w
    room = _ellipse(u, v, 0, 0, ai - 1.0, bi - 1.0)  # the ventricles keep a rim of brain inside the skull
    for s, (au, av, ang) in zip((-1.0, 1.0), atria(p)):
        # frontal horn beside the CSP, the ventricle body along the lateral wall, the atrium behind
        c.paint(room & _ellipse(u, v, csp_u, s * (p.csp_width_mm / 2 + 0.06 * bi), 0.09 * ai, 0.035 * bi + 0.1 * body, angle=s * 0.5), S.VENTRICLE)
        c.paint(room & _segment(u, v, (csp_u, s * (p.csp_width_mm / 2 + 0.08 * bi)), (au, av), body), S.VENTRICLE)
        c.paint(room & _ellipse(u, v, au, av, length / 2, w / 2, angle=ang), S.VENTRICLE)
        # the choroid plexus lies against the dependent (lateral) wall of the atrium
        cw = p.choroid_fill * w
        off = (w - cw) / 2 * 0.9
        cu, cv = au - math.sin(ang) * off * s, av + math.cos(ang) * off * s
        c.paint(room & _ellipse(u, v, cu, cv, 0.8 * length / 2, cw / 2, angle=ang), S.CHOROID_PLEXUS)


def _posterior_fossa(c: _Canvas, u, v, p: FetalHeadParams, ai: float, inside: np.ndarray) -> None:
    tcd = p.tcd_mm
    gap = 0.04 * tcd
    r_right = (tcd - 2 * gap) / (2.0 * (1.0 + p.hemisphere_ratio))
    r_left = p.hemisphere_ratio * r_right
    sv_normal = 0.22 * tcd  # antero-posterior semi-axis of a normal vermis
    vermis_back = ai - p.cisterna_magna_mm  # the cistern's depth is measured on the midline from here
    cu_v = vermis_back - sv_normal * p.vermis_scale  # a small vermis keeps its front and loses its back
    cu_h = vermis_back - 2.0 * sv_normal * p.vermis_scale + sv_normal
    r_u = 0.23 * tcd
    c.paint(_ellipse(u, v, cu_h - r_u - 0.12 * tcd, 0, 0.14 * tcd, 0.16 * tcd), S.BRAINSTEM)
    # cisterna magna: from the cerebellum back to the inner occipital bone, about half the TCD wide
    cis = inside & (u > cu_h - 0.2 * r_u) & _ellipse(u, v, ai, 0, ai - cu_h + 0.3 * r_u, 0.3 * tcd)
    c.paint(cis, S.CISTERNA_MAGNA)
    for s, r in ((-1.0, r_left), (1.0, r_right)):
        hv = s * (gap + r)
        hemi = _ellipse(u, v, cu_h, hv, r_u, r)
        c.paint(hemi, S.CEREBELLAR_HEMISPHERE)
        c.paint(hemi & ~_ellipse(u, v, cu_h, hv, r_u - 0.8, r - 0.8), S.CEREBELLAR_HEMISPHERE, echo=1.6)
    c.paint(_ellipse(u, v, cu_v, 0, sv_normal * p.vermis_scale, 0.11 * tcd), S.VERMIS)
    # two thin septa cross the cistern (echogenic, still cistern)
    for s in (-1.0, 1.0):
        c.paint(cis & _segment(u, v, (vermis_back + 0.5, s * 0.12 * tcd), (ai - 0.3, s * 0.16 * tcd), 0.25) & (c.label == LABEL_IDS[S.CISTERNA_MAGNA]), S.CISTERNA_MAGNA, echo=1.5, tissue=Tissue.FALX)


def _other_plane(c: _Canvas, u, v, p: FetalHeadParams, ai: float, bi: float, inside: np.ndarray) -> None:
    if p.other_kind == "low":  # skull base: sphenoid wings and petrous ridges, brainstem between
        for s in (-1.0, 1.0):
            c.paint(inside & _segment(u, v, (-0.1 * ai, 0.05 * s * bi), (-0.45 * ai, 0.7 * s * bi), 0.9), S.SKULL_BASE)
            c.paint(inside & _segment(u, v, (0.2 * ai, 0.12 * s * bi), (0.05 * ai, 0.75 * s * bi), 1.1), S.SKULL_BASE)
        c.paint(_ellipse(u, v, 0.25 * ai, 0, 0.14 * ai, 0.13 * bi), S.BRAINSTEM)
    else:  # high: the vault, with the ventricle bodies as thin lines
        for s in (-1.0, 1.0):
            c.paint(inside & _segment(u, v, (-0.35 * ai, s * 0.22 * bi), (0.35 * ai, s * 0.3 * bi), 0.5), S.VENTRICLE)
