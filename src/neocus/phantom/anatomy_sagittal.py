"""Midline (sagittal) anatomy of the neonatal head that the midsagittal view shows (issue #14).

Pure builders of painters, called from :mod:`neocus.phantom.anatomy_deep` (third ventricle, vermis
folia, pons) and :mod:`neocus.phantom.anatomy` (midline skull base and face, outside the brain):

* the third ventricle as its real sagittal profile (Monro -> roof -> suprapineal and pineal recesses
  -> aqueduct -> floor with the mammillary bodies -> infundibular and optic recesses -> lamina
  terminalis), a polygon in y-z a few mm wide in x, instead of a rounded box;
* the vermis's arbor vitae: the cerebellar vermis is echogenic with brighter fissures radiating from
  the fastigium and a hypoechoic white-matter core with branches (echo texture only; the vermis's
  tissue and part labels are unchanged);
* the ventral bulge of the pons on the brainstem;
* the midline skull base and face under the cranial floor (|x| within ``BASE_HALF_WIDTH_MM``): a
  thick, irregular, bright skull base (neonatal sphenoid, ethmoid and clivus: ossification centres
  joined by cartilage, so it is bright but does not shadow like the calvarium; painted as soft tissue
  with a strong echo and bony islands) and the face and upper neck soft tissue below it, where the
  phantom used to draw black background.

Sizes: the vermis height follows :func:`vermis_height_mm` (a GA norm; the vermis ellipsoid's height is
checked against it in the tests); the third ventricle keeps its width norm (``norms.third_ventricle_width``)
and the outline of the previous box (18 x 15 mm at term scale).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from neocus.phantom.anatomy_painters import U8, Placement, _Out, _Painter, painter
from neocus.phantom.parts import Part
from neocus.phantom.primitives import F32, Ellipsoid, lut, rotation_xyz
from neocus.phantom.tissues import Tissue

if TYPE_CHECKING:
    from neocus.phantom.anatomy_outline import HeadOutline

#: Cerebellar vermis height (cranio-caudal, midsagittal, mm) by GA 24, 28, 32, 36, 40, 42 weeks:
#: approximately, from neonatal and fetal nomograms (Imamoglu EY, Gursoy T, Ovali F, et al.
#: Nomograms of cerebellar vermis height and transverse cerebellar diameter in appropriate-for-
#: gestational-age neonates. Early Hum Dev 2013;89:919-923; Malinger G, Ginath S, Lerman-Sagie T,
#: et al. The fetal cerebellar vermis: normal development as shown by transvaginal ultrasound.
#: Prenat Diagn 2001;21:687-692), rounded; values between knots are interpolated.
_VERMIS_H_GA = np.array([24.0, 28.0, 32.0, 36.0, 40.0, 42.0])
_VERMIS_H_MM = np.array([12.0, 14.5, 17.0, 19.5, 22.0, 23.0])

#: half-width (mm at term scale) of the midline skull base and face that is drawn
BASE_HALF_WIDTH_MM = 20.0
#: thickness (mm at term scale) of the bright skull base under the cranial floor
BASE_THICK_MM = 5.0
#: how far (mm at term scale) below the skull base the face / neck soft tissue is drawn
FACE_DEPTH_MM = 45.0

# third ventricle profile (y, z) in mm at term scale around the deep origin (the foramina of Monro):
# roof, suprapineal and pineal recesses, aqueduct, floor (mammillary bodies), infundibular recess,
# chiasm, optic recess, lamina terminalis
_THIRD_YZ = np.array(
    [
        [0.5, 0.8], [-4.0, 1.0], [-9.0, 0.0], [-13.0, -1.5], [-15.5, -3.2], [-13.8, -5.5], [-13.8, -8.5],
        [-13.0, -12.0], [-10.0, -12.3], [-6.0, -13.3], [-3.2, -16.8], [-1.4, -16.5], [-0.6, -14.2],
        [1.6, -15.2], [3.0, -14.2], [3.2, -10.0], [2.6, -4.0], [1.2, -1.0],
    ]
)


def vermis_height_mm(ga_weeks: float) -> float:
    """Median cerebellar vermis height (mm) at ``ga_weeks`` (see ``_VERMIS_H_MM``)."""
    return float(np.interp(ga_weeks, _VERMIS_H_GA, _VERMIS_H_MM))


def _polygon_inside_and_depth(yz: np.ndarray, poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Even-odd inside test of points ``yz [N, 2]`` against ``poly [M, 2]`` and their distance to its
    edges (all edges at once: ``[N, M]`` arrays, the same float32 arithmetic per point and edge as an
    edge-by-edge loop)."""
    y, z = yz[:, 0:1], yz[:, 1:2]
    y0, z0 = poly[:, 0], poly[:, 1]
    y1, z1 = np.roll(poly[:, 0], -1), np.roll(poly[:, 1], -1)
    cross = (z0 > z) != (z1 > z)
    yx = y0 + (z - z0) * (y1 - y0) / (z1 - z0 + 1e-12)
    inside = np.logical_xor.reduce(cross & (y < yx), axis=1)
    ey, ez = y1 - y0, z1 - z0
    t = np.clip(((y - y0) * ey + (z - z0) * ez) / (ey * ey + ez * ez), 0, 1)
    dist = np.hypot(y - y0 - t * ey, z - z0 - t * ez).astype(F32).min(axis=1, initial=np.inf)
    return inside, dist


