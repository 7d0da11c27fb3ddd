"""The lateral ventricles of the neonatal head model: the C-shaped tube (frontal horn, body, atrium,
temporal horn) and the occipital horn of each side, shaped by the subject's ventricular index, anterior
horn width, atrial width and thalamo-occipital distance; the choroid plexus along their floor; the
normal periventricular halo. A pure builder group of :func:`neocus.phantom.anatomy_deep.build_deep_structures`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from neocus.phantom.anatomy_painters import U8, Placement, _Out, painter, shifted_tube
from neocus.phantom.parts import Part
from neocus.phantom.primitives import F32, Ellipsoid, Tube
from neocus.phantom.tissues import Tissue

if TYPE_CHECKING:
    from neocus.phantom.anatomy_params import AnatomyParams, VentricleSize

DEEP_ORIGIN = (0.0, 0.0, 0.0)
"""Where the deep structures are built (head coordinates, mm); the outline carries ``deep_shift``."""


def build_lateral_ventricles(
    p: AnatomyParams, s: float, *, thalamus: dict[int, Ellipsoid], c1: np.ndarray, ay: float
) -> tuple[dict[int, Tube], dict[int, Tube], dict[int, np.ndarray], float, float, list[Placement]]:
    """Both lateral ventricles (with a periventricular halo when the parameters ask for one): the
    tubes, occipital horns, glomus centres, the cavum's half-width, the ventricles' medial wall and painters."""
    dx, dy, dz = DEEP_ORIGIN
    lv: dict[int, Tube] = {}
    lv_occ: dict[int, Tube] = {}
    glomus: dict[int, np.ndarray] = {}
    csp_half = p.csp_width_mm / 2
    septum = 0.8 * s ** 0.5
    x_med = (csp_half if csp_half > 0.2 else 0.0) + septum
    rnd = float(np.clip(p.ventricle_rounding, 0, 1))
    for side in (1, -1):
        v = p.ventricle(side)
        lv[side], lv_occ[side] = _lateral_ventricle(p, v, side, s, x_med, rnd, (dx, dy, dz), thalamus=thalamus[side], c1=c1, ay=ay)
    placed = []
    for side in (1, -1):
        if p.periventricular_halo > 0:
            placed += _halo(lv[side], side, p.periventricular_halo, s)
        glomus[side], lv_placed = _lv_painters(lv[side], lv_occ[side], side, s)
        placed += lv_placed
    return lv, lv_occ, glomus, csp_half, x_med, placed


def _lateral_ventricle(
    p: AnatomyParams, v: VentricleSize, side: int, s: float, x_med: float, rnd: float, shift: tuple[float, float, float], *,
    thalamus: Ellipsoid, c1: np.ndarray, ay: float,
) -> tuple[Tube, Tube]:
    """The C-shaped main tube (frontal horn, body, atrium, temporal horn) and the occipital horn."""
    dx, dy, dz = shift
    # cross-section at the foramen (control point 2): VI and AHW fix centre, long and short half-axes
    th_f = -28.0 * (1 - 0.8 * rnd)
    a_f = v.ahw / 2
    e_half = max((v.vi - x_med) / 2, a_f + 0.3)
    xc = x_med + e_half
    sin_f, cos_f = np.sin(np.radians(th_f)), np.cos(np.radians(th_f))
    b_f = max(np.sqrt(max(e_half**2 - (a_f * sin_f) ** 2, 0.0)) / cos_f, a_f * 1.05)
    a_atr = max(v.atrium / 2, 3.2 * s + 0.4)
    a_tmp = max(v.temporal / 2, 0.35)
    y = np.array([24.0, 12.0, 0.0, -12.0, -20.0, -27.0, -30.5, -23.0, -4.0]) * s
    z = np.array([1.5, 3.0, 3.5, 6.0, 6.5, 3.5, -6.0, -15.5, -21.0]) * s
    # dilated horns grow upward / outward: lift the roof a little with the short half-axis
    z[:6] += np.array([0.3, 0.6, 0.6, 0.6, 0.6, 0.3]) * max(a_f - 1.0, 0.0)
    jit = p.ventricle_jitter_mm
    if jit:  # per-subject shape: 9 y, 9 z offsets per side (left first), foramen point kept fixed
        j = np.asarray(jit, dtype=np.float64).reshape(2, 2, 9)[0 if side > 0 else 1] * s
        j[:, 2] = 0.0
        y, z = y + j[0], z + j[1]
    x = np.array([xc - 2.5 * s, xc - 1.0 * s, xc, xc + 1.5 * s, xc + 3.0 * s, 15.5 * s + 0.3 * (v.vi - 12), 19.0 * s, 22.0 * s, 24.0 * s])
    x = np.maximum(x, x_med + 0.5)
    a = np.array([0.35 * a_f, 0.9 * a_f, a_f, 0.85 * a_f + 0.15, 0.9 * a_f + 0.4, a_atr, 0.6 * a_atr + 0.4 * a_tmp, a_tmp, a_tmp * 0.8])
    b = np.array([0.55 * b_f, 0.9 * b_f, b_f, b_f, 0.9 * b_f + 0.5, a_atr * 1.25 + 1.0, 3.0 * s + a_tmp, 2.5 * s + a_tmp, 2.0 * s + a_tmp])
    b = np.maximum(b, a)
    th = np.array([th_f, th_f, th_f, -22.0 * (1 - 0.8 * rnd), -15.0, 0.0, 10.0, 20.0, 20.0])
    main = Tube(np.stack([y + dy, z + dz], 1), x, a, b, th, side=side)  # x shift by dx below
    if dx:
        main = shifted_tube(main, dx)
    # occipital horn: from inside the atrium back to its tip at TOD behind the posterior thalamus
    th_e = thalamus
    y_thal_post = float(th_e.lo[1])
    a_tip = max(0.8, 0.35 * a_atr)
    y_tip = y_thal_post - v.tod + a_tip
    y_tip = max(y_tip, float(c1[1] - 0.84 * ay) + 2.0 * a_tip)  # keep a posterior mantle
    y_atr, z_atr = y[5] + dy, z[5] + dz
    yo = np.array([y_atr + 2.0 * s, (y_atr + y_tip) / 2, y_tip])
    zo = np.array([z_atr, z_atr + 1.0 * s, z_atr + 1.5 * s])
    if yo[1] >= yo[0] - 0.5 or yo[2] >= yo[1] - 0.5:
        yo = np.array([y_atr + 2.0 * s, y_atr + 0.5 * s, y_atr - 1.0 * s])
    xo = np.array([x[5], x[5] - 1.0 * s, x[5] - 2.5 * s])
    ao = np.array([0.9 * a_atr, 0.6 * a_atr + 0.2, a_tip])
    bo = np.maximum(np.array([a_atr * 1.2 + 0.8, 0.8 * a_atr + 0.8, a_tip * 1.2]), ao)
    occ = Tube(np.stack([yo, zo], 1), xo, ao, bo, np.array([0.0, 5.0, 5.0]), side=side)
    if dx:
        occ = shifted_tube(occ, dx)
    return main, occ


def _halo(tube: Tube, side: int, strength: float, s: float) -> list[Placement]:
    """The normal periventricular "halo": white matter dorsolateral to the trigone (and, fainter,
    the frontal horn) slightly brighter than the rest, fading with distance; a mimic of PVL flare."""
    blobs = []
    for t, gain, rad in ((0.5 * (tube.t_ctrl[4] + tube.t_ctrl[5]), 1.0, 7.0), (tube.t_ctrl[1], 0.5, 5.0)):
        c = tube.at(float(t))
        centre = np.array([c["x"] + side * (c["b"] * 0.6 + 2.0 * s), c["y"], c["z"] + c["a"] + 2.0 * s])
        blobs.append((Ellipsoid(centre, np.array([rad, rad * 1.5, rad]) * s), F32(strength * gain)))
    placed = []
    for i, (e, g) in enumerate(blobs):

        def paint(pts: np.ndarray, idx: np.ndarray, out: _Out, e: Ellipsoid = e, g: F32 = g) -> None:
            q = e.q(pts)
            m = (q < 1) & (out.tissue[idx] == Tissue.WHITE_MATTER)
            out.mod[idx[m]] *= F32(1.0) + g * (F32(1.0) - q[m])

        placed.append(painter(f"halo{side}_{i}", e.lo, e.hi, paint))
    return placed


def _lv_painters(main: Tube, occ: Tube, side: int, s: float) -> tuple[np.ndarray, list[Placement]]:
    """One lateral ventricle's painters (horns and body, choroid plexus) and where its glomus sits."""
    lvf, lvb, lva, lvo, lvt = (
        (Part.LV_FRONTAL_LEFT, Part.LV_BODY_LEFT, Part.LV_ATRIUM_LEFT, Part.LV_OCCIPITAL_LEFT, Part.LV_TEMPORAL_LEFT)
        if side > 0
        else (Part.LV_FRONTAL_RIGHT, Part.LV_BODY_RIGHT, Part.LV_ATRIUM_RIGHT, Part.LV_OCCIPITAL_RIGHT, Part.LV_TEMPORAL_RIGHT)
    )
    cp_part = Part.CHOROID_PLEXUS_LEFT if side > 0 else Part.CHOROID_PLEXUS_RIGHT
    tk = main.t_ctrl
    edges = np.array([tk[2], 0.5 * (tk[4] + tk[5]), tk[6] + 0.25 * (tk[7] - tk[6])], dtype=F32)
    parts = np.array([lvf, lvb, lva, lvt], dtype=U8)
    # choroid plexus profile along t: absent in the frontal horn, thin on the body floor,
    # the glomus in the atrium, thin along the temporal horn
    t_cp = np.array([tk[2] + 0.02, tk[3], tk[4], tk[5], tk[6], tk[7], tk[8]], dtype=F32)
    cp_a = np.array([0.3, 0.8, 1.1, 3.0, 1.6, 0.8, 0.4], dtype=F32) * F32(s**0.5)
    cp_b = np.array([0.8, 2.2, 2.6, 3.8, 2.4, 1.6, 1.0], dtype=F32) * F32(s**0.5)
    # where the glomus sits (the BV's region of interest): on the dependent wall of the atrium
    g = main.at(float(tk[5]))
    lat = np.array([side * 1.0, 0.0, 0.0])
    nrm = np.array([0.0, g["ny"], g["nz"]])
    e1, e2 = g["cos"] * lat + g["sin"] * nrm, -g["sin"] * lat + g["cos"] * nrm
    v2c = -max(g["a"] - float(cp_a[3]), 0.0)
    glomus = np.array([g["x"], g["y"], g["z"]]) + (-0.25 * g["b"]) * e1 + v2c * e2

    def paint_main(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        r = main.eval(pts)
        inside = r["q"] < 1
        if not inside.any():
            return
        t = r["t"][inside]
        sel = idx[inside]
        out.tissue[sel] = Tissue.CSF
        out.part[sel] = parts[np.searchsorted(edges, t)]
        # choroid plexus
        in_cp_range = (t > t_cp[0]) & (t < t_cp[-1])
        a_cp = np.interp(t, t_cp, cp_a)
        b_cp = np.interp(t, t_cp, cp_b)
        a = r["a"][inside]
        v2c = -np.maximum(a - a_cp, 0)
        v1c = -0.25 * r["b"][inside]
        qc = ((r["v1"][inside] - v1c) / b_cp) ** 2 + ((r["v2"][inside] - v2c) / a_cp) ** 2
        cp = in_cp_range & (qc < 1)
        out.tissue[sel[cp]] = Tissue.CHOROID_PLEXUS
        out.part[sel[cp]] = cp_part

    def paint_occ(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        r = occ.eval(pts)
        sel = idx[r["q"] < 1]
        out.tissue[sel] = Tissue.CSF
        out.part[sel] = lvo

    return glomus, [painter(f"lv_occ{side}", occ.lo, occ.hi, paint_occ, tube=occ), painter(f"lv{side}", main.lo, main.hi, paint_main, tube=main)]
