"""The neonatal head: an analytic, labelled 3-D model sampled on demand.

Head coordinates and image conventions are those of :mod:`neocus.phantom.types` (mm; origin midway
between the foramina of Monro; +x left, +y anterior, +z superior).

The model is a stack of analytic layers and primitives, painted in order (later wins):

1. the head: a signed distance to the brain surface ``d`` from a smooth union of a cerebral
   ellipsoid (with low-order shape harmonics) and a posterior-fossa ellipsoid, cut by the floors of
   the anterior and middle cranial fossae; shells of extra-axial CSF, skull (with the anterior
   fontanelle and the sagittal / coronal sutures as gaps) and scalp lie outside ``d = 0``;
2. the cerebrum: white matter, a cortical ribbon, echogenic sulci from a GA-dependent folding field
   (sulcal sheets are level sets of a sum of random waves over the direction from the brain centre,
   taken after a smooth 3-D warp of the points, so they run roughly perpendicular to the surface but
   curve along it and with depth; finer, shallower secondary sulci branch off the primary ones; near
   the medial surface the field ignores x so medial sulci run straight in from the fissure; depth and
   density grow with GA: smooth at 24-26 weeks, folded at term), the interhemispheric fissure with the falx, the Sylvian fissures (wide open and
   box-like before ~28 weeks, closed by term);
3. the posterior fossa under the tentorium: cerebellar hemispheres (folia), echogenic vermis,
   cisterna magna, fourth ventricle, brainstem;
4. deep structures: thalami, caudate nuclei, caudothalamic grooves, corpus callosum, lateral
   ventricles (swept tubes whose cross-sections follow the subject's ventricular index, anterior horn
   width, atrial width and thalamo-occipital distance), choroid plexus (floor of the bodies, glomus
   in the atria, roof of the temporal horns), cavum septi pellucidi, foramina of Monro, third
   ventricle with the massa intermedia, aqueduct;
5. lesions (:mod:`neocus.phantom.lesions`), which overwrite tissue and set the lesion channel.

Speed: every primitive carries a bounding box and is only evaluated for points in the coarse cells
its box touches (:class:`~neocus.phantom.primitives.CullGrid`); all arithmetic is float32 numpy.

Layout: the parameters live in :mod:`neocus.phantom.anatomy_params`, the deep structures (one pure
builder per structure group, item 4 above) in :mod:`neocus.phantom.anatomy_deep` and the painters'
plumbing in :mod:`neocus.phantom.anatomy_painters`, the head outline and the folding
field in :mod:`neocus.phantom.anatomy_outline` (pure builders whose results ``NeonatalHead.__init__``
assigns); this module holds the cerebrum, sampling and lesions, and re-exports the parameter types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from neocus.phantom import norms
from neocus.phantom.anatomy_deep import build_deep_structures
from neocus.phantom.anatomy_outline import FLOOR_BOWL_PER_MM, Folding, HeadOutline, build_folding, build_outline  # noqa: F401  (re-exported)
from neocus.phantom.anatomy_painters import U8, _Out, _Painter
from neocus.phantom.anatomy_sagittal import skull_base_painter
from neocus.phantom.anatomy_params import AnatomyParams, Fontanelle, VentricleSize  # noqa: F401  (re-exported)
from neocus.phantom.anatomy_skullbase import build_skull_base, paint_skull_base
from neocus.phantom.parts import Part, part_structure
from neocus.phantom.primitives import F32, CullGrid, on_rows
from neocus.phantom.tissues import ECHO, N_TISSUES, Tissue
from neocus.phantom.types import TissueSample
from neocus.vocab import Structure

if TYPE_CHECKING:
    from neocus.phantom.lesions import Lesion



#: the calvarium thins toward the fontanelle: this fraction of its thickness at the margin, full
#: thickness this many mm further out
SKULL_TAPER_MIN = 0.35
SKULL_TAPER_MM = 15.0
#: the probe's contact: the soft neonatal scalp and brain under a flat probe face are pressed flat
#: around the fontanelle, out to this distance from it (mm; the 9L face is 44.6 mm wide) ...
CONTACT_RADIUS_MM = 24.0
#: ... fading to none over this many mm further out ...
CONTACT_FADE_MM = 10.0
#: ... and with depth below the scalp over this many mm (term head; scaled with the brain)
CONTACT_DEPTH_MM = 30.0


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (smooth union of two signed distances)."""
    h = np.clip(F32(0.5) + F32(0.5 / k) * (b - a), 0, 1)
    return b + (a - b) * h - F32(k) * h * (1 - h)