def third_ventricle_painter(s: float, *, w3: float, rounding: float, dx: float, dy: float, dz: float) -> tuple[np.ndarray, Placement]:
    """The third ventricle (CSF, :attr:`Part.THIRD_VENTRICLE`) with the massa intermedia: its sagittal
    profile (``_THIRD_YZ`` at brain scale ``s``, swelling by up to 25 % with ``rounding`` as it
    dilates), ``w3`` mm wide at its middle and narrowing toward its rim (rounder when dilated).
    Returns the centre of its old box (the midsagittal view's region of interest) and the painter."""
    rnd = float(np.clip(rounding, 0, 1))
    c3 = np.array([dx, -5.5 * s + dy, -6.5 * s + dz])
    poly = _THIRD_YZ * s
    mid = poly.mean(axis=0)
    poly = (mid + (poly - mid) * (1.0 + 0.25 * rnd) + [dy, dz]).astype(F32)
    mi_c = np.array([-6.5 * s + dy, -4.5 * s + dz], dtype=F32)
    mi_r = F32(2.6 * s * (1.0 - 0.6 * rnd))
    edge = F32(1.5 * s)
    expo = F32(0.15 + 0.5 * rnd)

    def third(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        inside, dist = _polygon_inside_and_depth(pts[:, 1:3], poly)
        half = F32(w3 / 2) * np.clip(dist / edge, 0, 1) ** expo
        inside &= np.abs(pts[:, 0] - F32(dx)) < half
        mi = ((pts[:, 1] - mi_c[0]) ** 2 + (pts[:, 2] - mi_c[1]) ** 2) < mi_r * mi_r
        sel = idx[inside & ~mi]
        out.tissue[sel] = Tissue.CSF
        out.part[sel] = Part.THIRD_VENTRICLE

    lo = np.array([dx - w3, poly[:, 0].min(), poly[:, 1].min()])
    hi = np.array([dx + w3, poly[:, 0].max(), poly[:, 1].max()])
    return c3, painter("third", lo, hi, third)


def vermis_folia_painter(vermis: Ellipsoid, *, fastigium_yz: np.ndarray, s: float) -> Placement:
    """The arbor vitae look of the vermis (echo texture of :attr:`Tissue.VERMIS` points only): bright
    fissures radiating from the fastigium over the outer 55 % of the vermis (the primary fissure
    deepest), a hypoechoic medullary core near the fastigium with a branch into each folium."""
    is_vermis = lut([Tissue.VERMIS])
    fy, fz = F32(fastigium_yz[0]), F32(fastigium_yz[1])
    reach = F32(float(np.max(vermis.radii)) * 1.25 + 0.4 * np.hypot(vermis.centre[1] - fastigium_yz[0], vermis.centre[2] - fastigium_yz[1]))
    # fissure directions (radians from posterior, + = up): about 9 lobules over ~230 degrees
    n_lob = 9
    width = F32(np.radians(230.0) / n_lob)
    start = F32(np.radians(-115.0))
    line = F32(0.35 * s ** 0.5)  # fissure half-thickness (mm)

    def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        m = is_vermis[out.tissue[idx]]
        if not m.any():
            return
        p = pts[m]
        sel = idx[m]
        vy, vz = fy - p[:, 1], p[:, 2] - fz  # posterior, up
        r = np.hypot(vy, vz) / reach
        ang = np.arctan2(vz, vy)
        u = (ang - start) / width
        frac = u - np.floor(u)  # 0 at a fissure, 0.5 mid-lobule
        arc = np.hypot(vy, vz) * width  # mm between fissures at this radius
        d_fis = np.minimum(frac, 1 - frac) * arc
        lob = np.floor(u).astype(np.int32)
        r_in = np.where(lob == 3, F32(0.32), F32(0.45))  # the primary fissure cuts deepest
        fissure = (d_fis < line) & (r > r_in)
        core = r < 0.3
        branch = (np.abs(frac - 0.5) * arc < line * 1.6) & (r < 0.72) & ~fissure
        mod = np.full(len(sel), F32(1.0))
        mod[core | branch] = F32(0.4)
        mod[fissure] = F32(1.6)
        out.mod[sel] = mod

    return _Painter("vermis_folia", vermis.lo, vermis.hi, paint), "fourth"


#: GA (weeks) until which the cavum vergae reaches back to the atria, and by which it has closed: the
#: cavum septi pellucidi et vergae closes from behind forward, the vergae first; it is present in
#: most preterm infants and rare at term (Farruggia S, Babcock DS. The cavum septi pellucidi: its
#: appearance and incidence with cranial ultrasonography in infancy. Radiology 1981;139:147-150;
#: Mott SH, Bodensteiner JB, Allan WC. The cavum septi pellucidi in term and preterm newborn infants.
#: J Child Neurol 1992;7:35-38); the GA limits here are rounded, not fitted
VERGAE_FULL_GA = 27.0
VERGAE_CLOSED_GA = 34.0


def cavum_vergae_painter(ga_weeks: float, s: float, *, x_mid: float, csp_half: float, y_front: float, y_back: float, z_top: float, z_bot: float) -> Placement | None:
    """The cavum vergae (CSF, part of :attr:`Part.CAVUM_SEPTI_PELLUCIDI`): the cavum's continuation behind
    the foramina (from ``y_front``) under the callosal body toward the splenium (``y_back`` when fully
    open), its length shrinking linearly from ``VERGAE_FULL_GA`` to none at ``VERGAE_CLOSED_GA``;
    between ``z_bot`` and ``z_top``, as wide as the cavum (``csp_half``). None when closed."""
    frac = float(np.clip((VERGAE_CLOSED_GA - ga_weeks) / (VERGAE_CLOSED_GA - VERGAE_FULL_GA), 0, 1))
    length = frac * (y_front - y_back)
    if csp_half <= 0.2 or length < 2.0 * s:
        return None
    cen = np.array([x_mid, y_front - length / 2, (z_top + z_bot) / 2])
    rad = np.array([csp_half, length / 2 + 1.0 * s, (z_top - z_bot) / 2])
    e = Ellipsoid(cen, rad, np.eye(3))

    def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        sel = idx[e.q(pts) < 1]
        out.tissue[sel] = Tissue.CSF
        out.part[sel] = Part.CAVUM_SEPTI_PELLUCIDI

    return _Painter("cavum_vergae", e.lo, e.hi, paint), None


def pons_painter(s: float, *, dx: float, dy: float, dz: float) -> Placement:
    """The ventral bulge of the pons (:attr:`Tissue.BRAINSTEM`) in front of the brainstem tube."""
    e = Ellipsoid([dx, -13.0 * s + dy, -27.0 * s + dz], np.array([9.0, 5.5, 7.5]) * s, rotation_xyz(rx_deg=-15))

    def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        sel = idx[e.q(pts) < 1]
        out.tissue[sel] = Tissue.BRAINSTEM
        out.part[sel] = Part.BRAINSTEM

    return _Painter("pons", e.lo, e.hi, paint), "aqueduct"


def skull_base_painter(outline: HeadOutline, s: float) -> Callable[[np.ndarray, np.ndarray, np.ndarray, _Out], None]:
    """A painter of points outside the brain (``paint(pts, idx, d, out)``, ``d`` their distance to the
    brain surface) for the midline skull base and face: under the cranial floor of ``outline``,
    within ``BASE_HALF_WIDTH_MM`` of the midline and behind the frontal pole, beyond the extra-axial
    CSF: first ``BASE_THICK_MM`` of bright skull base, then face and neck soft tissue out to
    ``FACE_DEPTH_MM``. Deterministic (a fixed texture of the coordinates)."""
    x_mid = float(outline.off[0])
    y_front = float(outline.c1[1] + outline.ay)
    fy, fz = outline.floor_y.astype(F32), outline.floor_z.astype(F32)
    bowl = F32(outline.floor_bowl)

    def floor_z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.interp(y, fy, fz).astype(F32) + bowl * (x - F32(x_mid)) ** 2

    sh = F32(0.3 * outline.thick[0])  # the base takes most of the basal CSF shell
    z_top = F32(float(np.max(outline.floor_z[1:-1])) + outline.floor_bowl * (BASE_HALF_WIDTH_MM * s) ** 2 + 1.0)
    half_w = F32(BASE_HALF_WIDTH_MM * s)
    base = F32(BASE_THICK_MM * s)
    face = F32(FACE_DEPTH_MM * s)
    k1 = F32(2 * np.pi / (4.0 * s))
    k2 = F32(2 * np.pi / (2.3 * s))

    def paint(pts: np.ndarray, idx: np.ndarray, d: np.ndarray, out: _Out) -> None:
        low = np.flatnonzero(pts[:, 2] < z_top)  # most of the outside is scalp over the vault: skip it
        if not len(low):
            return
        pl = np.take(pts, low, axis=0)
        x, y, z = pl[:, 0], pl[:, 1], pl[:, 2]
        xo = np.abs(x - F32(x_mid))
        near = (xo < half_w) & (y < F32(y_front)) & (d[low] > sh) & (d[low] < sh + base + face)
        cand = np.flatnonzero(near)
        if not len(cand):
            return
        cand = cand[z[cand] < floor_z(x[cand], y[cand]) + F32(0.5)]
        if not len(cand):
            return
        xc, yc, zc, dc = x[cand], y[cand], z[cand], d[low[cand]] - sh
        # a smooth irregular field of the coordinates: bony islands and cartilage in the base, fat,
        # muscle and air-filled cavities (bright walls) in the face
        tex = np.sin(k1 * yc + F32(1.3) * np.sin(k2 * zc)) * np.cos(k1 * zc - F32(0.7) * xc) + F32(0.5) * np.sin(k2 * (xc + yc - zc))
        taper = np.clip((half_w - xo[cand]) / F32(6.0 * s), 0, 1)  # fades out sideways
        in_base = dc < base * (F32(0.75) + F32(0.25) * tex)
        sel = idx[low[cand]]
        out.tissue[sel] = Tissue.SCALP
        out.part[sel] = np.where(in_base, U8(Part.SKULL), U8(Part.SCALP))
        mod = np.where(in_base, F32(3.2) + F32(1.0) * tex, np.maximum(F32(0.5) + F32(0.6) * tex, F32(0.08)))
        bone = in_base & (tex > F32(0.7))
        out.tissue[sel[bone]] = Tissue.SKULL
        out.mod[sel] = np.where(bone, F32(1.0), F32(1.0) + (mod - F32(1.0)) * taper)

    return paint
