"""The skull base under the cerebrum (issue #14): what a real coronal view shows at its bottom.

Before this module the head model ended at the floor of the cranial fossae: a thin bone plate, a
scalp layer and then nothing (black), so the phantom's coronal views had a flat, thin bottom line and
its posterior coronal views an "hourglass" outline (the cerebrum's floor and the posterior-fossa
bulge with black between them). A real coronal view (NCLS captures, GE 9L) instead shows a bright,
thick, irregular skull base across the bottom of the image: the orbital roofs with the orbits under
them (dark, with bright rims) in the anterior view, the floors of the middle cranial fossae and the
petrous ridges (bright curved lines at the bottom and the sides) in the posterior ones.

:func:`build_skull_base` sizes the parts from the head outline and GA norms; :func:`paint_skull_base`
repaints the points of the head's outer shells (outside the brain) that lie in the skull base:

* the **cranial envelope**: the cerebral ellipsoid inflated by the shells (extra-axial CSF, skull,
  scalp), its lower half stretched down to below the posterior fossa and flattened (broad base); only points inside it and
  below ``z_top`` (the lower part of the head) are the skull base, so the calvarium above is as before;
* the **bone plate**: from the extra-axial CSF outward ``bone_mm`` of bone (thicker than the
  calvarium: the skull base is the densest bone of the neonatal skull), thin (``roof_mm``) over the
  orbits; behind ``petrous_y`` and off the midline the plate is the petrous part of the temporal bone
  (part ``PETROUS_*``), elsewhere part ``SKULL_BASE``;
* the **interior**: soft tissue and marrow under the plate (mottled, moderately echogenic; the bone
  above shadows it), instead of the black background of the old model;
* the **orbits** under the anterior cranial fossa: a bony orbit (thin bone shell; fat inside, less
  echogenic than the interior around it: real orbits look dark with bright rims) holding the globe
  (anechoic vitreous), per side.

Orbit sizes (approximate, read off the published charts like :mod:`neocus.phantom.norms`): ocular
(globe) diameter and inner interocular distance grow about linearly with GA, to ~16-17 mm and
~16 mm at term (Goldstein I, Tamir A, Zimmer EZ, Itskovitz-Eldor J. Growth of the fetal orbit and
lens in normal pregnancies. Ultrasound Obstet Gynecol 1998;12:175-179; Trout T, Budorick NE,
Pretorius DH, McGahan JF. Significance of orbital measurements in the fetus. J Ultrasound Med
1994;13:937-943; axial length ~16.8 mm at birth: Gordon RA, Donzis PB. Refractive development of
the human eye. Arch Ophthalmol 1985;103:785-789). Orbital depth ~ 30 mm at term (scaled with the
brain). Skull-base bone ~2.5-3.5 mm thick under the middle fossae at term, the orbital roof < 1 mm
(neonatal CT anatomy; scaled with the brain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neocus.phantom.anatomy_painters import U8, _Out
from neocus.phantom.parts import Part
from neocus.phantom.primitives import F32, Ellipsoid, on_rows, rotation_xyz
from neocus.phantom.tissues import Tissue

if TYPE_CHECKING:
    from neocus.phantom.anatomy_outline import HeadOutline

GA_KNOTS = np.array([24.0, 28.0, 32.0, 36.0, 40.0, 42.0])
#: ocular (globe) diameter (mm), Goldstein 1998 / Trout 1994 (approximate)
OCULAR_DIAMETER_MM = np.array([9.0, 10.8, 12.6, 14.4, 16.2, 17.0])
#: inner interocular distance (mm), Trout 1994 (approximate)
INTEROCULAR_MM = np.array([10.5, 11.8, 13.2, 14.5, 15.8, 16.4])
#: skull-base bone plate (term, mm; scaled with the brain) and the orbital roof over the orbits
BASE_BONE_MM = 3.0
ORBITAL_ROOF_MM = 0.8
#: the orbit's bony wall (mm) and its depth from rim to apex (term, mm)
ORBIT_WALL_MM = 0.8
ORBIT_DEPTH_MM = 30.0


def ocular_diameter_mm(ga_weeks: float) -> float:
    """Median globe diameter (mm) at ``ga_weeks`` (see the module docstring)."""
    return float(np.interp(ga_weeks, GA_KNOTS, OCULAR_DIAMETER_MM))


def interocular_distance_mm(ga_weeks: float) -> float:
    """Median inner interocular distance (mm) at ``ga_weeks``."""
    return float(np.interp(ga_weeks, GA_KNOTS, INTEROCULAR_MM))


@dataclass(frozen=True, eq=False)
class SkullBase:
    """The skull base of one head (head coordinates, mm): the cranial envelope (centre ``centre``,
    inverse half-axes ``inv_up`` above and ``inv_low`` below its centre), the top of the skull-base
    region ``z_top``, the bone plate (``bone_mm``, ``roof_mm`` over the orbits, beyond the
    ``csf_mm`` of extra-axial CSF, which thins to a fifth at ``z_low``), the petrous part behind ``petrous_y`` and lateral to ``midline_mm``,
    and per side (+1 left, -1 right) the bony ``orbit``, the ``globe`` and the box ``orbit_box`` outside
    which neither changes a point (key 0: around both sides)."""

    centre: np.ndarray
    inv_up: np.ndarray
    inv_low: np.ndarray
    z_top: float
    z_low: float
    csf_mm: float
    bone_mm: float
    roof_mm: float
    wall_mm: float
    petrous_y: float
    midline_mm: float
    orbit: dict[int, Ellipsoid]
    globe: dict[int, Ellipsoid]
    scale: float
    orbit_box: dict[int, tuple[np.ndarray, np.ndarray]]

    @property
    def inv_up_low(self) -> np.ndarray:
        """``[inv_up, inv_low]`` as rows (indexed by "below the centre")."""
        return np.stack([self.inv_up, self.inv_low])



def build_skull_base(o: HeadOutline, s: float, *, ga_weeks: float) -> SkullBase:
    """The skull base of the head of outline ``o`` at brain scale ``s`` and GA ``ga_weeks``."""
    layer = float(sum(o.thick))
    c = np.array([o.off[0], o.c1[1], o.c1[2]])
    z_bottom = float(o.c2[2] - o.r2[2]) - layer - 8.0 * s  # under the posterior fossa
    inv_up = 1.0 / np.array([o.ax + layer, o.ay + layer, o.az + layer])
    inv_low = 1.0 / np.array([o.ax + layer, o.ay + layer, c[2] - z_bottom])
    od = ocular_diameter_mm(ga_weeks)
    iod = interocular_distance_mm(ga_weeks)
    r_g = od / 2
    # globes under the orbital roofs (anterior cranial fossa floor, the floor profile's front), their
    # front a little ahead of the frontal pole: the anterior-horn view (tilted forward from the
    # fontanelle) cuts the orbits' posterior cones and seldom the globes (those are the first, most
    # anterior coronal view's)
    y_front = float(o.c1[1] + o.ay)
    z_roof = float(o.floor_z[-1])
    orbit, globe = {}, {}
    for side in (1, -1):
        g = np.array([o.off[0] + side * (iod / 2 + r_g), y_front - r_g + 4.0 * s, z_roof - o.thick[0] - ORBITAL_ROOF_MM * s - 2.5 * s - r_g])
        globe[side] = Ellipsoid(g, np.full(3, r_g))
        depth = ORBIT_DEPTH_MM * s
        # the bony orbit: a long ellipsoid from the rim (around the globe) back to the apex near the
        # midline, its axis turned ~20 degrees outward anteriorly (the orbits diverge)
        centre = g + np.array([-side * 0.15 * depth, -0.42 * depth, 0.0])
        rot = rotation_xyz(rz_deg=-side * 20.0)
        orbit[side] = Ellipsoid(centre, np.array([r_g + 2.5 * s, 0.62 * depth, r_g + 2.0 * s]), rot)
    return SkullBase(
        centre=c, inv_up=inv_up.astype(F32), inv_low=inv_low.astype(F32),
        z_top=float(o.c1[2] - 0.25 * o.az), z_low=float(o.c1[2] - 0.9 * o.az), csf_mm=float(o.thick[0]),
        bone_mm=BASE_BONE_MM * s, roof_mm=ORBITAL_ROOF_MM * s, wall_mm=ORBIT_WALL_MM * s,
        petrous_y=float(o.off[1] - 12.0 * s), midline_mm=10.0 * s,
        orbit=orbit, globe=globe, scale=s, orbit_box=_orbit_boxes(orbit, globe),
    )


def _orbit_boxes(orbit: dict[int, Ellipsoid], globe: dict[int, Ellipsoid]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """:attr:`SkullBase.orbit_box`: per side and (key 0) around both."""
    boxes = {side: _orbit_box(orbit[side], globe[side]) for side in orbit}
    boxes[0] = (np.min([b[0] for b in boxes.values()], axis=0), np.max([b[1] for b in boxes.values()], axis=0))
    return boxes


def _orbit_box(orbit: Ellipsoid, globe: Ellipsoid) -> tuple[np.ndarray, np.ndarray]:
    """A float32 box (lo, hi) holding every point where the orbit's ``q < 1.6`` (the reach of the
    roof over it) or the globe's ``q < 1`` (1 mm margin for rounding): the only points whose paint
    the orbit can change."""
    reach = np.sqrt(1.6) * (orbit.hi - orbit.centre)
    lo = np.minimum(orbit.centre - reach, globe.lo) - 1.0
    hi = np.maximum(orbit.centre + reach, globe.hi) + 1.0
    return lo.astype(F32), hi.astype(F32)


def _mottle(p: np.ndarray, s: float) -> np.ndarray:
    """A cheap deterministic echo texture of the skull-base interior (0.25-1.15): bone trabeculae,
    air cells and soft tissue at a few mm scale."""
    k = F32(2 * np.pi / (5.0 * s))
    a = np.sin(k * (p[:, 0] + F32(0.6) * p[:, 2])) * np.sin(k * F32(0.8) * (p[:, 1] - F32(0.5) * p[:, 0]))
    b = np.sin(k * F32(1.9) * (p[:, 2] + F32(0.3) * p[:, 1]))
    return (F32(0.7) + F32(0.3) * a + F32(0.15) * b).astype(F32)


def paint_skull_base(base: SkullBase, pts: np.ndarray, idx: np.ndarray, d: np.ndarray, out: _Out) -> None:
    """Repaint the skull base among outer-shell points ``pts`` (indices ``idx`` into ``out``, signed
    distance ``d`` > 0 to the brain surface): bone plate, interior, orbits (see the module docstring)."""
    # the extra-axial CSF thins toward the bottom (the temporal lobes and the cerebellum lie on the
    # bone; no dark rim under them), to a fifth at ``z_low``
    csf = F32(base.csf_mm) * np.clip((pts[:, 2] - F32(base.z_low)) / F32(base.z_top - base.z_low), F32(0.2), F32(1.0))
    cand = np.flatnonzero((d > csf) & (pts[:, 2] < F32(base.z_top)))
    if not len(cand):
        return
    p = np.take(pts, cand, axis=0)
    csf = csf[cand]
    q = p - base.centre.astype(F32)
    low = q[:, 2] < 0
    u = q * base.inv_up_low[low.astype(np.intp)]
    # below its centre the envelope keeps its width longer (|y|^4, |z|^4): the skull base is broad and
    # flat, from the petrous bones out to the mastoids, not the narrowing bottom of an ellipsoid
    uy2, uz2 = u[:, 1] * u[:, 1], u[:, 2] * u[:, 2]
    inside = u[:, 0] * u[:, 0] + np.where(low, uy2 * uy2 + uz2 * uz2, uy2 + uz2) < F32(1.0)
    # orbits first: they lie below the anterior fossa floor, inside or at the edge of the envelope
    in_orbit = np.zeros(len(cand), dtype=bool)
    roof = np.zeros(len(cand), dtype=bool)
    # only points in the box of an orbit's roof (q < 1.6) and globe can change: both orbits' box first
    lo, hi = base.orbit_box[0]
    both = np.flatnonzero(p[:, 1] >= lo[1])
    both = both[(p[both, 1] <= hi[1]) & (p[both, 2] >= lo[2]) & (p[both, 2] <= hi[2])]
    for side, orb in base.orbit.items():
        lo, hi = base.orbit_box[side]
        pn = np.take(p, both, axis=0)
        near = both[(pn[:, 0] >= lo[0]) & (pn[:, 0] <= hi[0]) & (pn[:, 1] >= lo[1]) & (pn[:, 1] <= hi[1]) & (pn[:, 2] >= lo[2]) & (pn[:, 2] <= hi[2])]
        if not len(near):
            continue
        qo = on_rows(orb.q, p, near)
        qg = on_rows(base.globe[side].q, p, near)
        # the roof over the orbit (a thin bone plate): points above the orbit within its footprint
        roof[near] |= qo < F32(1.6)
        mn = np.flatnonzero((qo < F32(1.0)) | (qg < F32(1.0)))
        if not len(mn):
            continue
        m = near[mn]
        in_orbit[m] = True
        r_min = float(orb.radii.min())
        vit = qg[mn] < F32(1.0)
        wall = (qo[mn] > F32((1.0 - base.wall_mm / r_min) ** 2)) & ~vit
        sel = idx[cand[m]]
        out.tissue[sel] = np.where(wall, U8(Tissue.SKULL), np.where(vit, U8(Tissue.CSF), U8(Tissue.SCALP)))
        out.part[sel] = Part.ORBIT_LEFT if side > 0 else Part.ORBIT_RIGHT
        out.mod[sel] = np.where(vit | wall, F32(1.0), F32(0.6))
    m = np.flatnonzero(inside & ~in_orbit)
    if not len(m):
        return
    pm, dm = np.take(p, m, axis=0), d[cand[m]]
    bone_t = np.where(roof[m], F32(base.roof_mm), F32(base.bone_mm))
    bone = dm < csf[m] + bone_t
    sel = idx[cand[m]]
    petrous = (pm[:, 1] < F32(base.petrous_y)) & (np.abs(pm[:, 0] - F32(base.centre[0])) > F32(base.midline_mm))
    left = pm[:, 0] >= F32(base.centre[0])
    part = np.where(petrous, np.where(left, U8(Part.PETROUS_LEFT), U8(Part.PETROUS_RIGHT)), U8(Part.SKULL_BASE))
    out.tissue[sel] = np.where(bone, U8(Tissue.SKULL), U8(Tissue.SCALP))
    out.part[sel] = part
    out.mod[sel] = np.where(bone, F32(1.0), _mottle(pm, base.scale))
