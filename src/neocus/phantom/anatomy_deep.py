"""The deep structures of the neonatal head, one builder per structure group (split out of
:mod:`neocus.phantom.anatomy`): Sylvian fissures, deep grey matter, posterior fossa, lateral ventricles,
midline (corpus callosum, cingulate sulcus, cavum), third and fourth ventricles, caudothalamic grooves.

:func:`build_deep_structures` runs the builders in painting order; each is a pure function of the
parameters (and of the structures built before it) that returns its structures and its painters
(primitives with bounding boxes, each placed before a named painter or at the end), gathered in a frozen
:class:`DeepStructures` that ``NeonatalHead.__init__`` assigns and ``NeonatalHead.sample`` evaluates.

The painters' plumbing (painter types, placement, ellipsoid / tube painters) is in
:mod:`neocus.phantom.anatomy_painters`; the lateral ventricles (the largest group: tubes, horns,
choroid plexus, halo) are built in :mod:`neocus.phantom.anatomy_ventricles`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neocus.phantom.anatomy_painters import (
    U8, Placement, _Out, _Painter, ellipsoid_painter, painter, place, superellipsoid_painter, tube_painter,
)
from neocus.phantom.anatomy_sagittal import cavum_vergae_painter, pons_painter, third_ventricle_painter, vermis_folia_painter, vermis_height_mm
from neocus.phantom.anatomy_ventricles import DEEP_ORIGIN, build_lateral_ventricles  # noqa: F401  (DEEP_ORIGIN re-exported)
from neocus.phantom.parts import Part
from neocus.phantom.primitives import F32, Ellipsoid, Tube, lut, rotation_xyz
from neocus.phantom.tissues import Tissue

if TYPE_CHECKING:
    from neocus.phantom.anatomy_params import AnatomyParams


@dataclass(frozen=True, eq=False)
class DeepStructures:
    """The deep structures of one head (head coordinates, mm) and their painters in painting order.

    Per side (+1 left, -1 right): ``thalamus``, ``caudate`` (head, body), ``lv`` (the C-shaped lateral
    ventricle tube), ``lv_occ`` (its occipital horn), ``glomus`` (centre of the choroid plexus glomus),
    ``ctg`` (caudothalamic groove). ``cingulate`` is None before the sulcus forms (~28 weeks).
    """

    third_mm: float
    thalamus: dict[int, Ellipsoid]
    caudate: dict[int, list[Ellipsoid]]
    vermis: Ellipsoid
    cisterna: Ellipsoid
    brainstem: Tube
    lv: dict[int, Tube]
    lv_occ: dict[int, Tube]
    glomus: dict[int, np.ndarray]
    csp_half: float
    x_med: float
    cc: Tube
    cingulate: Tube | None
    third_centre: np.ndarray
    aqueduct: Tube
    fourth_tri: np.ndarray
    ctg: dict[int, Ellipsoid]
    painters: tuple[_Painter, ...]


def build_deep_structures(
    p: AnatomyParams, s: float, *, ax: float, ay: float, c1: np.ndarray, c2: np.ndarray, cortex_mm: float, sulcus_half_mm: float
) -> DeepStructures:
    """The deep structures, one builder per structure group, in painting order. ``s`` is the brain
    scale; ``ax``, ``ay``, ``c1``, ``c2`` the cerebral half-axes and the centres of the cerebral and
    posterior-fossa ellipsoids (from the head outline); ``cortex_mm`` and ``sulcus_half_mm`` from the
    folding field."""
    w3 = p.third_mm
    painters = place([], _sylvian(p, s, ax=ax, cortex_mm=cortex_mm))
    thalamus, caudate, placed = _deep_grey(p, s, w3=w3)
    painters = place(painters, placed)
    vermis, cisterna, brainstem, placed = _posterior_fossa(p, s, c2=c2)
    painters = place(painters, placed)
    lv, lv_occ, glomus, csp_half, x_med, placed = build_lateral_ventricles(p, s, thalamus=thalamus, c1=c1, ay=ay)
    painters = place(painters, placed)
    cc, cingulate, placed = _midline(p, s, lv=lv, csp_half=csp_half, cortex_mm=cortex_mm, sulcus_half_mm=sulcus_half_mm)
    painters = place(painters, placed)
    third_centre, placed = _third_ventricle(p, s, w3=w3, x_med=x_med)
    painters = place(painters, placed)
    aqueduct, fourth_tri, placed = _fourth_ventricle(p, s)
    painters = place(painters, placed)
    painters = place(painters, [vermis_folia_painter(vermis, fastigium_yz=fourth_tri[2], s=s), pons_painter(s, dx=DEEP_ORIGIN[0], dy=DEEP_ORIGIN[1], dz=DEEP_ORIGIN[2])])
    ctg, placed = _caudothalamic_grooves(s, lv=lv)
    painters = place(painters, placed)
    return DeepStructures(
        third_mm=w3, thalamus=thalamus, caudate=caudate, vermis=vermis, cisterna=cisterna, brainstem=brainstem,
        lv=lv, lv_occ=lv_occ, glomus=glomus, csp_half=csp_half, x_med=x_med, cc=cc, cingulate=cingulate,
        third_centre=third_centre, aqueduct=aqueduct, fourth_tri=fourth_tri, ctg=ctg, painters=tuple(painters),
    )


def _sylvian(p: AnatomyParams, s: float, *, ax: float, cortex_mm: float) -> list[Placement]:
    """The paired Sylvian fissures with the insular cortex medial to them."""
    _, dy, dz = DEEP_ORIGIN
    mat = p.maturity
    x_ins = ax * (0.80 - 0.10 * mat)
    w_in = 0.5 + 2.5 * (1 - mat) ** 1.5
    w_out = 0.6 + 5.0 * (1 - mat) ** 1.5
    y0, y1 = -24.0 * s + dy, 14.0 * s + dy
    zs0 = -8.0 * s + dz

    def sylvian(side: int) -> Callable[[np.ndarray, np.ndarray, _Out], None]:
        part = Part.SYLVIAN_FISSURE_LEFT if side > 0 else Part.SYLVIAN_FISSURE_RIGHT

        def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
            ax_ = pts[:, 0] * side
            y = pts[:, 1]
            frac = np.clip((ax_ - x_ins) / (ax - x_ins), 0, 1)
            zc = zs0 - 0.25 * (y - dy) + 0.25 * (ax_ - x_ins)
            half = w_in + (w_out - w_in) * frac
            # taper at the fissure's anterior and posterior ends
            endw = np.clip(np.minimum(y - y0, y1 - y) / (6.0 * s), 0, 1)
            half = half * endw
            dzv = np.abs(pts[:, 2] - zc)
            inside = (ax_ > x_ins) & (dzv < half)
            sel = idx[inside]
            rim = (half[inside] - dzv[inside]) < 0.7 + 0.3 * mat
            out.tissue[sel] = np.where(rim, Tissue.SULCUS, Tissue.CSF)
            out.part[sel] = part
            # insular cortex medial to the fissure; once the opercula close (maturity > 0.3) its pial
            # surface (the circular sulcus) is an echogenic line along the fissure's medial end: with
            # the fissure a bright "T" in a coronal view (its part stays cortex: the fissure's truth
            # box is the stem)
            ins = (ax_ <= x_ins) & (ax_ > x_ins - cortex_mm) & (dzv < half + 9.0 * s)
            out.tissue[idx[ins]] = Tissue.GREY_MATTER
            if mat > 0.3:
                pia = (ax_ <= x_ins) & (ax_ > x_ins - 1.2 * mat) & (dzv < half + 9.0 * s * endw)
                out.tissue[idx[pia]] = Tissue.SULCUS

        return paint

    placed = []
    for side in (1, -1):
        xa, xb = sorted((side * (x_ins - 3), side * (ax + 2)))
        placed.append(painter(f"sylvian{side}", [xa, y0, zs0 - 12 * s - w_out], [xb, y1, zs0 + 12 * s + w_out], sylvian(side)))
    return placed


def _deep_grey(p: AnatomyParams, s: float, *, w3: float) -> tuple[dict[int, Ellipsoid], dict[int, list[Ellipsoid]], list[Placement]]:
    """Thalami and caudate nuclei (head and body), each side."""
    dx, dy, dz = DEEP_ORIGIN
    thalamus: dict[int, Ellipsoid] = {}
    caudate: dict[int, list[Ellipsoid]] = {}
    placed = []
    for side in (1, -1):
        g = p.deep_grey_scale[0 if side > 0 else 1]
        th_r = np.array([8.0, 12.5, 9.0]) * s * g
        th = Ellipsoid([dx + side * (w3 / 2 + th_r[0] * 0.95), -10.5 * s + dy, -5.0 * s + dz], th_r, rotation_xyz(rz_deg=side * 8))
        thalamus[side] = th
        cd_r = np.array([5.5, 10.0, 6.5]) * s * g
        v = p.ventricle(side)
        cx_ = dx + side * (0.55 * v.vi + 3.5 * s)
        cd = Ellipsoid([cx_, 7.0 * s + dy, -1.5 * s + dz], cd_r, rotation_xyz(rx_deg=-15, rz_deg=side * 10))
        cb = Ellipsoid([dx + side * (0.55 * v.vi + 5.0 * s), -9.0 * s + dy, 4.0 * s + dz], np.array([3.0, 11.0, 3.0]) * s * g, rotation_xyz(rx_deg=-12))
        caudate[side] = [cd, cb]
        placed.append(ellipsoid_painter(f"thalamus{side}", th, Tissue.DEEP_GREY, Part.THALAMUS_LEFT if side > 0 else Part.THALAMUS_RIGHT))
        cpart = Part.CAUDATE_LEFT if side > 0 else Part.CAUDATE_RIGHT
        placed.append(ellipsoid_painter(f"caudate{side}", cd, Tissue.DEEP_GREY, cpart, mod=1.08))
        placed.append(ellipsoid_painter(f"caudate_body{side}", cb, Tissue.DEEP_GREY, cpart, mod=1.08))
    return thalamus, caudate, placed


def _posterior_fossa(p: AnatomyParams, s: float, *, c2: np.ndarray) -> tuple[Ellipsoid, Ellipsoid, Tube, list[Placement]]:
    """Posterior fossa: cisterna magna, vermis and brainstem."""
    dx, dy, dz = DEEP_ORIGIN
    cm = p.cisterna_magna_mm
    # height (and length) from the vermis-height norm (22.5 mm: the ellipsoid's height at scale 1)
    vh = vermis_height_mm(p.ga_weeks) / 22.5
    vr = np.array([7.0 * s, 10.5 * vh, 11.5 * vh]) * p.cerebellum_scale
    vermis = Ellipsoid([dx, c2[1] - 1.0 * s, c2[2] + 1.0 * s], vr, rotation_xyz(rx_deg=20))
    cisterna = Ellipsoid(
        [dx, c2[1] - vr[1] * 0.55, c2[2] - vr[2] * 0.55],
        np.array([9.0 * s, vr[1] * 0.45 + cm, vr[2] * 0.45 + cm]),
        rotation_xyz(rx_deg=35),
    )
    bs_yz = np.array([[-12.0, -7.0], [-16.0, -17.0], [-18.5, -28.0], [-20.0, -38.0], [-21.0, -52.0]]) * s + [dy, dz]
    brainstem = Tube(
        bs_yz,
        x=np.zeros(5) + 0.0,
        a=np.array([6.5, 7.0, 9.0, 6.0, 5.0]) * s,
        b=np.array([9.0, 9.0, 11.0, 7.0, 6.0]) * s,
        theta_deg=np.zeros(5),
        side=1,
    )
    placed = [
        ellipsoid_painter("cisterna", cisterna, Tissue.CSF, Part.CISTERNA_MAGNA, only_pf=True),
        ellipsoid_painter("vermis", vermis, Tissue.VERMIS, Part.CEREBELLAR_VERMIS),
        tube_painter("brainstem", brainstem, lambda t: np.full(t.shape, Part.BRAINSTEM, U8), Tissue.BRAINSTEM, shift_x=dx),
    ]
    return vermis, cisterna, brainstem, placed


def _midline(
    p: AnatomyParams, s: float, *, lv: dict[int, Tube], csp_half: float, cortex_mm: float, sulcus_half_mm: float
) -> tuple[Tube, Tube | None, list[Placement]]:
    """Corpus callosum arching over the ventricles, cingulate sulcus and cavum septi pellucidi."""
    dx, dy, dz = DEEP_ORIGIN
    mat = p.maturity
    placed: list[Placement] = []
    # --- corpus callosum: an arch over the ventricles and the cavum
    roof = []
    for side in (1, -1):
        tube = lv[side]
        r = []
        for t in tube.t_ctrl[:6]:
            c = tube.at(t)
            # highest point of the tilted ellipse cross-section (normal roughly +z here)
            r.append(c["z"] + np.hypot(c["a"] * c["cos"], c["b"] * c["sin"]))
        roof.append(r)
    roof_z = np.max(np.array(roof), axis=0)
    lv_y = np.array([lv[1].at(t)["y"] for t in lv[1].t_ctrl[:6]])
    cc_a = (0.9 + 0.6 * mat) * s ** 0.5
    cc_yz = np.array(
        [
            [lv_y[0] - 2.0 * s, roof_z[0] - 7.0 * s],  # rostrum
            [lv_y[0] + 3.0 * s, roof_z[0] - 1.0 * s],  # genu
            [lv_y[1], roof_z[1] + cc_a * 1.4],
            [lv_y[2], roof_z[2] + cc_a + 0.3],
            [lv_y[3], roof_z[3] + cc_a + 0.3],
            [lv_y[4], roof_z[4] + cc_a + 0.3],
            [lv_y[5] - 1.0 * s, roof_z[5] + cc_a * 1.6],  # splenium
        ]
    )
    cc = Tube(
        cc_yz,
        x=np.zeros(7),
        a=np.array([0.8, 1.5, 1.2, 1.0, 1.0, 1.2, 1.9]) * cc_a,
        b=np.array([6.0, 10.0, 13.0, 15.0, 15.0, 14.0, 12.0]) * s + 0.4 * max(p.ventricle(1).vi, p.ventricle(-1).vi) - 4.0,
        theta_deg=np.zeros(7),
        side=1,
        droop=0.035 / s,
    )
    dxf = F32(dx)
    cc_mid = F32(6.0 * s)

    def paint_cc(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        r = cc.eval(pts - np.array([dxf, 0, 0], dtype=F32))
        inside = r["q"] < 1
        sel = idx[inside]
        out.tissue[sel] = Tissue.CORPUS_CALLOSUM
        lateral = np.abs(pts[inside, 0] - dxf) > cc_mid
        out.part[sel] = np.where(lateral, U8(Part.CALLOSAL_RADIATION), U8(Part.CORPUS_CALLOSUM))
        # echogenic pericallosal rim along its upper surface
        rim = inside & (r["q"] > 0.45) & (r["v2"] > 0)
        out.tissue[idx[rim]] = Tissue.SULCUS

    lo, hi = cc.lo + [dx, 0, 0], cc.hi + [dx, 0, 0]
    placed.append((_Painter("cc", lo, hi, paint_cc, cells=lambda cull: cc.lateral_cells(cull, lo, hi, shift_x=dx)), "lv_occ1"))
    # cingulate sulcus: a curve parallel to the callosum on the medial surfaces (from ~28 weeks)
    cing: Tube | None = None
    if mat > 0.15:
        tan = np.gradient(cc_yz, axis=0)
        tan /= np.linalg.norm(tan, axis=1, keepdims=True)
        nrm = np.stack([tan[:, 1], -tan[:, 0]], axis=1)
        off = (2.0 * cc_a + 6.5 * s) * np.array([0.0, 0.6, 1.0, 1.0, 1.0, 1.0, 0.6])[:, None]
        cg_yz = (cc_yz + nrm * off)[1:]
        depth = (4.0 + 6.0 * mat) * s
        cing = Tube(cg_yz, x=np.zeros(6), a=np.full(6, sulcus_half_mm + 0.15), b=np.full(6, depth), theta_deg=np.zeros(6), pad_mm=cortex_mm + 0.2)
        placed.append(_cingulate(cing, cortex_mm))
    # --- cavum septi pellucidi
    if csp_half > 0.2:
        y_ant = lv[1].at(0.0)["y"] - 4.0 * s
        y_post = -1.0 * s + dy
        z_top = float(np.min(roof_z[1:3]))
        z_bot = 0.8 * s + dz
        cen = np.array([dx, (y_ant + y_post) / 2, (z_top + z_bot) / 2])
        rad = np.array([csp_half, (y_ant - y_post) / 2, (z_top - z_bot) / 2])
        placed.append(superellipsoid_painter("csp", cen, rad, 2.5, Tissue.CSF, Part.CAVUM_SEPTI_PELLUCIDI))
        vergae = cavum_vergae_painter(
            p.ga_weeks, s, x_mid=dx, csp_half=csp_half, y_front=y_post + 2.0 * s, y_back=float(lv_y[4]), z_top=float(np.min(roof_z[2:5])) - 0.5 * s, z_bot=z_top - 0.55 * (z_top - z_bot)
        )
        if vergae is not None:
            placed.append(vergae)
    return cc, cing, placed


def _cingulate(cing: Tube, cortex_mm: float) -> Placement:
    """The cingulate sulcus (placed before the callosum) with the grey matter lining it."""
    dx = DEEP_ORIGIN[0]
    dxf = F32(dx)
    wm_like = lut([Tissue.WHITE_MATTER, Tissue.GREY_MATTER, Tissue.FALX, Tissue.CSF])

    def paint_cing(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        r = cing.eval(pts - np.array([dxf, 0, 0], dtype=F32))
        m = (r["q"] < 1) & wm_like[out.tissue[idx]]
        out.tissue[idx[m]] = Tissue.SULCUS
        # grey matter lining it
        g = (r["q"] >= 1) & (np.abs(r["v2"]) < r["a"] + cortex_mm) & (np.abs(r["v1"]) < r["b"]) & (out.tissue[idx] == Tissue.WHITE_MATTER)
        out.tissue[idx[g]] = Tissue.GREY_MATTER

    clo, chi = cing.lo + [dx, 0, 0], cing.hi + [dx, 0, 0]
    clo[1:] -= cortex_mm
    chi[1:] += cortex_mm
    return _Painter("cingulate", clo, chi, paint_cing, cells=lambda cull: cing.lateral_cells(cull, clo, chi, shift_x=dx)), "cc"


def _third_ventricle(p: AnatomyParams, s: float, *, w3: float, x_med: float) -> tuple[np.ndarray, list[Placement]]:
    """Foramina of Monro and the third ventricle with the massa intermedia (its centre, painters)."""
    dx, dy, dz = DEEP_ORIGIN
    rnd = float(np.clip(p.ventricle_rounding, 0, 1))
    placed = []
    # --- foramina of Monro
    for side in (1, -1):
        a = np.array([dx + side * (x_med + 0.6), 0.0 + dy, 1.8 * s + dz])
        b = np.array([dx, -1.0 * s + dy, -0.5 * s + dz])
        c = (a + b) / 2
        ln = np.linalg.norm(a - b)
        dirv = (a - b) / ln
        # rotation whose first column is dirv
        e2 = np.cross(dirv, [0, 1, 0])
        e2 /= np.linalg.norm(e2)
        e3 = np.cross(dirv, e2)
        rot = np.stack([dirv, e2, e3], axis=1)
        placed.append(ellipsoid_painter(f"monro{side}", Ellipsoid(c, [ln / 2 + 0.8, 1.0 * s ** 0.5, 1.0 * s ** 0.5], rot), Tissue.CSF, Part.FORAMEN_OF_MONRO))

    # --- third ventricle (its sagittal profile) with the massa intermedia
    c3, third = third_ventricle_painter(s, w3=w3, rounding=rnd, dx=dx, dy=dy, dz=dz)
    placed.append(third)
    return c3, placed


def _fourth_ventricle(p: AnatomyParams, s: float) -> tuple[Tube, np.ndarray, list[Placement]]:
    """Aqueduct and fourth ventricle (the aqueduct, the ventricle's triangle in y-z, painters)."""
    dx, dy, dz = DEEP_ORIGIN
    f4 = p.fourth_ventricle_scale
    aq_yz = np.array([[-13.0, -12.0], [-18.0, -17.0], [-24.0, -22.0]]) * s + [dy, dz]
    aqueduct = Tube(aq_yz, x=np.zeros(3), a=np.full(3, 0.6 * s ** 0.5 * f4), b=np.full(3, 0.6 * s ** 0.5 * f4), theta_deg=np.zeros(3))
    placed = [tube_painter("aqueduct", aqueduct, lambda t: np.full(t.shape, Part.AQUEDUCT, U8), Tissue.CSF, shift_x=dx)]
    tri = np.array([[-25.0, -20.5], [-25.5, -37.0], [-34.0, -28.5]]) * s
    tri = tri.mean(axis=0) + (tri - tri.mean(axis=0)) * f4 + [dy, dz]
    w4 = 5.0 * s * f4

    def fourth(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        yz = pts[:, 1:3]
        inside = np.ones(len(pts), dtype=bool)
        lam = []
        for i in range(3):
            a_, b_ = tri[i], tri[(i + 1) % 3]
            c_ = tri[(i + 2) % 3]
            nrm = np.array([-(b_ - a_)[1], (b_ - a_)[0]])
            sgn = np.sign(nrm @ (c_ - a_))
            dist = ((yz - a_) @ nrm) * sgn / np.linalg.norm(nrm)
            inside &= dist > 0
            lam.append(dist / abs(((c_ - a_) @ nrm) / np.linalg.norm(nrm)))
        # width tapers toward the fastigium (vertex 2, opposite edge 0)
        half = w4 * np.clip(1 - lam[0], 0, 1) ** 0.7 * np.clip(np.minimum(lam[1], lam[2]) * 4, 0, 1)
        inside &= np.abs(pts[:, 0] - dx) < half
        sel = idx[inside]
        out.tissue[sel] = Tissue.CSF
        out.part[sel] = Part.FOURTH_VENTRICLE

    lo4 = np.array([dx - w4, tri[:, 0].min(), tri[:, 1].min()])
    hi4 = np.array([dx + w4, tri[:, 0].max(), tri[:, 1].max()])
    placed.append(painter("fourth", lo4, hi4, fourth))
    return aqueduct, tri, placed


def _caudothalamic_grooves(s: float, *, lv: dict[int, Tube]) -> tuple[dict[int, Ellipsoid], list[Placement]]:
    """Caudothalamic grooves under the ventricle floor just behind the foramen."""
    _, dy, _ = DEEP_ORIGIN
    ctg: dict[int, Ellipsoid] = {}
    placed = []
    for side in (1, -1):
        tube = lv[side]
        # the upper limb of the C (frontal horn to atrium) runs monotonically backwards in y
        upper = tube.tt <= tube.t_ctrl[4]
        t_ctg = float(np.interp(-2.5 * s + dy, tube.centre_yz[upper, 0][::-1], tube.tt[upper][::-1]))
        c = tube.at(t_ctg)
        floor = np.array([side * (abs(c["x"]) + 1.5 * s), c["y"], c["z"] - np.hypot(c["a"] * c["cos"], c["b"] * c["sin"]) * 0.6 - 1.2 * s])
        e = Ellipsoid(floor, np.array([2.6, 1.3, 2.6]) * s ** 0.7, rotation_xyz(rx_deg=-35))
        ctg[side] = e
        part = Part.CAUDOTHALAMIC_GROOVE_LEFT if side > 0 else Part.CAUDOTHALAMIC_GROOVE_RIGHT
        placed.append(ellipsoid_painter(f"ctg{side}", e, Tissue.DEEP_GREY, part, mod=1.45, before=f"lv_occ{1}"))
    return ctg, placed