def _region(pr: _Painter) -> str:
    """The region group of a deep painter, from its box: ``left`` / ``right`` off the midline, else
    ``pf`` (its centre below the tentorium's level) or ``mid``."""
    cx, cz = (pr.lo[0] + pr.hi[0]) / 2, (pr.lo[2] + pr.hi[2]) / 2
    if abs(cx) > 2.0:
        return "left" if cx > 0 else "right"
    return "pf" if cz < -15.0 else "mid"


class NeonatalHead:
    """One subject's head (implements :class:`neocus.phantom.types.HeadModel`).

    ``sample(points)`` returns tissue, echo, part and lesion for head-coordinate points ``[N, 3]``.
    ``fontanelle`` says where the probe sits. Built from :class:`AnatomyParams` and optional lesions.
    """

    def __init__(self, params: AnatomyParams, lesions: Sequence[Lesion] = ()) -> None:
        self.params = params
        p = params
        self.scale = s = norms.brain_scale(p.ga_weeks, hc_mm=p.hc_mm)
        gain = np.ones(N_TISSUES, dtype=F32)
        if p.tissue_gain:
            gain[: len(p.tissue_gain)] = np.asarray(p.tissue_gain, dtype=F32)
        self._echo_table = (ECHO * gain).astype(F32)
        self.outline = o = build_outline(p, s)
        self.folding = f = build_folding(p, s)
        self.skull_base = build_skull_base(o, s, ga_weeks=p.ga_weeks)
        self.deep = d = build_deep_structures(p, s, ax=o.ax, ay=o.ay, c1=o.c1, c2=o.c2, cortex_mm=f.cortex_mm, sulcus_half_mm=f.sulcus_half_mm)
        # the deep structures that lesions, standard views and measurements look up
        self.thalamus, self.lv, self.lv_occ, self.glomus, self.ctg = d.thalamus, d.lv, d.lv_occ, d.glomus, d.ctg
        self.third_centre, self.fourth_tri = d.third_centre, d.fourth_tri
        self._skull_base = skull_base_painter(o, s)
        self.lesions: list[Lesion] = []
        lo = np.array([-o.ax - 15, o.c1[1] - o.ay - 15, -75.0 * s - 10])
        hi = np.array([o.ax + 15, o.c1[1] + o.ay + 15, o.c1[2] + o.az + 15])
        self._cull = CullGrid(lo, hi, cell_mm=4.0)
        self._painters = [replace(pr, occ=pr.occupancy(self._cull)) for pr in d.painters]
        self._deep_occ = np.logical_or.reduce([pr.occ for pr in self._painters])
        # painters grouped by region (left, right, midline above and below the tentorium): a point is
        # tested against a painter's cells only when it lies in its group's cells (same points)
        self._group_of = [_region(pr) for pr in self._painters]
        self._group_occ = {g: np.logical_or.reduce([pr.occ for pr, h in zip(self._painters, self._group_of, strict=True) if h == g]) for g in set(self._group_of)}
        self.fontanelle: Fontanelle | None = None  # found below, once the outline is there
        self._contact_r = float(o.ax + sum(o.thick))  # radius of the vertex's curvature (mm)
        for lesion in lesions:
            self.add_lesion(lesion)
        self.fontanelle = self._find_fontanelle()

    def __reduce__(self) -> tuple[type, tuple[AnatomyParams, tuple[Lesion, ...]]]:
        """Pickle as the recipe (parameters and lesions): the painters are closures, rebuilt on load."""
        return (NeonatalHead, (self.params, tuple(self.lesions)))

    def _tent_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        s = F32(self.scale)
        ox, oy, oz = (F32(v) for v in self.outline.off)
        return F32(-12.0) * s + oz + F32(0.42) * np.minimum(y - oy + F32(20.0) * s, 0) - F32(0.12) * np.abs(x - ox)

    def brain_distance(self, pts: np.ndarray) -> np.ndarray:
        """Approximate signed distance (mm) to the brain surface: < 0 inside the brain (as
        :meth:`sample` sees it, i.e. with the scalp pressed flat under the probe)."""
        return self._surface_distance(self._probe_contact(np.ascontiguousarray(pts, dtype=F32)))

    def _surface_distance(self, pts: np.ndarray) -> np.ndarray:
        """:meth:`brain_distance` of the undeformed head."""
        x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
        c1 = self.outline.c1
        qx, qy, qz = x - F32(c1[0]), y - F32(c1[1]), z - F32(c1[2])
        r = np.sqrt(qx * qx + qy * qy + qz * qz) + F32(1e-6)
        ix, iy, iz = self.outline.inv_r1
        ux, uy, uz = qx * ix, qy * iy, qz * iz
        rho = np.sqrt(ux * ux + uy * uy + uz * uz)
        h = self.outline.harm
        if np.any(h):
            inv_r = F32(1) / r
            dx, dy, dz = qx * inv_r, qy * inv_r, qz * inv_r
            rho /= F32(1) + h[0] * dx + h[1] * dy + h[2] * dz + h[3] * dx * dy + h[4] * (dz * dz - F32(1 / 3))
        d = (rho - F32(1)) * r / (rho + F32(1e-6))
        # posterior fossa ellipsoid, smoothly united (only where it can matter)
        k = 14.0 * self.scale
        c2, r2 = self.outline.c2, self.outline.r2
        near = np.flatnonzero((y < F32(c2[1] + r2[1] + k)) & (z < F32(c2[2] + r2[2] + k)))
        if len(near):
            q2x, q2y, q2z = x[near] - F32(c2[0]), y[near] - F32(c2[1]), z[near] - F32(c2[2])
            rr2 = np.sqrt(q2x * q2x + q2y * q2y + q2z * q2z) + F32(1e-6)
            v2x, v2y, v2z = q2x * F32(1 / r2[0]), q2y * F32(1 / r2[1]), q2z * F32(1 / r2[2])
            rho2 = np.sqrt(v2x * v2x + v2y * v2y + v2z * v2z)
            d2 = (rho2 - F32(1)) * rr2 / (rho2 + F32(1e-6))
            d[near] = _smin(d[near], d2, k)
        low = np.flatnonzero(z < F32(self.outline.floor_top))
        if len(low):
            xo = x[low] - F32(self.outline.off[0])
            zf = np.interp(y[low], self.outline.floor_y, self.outline.floor_z).astype(F32) + F32(self.outline.floor_bowl) * xo * xo
            d[low] = np.maximum(d[low], zf - z[low])
        return d


    def add_lesion(self, lesion: Lesion) -> None:
        """Register a focal lesion painter (called by lesions when the subject is built)."""
        self.lesions.append(lesion)
        subs = []
        for name, lo, hi, paint in lesion.painters(self):
            lo, hi = np.asarray(lo, float), np.asarray(hi, float)
            subs.append(_Painter(f"lesion:{name}", lo, hi, paint, occ=self._cull.mask(lo, hi)))
        if not subs:
            return
        if len(subs) == 1:
            group = subs[0]
        else:  # one cull test for the lesion's box, then each part (cyst, clot) within it
            cull = self._cull

            def paint_group(pts: np.ndarray, idx: np.ndarray, out: _Out, subs: list[_Painter] = subs) -> None:
                cells = cull.cells(pts)
                for sp in subs:
                    sel = np.flatnonzero(sp.occ[cells])
                    if len(sel):
                        sp.paint(np.take(pts, sel, axis=0), idx[sel], out)

            lo = np.min([sp.lo for sp in subs], axis=0)
            hi = np.max([sp.hi for sp in subs], axis=0)
            group = _Painter(f"lesion:{lesion.kind.value}", lo, hi, paint_group, occ=np.logical_or.reduce([sp.occ for sp in subs]))
        self._painters.append(group)
        key = f"lesion{len(self._painters)}"  # a group of its own
        self._group_of.append(key)
        self._group_occ.update({key: group.occ})
        self._deep_occ |= group.occ

    # ------------------------------------------------------------------ sample
    def sample(self, points: np.ndarray) -> TissueSample:
        """Tissue, echo, part and lesion at head-coordinate points ``[N, 3]`` (mm)."""
        pts = self._probe_contact(np.ascontiguousarray(np.asarray(points, dtype=F32).reshape(-1, 3)))
        n = len(pts)
        tissue = np.zeros(n, dtype=U8)
        part = np.zeros(n, dtype=U8)
        mod = np.ones(n, dtype=F32)
        lesion = np.zeros(n, dtype=U8)
        out = _Out(tissue, part, mod, lesion)
        d = self._surface_distance(pts)
        csf_t, skull_t, scalp_t = self.outline.thick
        # shells outside the brain
        outer = d > 0
        io = np.flatnonzero(outer)
        if len(io):
            do = d[io]
            po = np.take(pts, io, axis=0)  # (np.take: a faster row gather than pts[io], same values)
            # the skull's outer surface (tapered near the fontanelle) matters only between its
            # thinnest and full thickness: beyond, a point is past it whatever the taper
            full = F32(csf_t) + F32(skull_t)
            past = do > full
            shell = np.flatnonzero((do > F32(csf_t)) & ~past)
            past[shell] = do[shell] > F32(csf_t) + F32(skull_t) * self._bone_taper(po, shell)
            lay = (do > F32(csf_t)).astype(np.intp) + past + (do > F32(csf_t + skull_t + scalp_t))
            t_of = np.array([Tissue.CSF, Tissue.SKULL, Tissue.SCALP, Tissue.BACKGROUND], dtype=U8)
            p_of = np.array([Part.EXTRA_AXIAL_CSF, Part.SKULL, Part.SCALP, Part.NONE], dtype=U8)
            tissue[io] = t_of[lay]
            part[io] = p_of[lay]
            sk = io[lay == 1]
            if len(sk):
                gap = self._skull_gap(np.take(pts, sk, axis=0))
                tissue[sk[gap]] = Tissue.FONTANELLE
                part[sk[gap]] = Part.FONTANELLE
            self._skull_base(po, io, do, out)  # midline skull base and face under the floor
            paint_skull_base(self.skull_base, po, io, do, out)  # skull base, orbits, petrous parts: wins where both paint
        ib = np.flatnonzero(~outer)
        if len(ib):
            pb = np.take(pts, ib, axis=0)
            self._paint_brain(pb, ib, -d[ib], out)
            # deep region first (one box test), then each painter's cells within it
            cells_b = self._cull.cells(pb)
            inner = np.flatnonzero(self._deep_occ[cells_b])
            if len(inner):
                pin, iin = np.take(pb, inner, axis=0), ib[inner]
                cells = cells_b[inner]
                in_group: dict[str, tuple[np.ndarray, np.ndarray]] = {}
                for pr, g in zip(self._painters, self._group_of, strict=True):
                    if g not in in_group:
                        gsel = np.flatnonzero(self._group_occ[g][cells])
                        in_group[g] = gsel, cells[gsel]
                    gsel, gcells = in_group[g]
                    sel = gsel[pr.occ[gcells]] if len(gsel) else gsel
                    if len(sel):
                        pr.paint(np.take(pin, sel, axis=0), iin[sel], out)
        echo = self._echo_table[tissue] * mod
        return TissueSample(tissue=tissue, echo=echo.astype(F32, copy=False), part=part, lesion=lesion)

    def _bone_taper(self, pts: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Fraction (0..1) of the full skull thickness at ``pts[rows]``, points of the skull shell: the
        bone thins toward the fontanelle's margin (to ``SKULL_TAPER_MIN`` of it at half the fontanelle's
        width from its axis, full ``SKULL_TAPER_MM`` further out); the soft tissue over it fills the
        rest. (The depth along the axis is a matrix-vector product over all of ``pts``: its rounding
        depends on the batch.)"""
        fon = self.fontanelle
        if fon is None:
            return np.ones(len(rows), F32)
        q = pts - fon.centre.astype(F32)
        h = (q @ fon.normal.astype(F32))[rows]
        q = np.take(q, rows, axis=0)
        r = np.sqrt(np.maximum(np.einsum("ij,ij->i", q, q) - h * h, F32(0)))
        r0 = F32(0.5 * min(fon.width_mm, fon.length_mm))
        lo = F32(SKULL_TAPER_MIN)
        return np.clip(lo + (F32(1) - lo) * (r - r0) / F32(SKULL_TAPER_MM), lo, F32(1))

    def _probe_contact(self, pts: np.ndarray) -> np.ndarray:
        """Where to look up each point of the head as a probe on the fontanelle sees it.

        The scalp around the fontanelle is pressed flat onto the plane tangent to it (the probe face):
        a point at distance ``r`` from the fontanelle's axis is looked up ``g(r) * w(h)`` deeper along
        the axis, ``g`` the sagitta of the vertex's curvature out to ``CONTACT_RADIUS_MM`` (fading to 0
        over ``CONTACT_FADE_MM`` beyond) and ``w = 1 - h / (CONTACT_DEPTH_MM * scale)`` (clipped to
        0..1) fading with the depth ``h`` below the fontanelle, so the brain under the face is
        compressed a little near the surface and not at all deep down or on the sides of the head
        (the ventricles move by < 1 mm). The warp is monotonic in depth; the fontanelle itself
        (r = 0) stays put.
        """
        fon = self.fontanelle
        if fon is None:
            return pts
        c = fon.centre.astype(F32)
        nrm = fon.normal.astype(F32)
        q = pts - c
        h = q @ nrm  # (a matrix-vector product: its rounding depends on the batch, so over all points)
        w = np.clip(F32(1) - h / F32(CONTACT_DEPTH_MM * self.scale), 0, 1)
        # only points above the contact depth move (w > 0); the others get + 0 * normal, which leaves
        # every coordinate as it is except a -0.0 where that term is +0.0 (done below, to keep the bytes)
        out = pts.copy()
        for j in range(3):
            if not np.signbit(nrm[j]):
                out[:, j] += F32(0)
        m = np.flatnonzero(w > 0)
        if not len(m):
            return out
        qm, hm = np.take(q, m, axis=0), h[m]
        r2 = np.maximum(np.einsum("ij,ij->i", qm, qm) - hm * hm, F32(0))
        big = F32(self._contact_r)
        rc = F32(min(CONTACT_RADIUS_MM, 0.9 * self._contact_r))
        g = big - np.sqrt(big * big - np.minimum(r2, rc * rc))
        g *= np.clip(F32(1) - (np.sqrt(r2) - rc) / F32(CONTACT_FADE_MM), 0, 1)
        out[m] = np.take(pts, m, axis=0) + (g * w[m])[:, None] * nrm
        return out

    def _skull_gap(self, p: np.ndarray) -> np.ndarray:
        """Fontanelle (rhombus) and sutures: soft-tissue gaps in the calvarium (upper skull only)."""
        pr = self.params
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        top = z > self.outline.c1[2] + 0.2 * self.outline.az
        yf = pr.fontanelle_y_mm + self.outline.off[1]
        x = x - F32(self.outline.off[0])
        rh = np.abs(x) / (pr.fontanelle_width_mm / 2) + np.abs(y - yf) / (pr.fontanelle_length_mm / 2) < 1
        sw = pr.suture_mm / 2
        sag = (np.abs(x) < sw) & (y < yf)  # sagittal suture behind the fontanelle
        cor = (np.abs(y - yf) < sw) & (z > self.outline.c1[2])  # coronal sutures, sideways from it
        return top & (rh | sag | cor)

    def _paint_brain(self, p: np.ndarray, idx: np.ndarray, depth: np.ndarray, out: _Out) -> None:
        """Cerebrum (white matter, cortex, sulci, fissures) and the posterior fossa default."""
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        s = F32(self.scale)
        left = x >= 0
        out.tissue[idx] = Tissue.WHITE_MATTER
        out.part[idx] = np.where(left, Part.WHITE_MATTER_LEFT, Part.WHITE_MATTER_RIGHT)
        pf = (z < self._tent_z(x, y)) & (y < F32(-16.0) * s + F32(self.outline.off[1]))
        # posterior fossa: cerebellar hemispheres with folia around the fourth ventricle
        ip = np.flatnonzero(pf)
        if len(ip):
            sel = idx[ip]
            out.tissue[sel] = Tissue.CEREBELLUM
            out.part[sel] = np.where(left[ip], Part.CEREBELLAR_HEMISPHERE_LEFT, Part.CEREBELLAR_HEMISPHERE_RIGHT)
            rr = np.sqrt((y[ip] - self.outline.c2[1] - 8 * s) ** 2 + (z[ip] - self.outline.c2[2]) ** 2 + (0.5 * x[ip]) ** 2)
            out.mod[sel] = F32(1.0) + F32(0.3) * np.cos(rr * F32(2 * np.pi / (2.2 * s**0.5)) + F32(1.5) * np.sin(F32(0.35) * (x[ip] + y[ip])))
            # the midline between the hemispheres, where the vermis does not fill it, is cistern CSF
            cleft = np.abs(x[ip]) < F32(1.8) * s
            low = z[ip] < F32(self.outline.c2[2])
            out.tissue[sel[cleft]] = Tissue.CSF
            out.part[sel[cleft]] = np.where(low[cleft], U8(Part.CISTERNA_MAGNA), U8(Part.EXTRA_AXIAL_CSF))
            tent = np.abs(z[ip] - self._tent_z(x[ip], y[ip])) < 0.6
            out.tissue[sel[tent]] = Tissue.FALX
            out.part[sel[tent]] = Part.TENTORIUM
        ic = np.flatnonzero(~pf)
        if not len(ic):
            return
        xc, yc, zc, dc = x[ic], y[ic], z[ic], depth[ic]
        # the fissure reaches down to the callosal arch ("core", an ellipse in y-z); the medial surface
        # distance below it runs to the fissure's floor, so medial sulci fade out smoothly there
        cy_, cz_ = yc - F32(self.folding.core_c[0]), zc - F32(self.folding.core_c[1])
        rc = np.sqrt(cy_ * cy_ + cz_ * cz_) + F32(1e-3)
        rho_c = np.sqrt((cy_ / F32(self.folding.core_r[0])) ** 2 + (cz_ / F32(self.folding.core_r[1])) ** 2) + F32(1e-4)
        core = rho_c < 1
        d_core = np.where(core, rc * (1 / rho_c - 1), F32(0))
        ax = np.abs(xc)
        lat = ax - F32(self.folding.ihf_half_mm)
        medial = np.where(core, np.sqrt(np.maximum(lat, 0) ** 2 + F32(9.0) * d_core * d_core), lat)
        dm = np.minimum(dc, medial)
        sel = idx[ic]
        # interhemispheric fissure: thin CSF with the falx in its middle
        fis = (medial < 0) & ~core
        out.tissue[sel[fis]] = Tissue.FALX
        out.part[sel[fis]] = Part.INTERHEMISPHERIC_FISSURE
        cortex = self.folding.cortex_mm
        dmax = 1.45 * self.folding.sulcal_depth + cortex
        shell = np.flatnonzero(dm < max(dmax, cortex))
        if not len(shell):
            return
        ssel = sel[shell]
        dsh = np.maximum(dm[shell], 0)
        in_fis = fis[shell]
        grey = (dsh < cortex) & ~in_fis
        pial = ((dc[shell] < 0.3) | ((medial[shell] < 0.12) & (medial[shell] >= 0))) & ~in_fis
        if self.folding.sulcal_depth > 0:
            q = np.take(p, ic[shell], axis=0) - self.outline.c1.astype(F32)
            r = np.sqrt(np.einsum("ij,ij->i", q, q)) + F32(1e-3)
            # medial surface: the field is made (nearly) independent of x there, so medial sulci run
            # straight in from the fissure instead of lying along it (the weight is 1 where the
            # convexity is nearer than the medial surface, so lateral sulci stay radial)
            wmed = np.minimum(np.maximum(medial[shell], 0) / (dc[shell] + F32(1e-3)), F32(1))
            # (each hemisphere reads its own part of the field, so medial sulci do not mirror)
            w2 = wmed * wmed
            sx = np.sign(q[:, 0])
            q[:, 0] *= w2
            q[:, 1] += sx * (F32(1) - w2) * F32(7.0 * self.scale)
            qw = q + np.sin(q @ self.folding.warp_k.T + self.folding.warp_ph) @ self.folding.warp_e
            rw = np.sqrt(np.einsum("ij,ij->i", qw, qw)) + F32(1e-3)
            u = qw / rw[:, None]
            f = np.cos(u @ self.folding.waves.T + self.folding.phases).sum(axis=1) * F32(np.sqrt(2.0 / len(self.folding.phases)))
            dist = np.abs(f) * r / F32(self.folding.k_fold)  # ~ mm to the primary sulcal sheet
            # each sulcus has its own depth: a slow field over directions varies it by +-45 %
            dvar = F32(1.0) + F32(0.45) * np.cos(u @ self.folding.depth_waves.T + self.folding.depth_phases).mean(axis=1) * F32(1.4)
            depth_here = F32(self.folding.sulcal_depth) * dvar
            # secondary sulci only where the primary field is on one side (so they end on, i.e.
            # branch from, the primary sheets) and only half as deep; their field (~ mm to a
            # secondary sheet) is only needed there
            depth2 = F32(0.5) * depth_here
            maybe2 = np.flatnonzero((f > F32(0.35)) & (dsh < depth2 + F32(cortex)))
            use2 = np.zeros(len(dist), dtype=bool)
            dist2 = np.zeros(len(dist), dtype=F32)
            if len(maybe2):
                f2 = on_rows(self._secondary_field, u, maybe2)
                dist2[maybe2] = np.abs(f2) * r[maybe2] / F32(self.folding.k_fold2)
                use2[maybe2] = dist2[maybe2] < dist[maybe2]
            dist = np.where(use2, dist2, dist)
            depth_here = np.where(use2, depth2, depth_here)
            frac = np.clip(1 - dsh / depth_here, 0, 1)
            sulc = (dist < F32(self.folding.sulcus_half_mm) * (0.4 + 0.6 * frac)) & (dsh < depth_here)
            grey |= (dist < F32(self.folding.sulcus_half_mm + cortex)) & (dsh < depth_here + F32(cortex)) & ~in_fis
            # sulci cross the fissure too: a midsagittal plane shows the radiating medial sulci
            pial |= sulc
        lr = np.where(xc[shell] >= 0, Part.CORTEX_LEFT, Part.CORTEX_RIGHT).astype(U8)
        g = ssel[grey]
        out.tissue[g] = Tissue.GREY_MATTER
        out.part[g] = lr[grey]
        pl = ssel[pial]
        out.tissue[pl] = Tissue.SULCUS
        out.part[pl] = np.where(in_fis[pial], U8(Part.INTERHEMISPHERIC_FISSURE), lr[pial])

    def _secondary_field(self, u: np.ndarray) -> np.ndarray:
        """The secondary folding field at directions ``u [N, 3]`` (its sheets are its zeros)."""
        return np.cos(u @ self.folding.waves2.T + self.folding.phases2).sum(axis=1) * F32(np.sqrt(2.0 / len(self.folding.phases2)))

    # ------------------------------------------------------------------ fontanelle, parts
    def _find_fontanelle(self) -> Fontanelle:
        pr = self.params
        outer = sum(self.outline.thick)
        z = np.linspace(0.0, self.outline.c1[2] + self.outline.az + outer + 10, 4000, dtype=F32)
        pts = np.stack([np.full_like(z, self.outline.off[0]), np.full_like(z, pr.fontanelle_y_mm + self.outline.off[1]), z], axis=1)
        d = self._surface_distance(pts)
        i = int(np.flatnonzero(d <= outer)[-1])
        top = pts[i].astype(np.float64)
        # inward normal from the distance gradient
        h = 0.5
        offs = np.array([[h, 0, 0], [-h, 0, 0], [0, h, 0], [0, -h, 0], [0, 0, h], [0, 0, -h]], dtype=F32)
        dd = self._surface_distance((top + offs).astype(F32))
        grad = np.array([dd[0] - dd[1], dd[2] - dd[3], dd[4] - dd[5]], dtype=np.float64)
        normal = -grad / np.linalg.norm(grad)
        return Fontanelle(top, normal, float(pr.fontanelle_width_mm), float(pr.fontanelle_length_mm))

    def part_structure(self, part: int, plane_kind: str) -> Structure | None:
        return part_structure(part, plane_kind)

