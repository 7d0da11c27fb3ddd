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

Size: over 1000 lines while the phantom anatomy and appearance are being changed concurrently; the
split of NeonatalHead._build_deep into one builder per structure group (issue #7) follows that work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from neocus.phantom import norms
from neocus.phantom.parts import Part, part_structure
from neocus.phantom.primitives import F32, CullGrid, Ellipsoid, Tube, lut, rotation_xyz
from neocus.phantom.tissues import ECHO, N_TISSUES, Tissue
from neocus.phantom.types import TissueSample
from neocus.vocab import Structure

if TYPE_CHECKING:
    from neocus.phantom.lesions import Lesion

U8 = np.uint8
_PF_LUT = lut([Tissue.CEREBELLUM, Tissue.FALX, Tissue.CSF])


@dataclass(frozen=True)
class VentricleSize:
    """Linear sizes of one lateral ventricle (mm), in the clinical measurement definitions.

    ``vi``: ventricular index (falx to lateral wall, coronal plane through the foramina of Monro);
    ``ahw``: anterior horn width (widest diagonal width of the frontal horn, same plane);
    ``tod``: thalamo-occipital distance (posterior thalamus to the tip of the occipital horn);
    ``atrium``: atrial width (across the trigone, perpendicular to its long axis);
    ``temporal``: width of the temporal horn.
    """

    vi: float
    ahw: float
    tod: float
    atrium: float
    temporal: float

    @classmethod
    def typical(cls, ga_weeks: float, z: float = 0.0) -> VentricleSize:
        """Sizes at ``z`` SD from the GA median (``z`` moves all measures together)."""
        return cls(
            vi=norms.ventricular_index(ga_weeks).at_z(z),
            ahw=max(norms.anterior_horn_width(ga_weeks).at_z(z), 0.6),
            tod=norms.thalamo_occipital_distance(ga_weeks).at_z(z),
            atrium=5.5 + 0.8 * z,
            temporal=1.2 + 0.2 * max(z, 0.0),
        )


@dataclass(frozen=True)
class Fontanelle:
    """The anterior fontanelle: where the probe sits and how big the skull opening is.

    ``centre``: the point on the scalp surface over the fontanelle's centre (head mm);
    ``normal``: the unit inward normal of the scalp there (the straight-down beam direction);
    ``width_mm`` / ``length_mm``: the opening's transverse and antero-posterior diagonals (a rhombus).
    """

    centre: np.ndarray
    normal: np.ndarray
    width_mm: float
    length_mm: float


@dataclass(frozen=True)
class AnatomyParams:
    """Everything that sizes and shapes one subject's normal anatomy (plus lesion-driven sizes).

    Built by :meth:`typical` (medians for a GA) or sampled per subject by
    :func:`neocus.phantom.subject.sample_subject`. Lengths in mm, angles in degrees.
    """

    ga_weeks: float
    hc_mm: float
    cephalic_index: float = 0.80
    scalp_mm: float = 2.2
    skull_mm: float = 1.6
    extra_axial_csf_mm: float = 2.2
    shape_harmonics: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    fontanelle_y_mm: float = 8.0
    fontanelle_width_mm: float = 20.0
    fontanelle_length_mm: float = 24.0
    suture_mm: float = 1.0
    left: VentricleSize | None = None
    right: VentricleSize | None = None
    third_ventricle_mm: float | None = None
    fourth_ventricle_scale: float = 1.0
    csp_width_mm: float = 3.0  # 0 = no cavum septi pellucidi
    ventricle_rounding: float = 0.0  # 0 = slit / comma-shaped horns, 1 = ballooned (hydrocephalus)
    # per-side multiplicative size of paired deep grey structures (asymmetry), (left, right)
    deep_grey_scale: tuple[float, float] = (1.0, 1.0)
    # offset (mm) of the deep structures relative to the skull and brain outline; the origin stays
    # between the foramina of Monro, so it is the head outline that moves, by -deep_shift
    deep_shift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    sulcal_maturity: float | None = None  # None: from GA
    folding_seed: int = 0
    extra_axial_csf_asym: float = 0.0
    tissue_gain: tuple[float, ...] = ()
    cerebellum_scale: float = 1.0
    cisterna_magna_mm: float = 4.0
    ventricle_jitter_mm: tuple[float, ...] = ()  # 36 offsets of the ventricles' control points (shape variation)
    periventricular_halo: float = 0.0  # normal (mostly preterm) peritrigonal echogenicity, 0-0.5 extra echo

    @classmethod
    def typical(cls, ga_weeks: float, **overrides: object) -> AnatomyParams:
        """Median anatomy for ``ga_weeks`` (24-42), with any field overridden."""
        ga = float(ga_weeks)
        hc = norms.head_circumference_mm(ga)
        mat = norms.sulcal_maturity(ga)
        base = cls(
            ga_weeks=ga,
            hc_mm=hc,
            scalp_mm=1.5 + 0.9 * mat,
            skull_mm=1.0 + 1.0 * mat,
            extra_axial_csf_mm=3.0 - 1.2 * mat,
            fontanelle_width_mm=20.0 * norms.brain_scale(ga) ** 0.5,
            fontanelle_length_mm=24.0 * norms.brain_scale(ga) ** 0.5,
            suture_mm=1.8 - 0.8 * mat,
            csp_width_mm=4.0 - 1.5 * mat,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    def ventricle(self, side: int) -> VentricleSize:
        v = self.left if side > 0 else self.right
        return v if v is not None else VentricleSize.typical(self.ga_weeks)

    @property
    def third_mm(self) -> float:
        if self.third_ventricle_mm is not None:
            return self.third_ventricle_mm
        return norms.third_ventricle_width(self.ga_weeks).p50

    @property
    def maturity(self) -> float:
        return norms.sulcal_maturity(self.ga_weeks) if self.sulcal_maturity is None else self.sulcal_maturity


#: lateral curvature of the skull base (1/mm): the floor rises by this times x**2 (term head)
FLOOR_BOWL_PER_MM = 0.006
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


@dataclass
class _Painter:
    name: str
    lo: np.ndarray
    hi: np.ndarray
    paint: Callable[[np.ndarray, np.ndarray, _Out], None]
    occ: np.ndarray = field(default=None)  # type: ignore[assignment]


@dataclass
class _Out:
    tissue: np.ndarray
    part: np.ndarray
    mod: np.ndarray  # multiplicative echo texture
    lesion: np.ndarray


class NeonatalHead:
    """One subject's head (implements :class:`neocus.phantom.types.HeadModel`).

    ``sample(points)`` returns tissue, echo, part and lesion for head-coordinate points ``[N, 3]``.
    ``fontanelle`` says where the probe sits. Built from :class:`AnatomyParams` and optional lesions.
    """

    def __init__(self, params: AnatomyParams, lesions: Sequence[Lesion] = ()) -> None:
        self.params = params
        p = params
        self.scale = s = norms.brain_scale(p.ga_weeks, p.hc_mm)
        gain = np.ones(N_TISSUES, dtype=F32)
        if p.tissue_gain:
            gain[: len(p.tissue_gain)] = np.asarray(p.tissue_gain, dtype=F32)
        self._echo_table = (ECHO * gain).astype(F32)
        self._build_head(p, s)
        self._painters: list[_Painter] = []
        self._build_deep(p, s)
        self.lesions: list[Lesion] = []
        lo = np.array([-self.ax - 15, self.c1[1] - self.ay - 15, -75.0 * s - 10])
        hi = np.array([self.ax + 15, self.c1[1] + self.ay + 15, self.c1[2] + self.az + 15])
        self._cull = CullGrid(lo, hi, cell_mm=4.0)
        for pr in self._painters:
            pr.occ = self._cull.mask(pr.lo, pr.hi)
        self._deep_occ = np.logical_or.reduce([pr.occ for pr in self._painters])
        for lesion in lesions:
            self.add_lesion(lesion)
        self.fontanelle = self._find_fontanelle()
        self._contact_r = float(self.ax + sum(self.thick))  # radius of the vertex's curvature (mm)

    def __reduce__(self) -> tuple[type, tuple[AnatomyParams, tuple[Lesion, ...]]]:
        """Pickle as the recipe (parameters and lesions): the painters are closures, rebuilt on load."""
        return (NeonatalHead, (self.params, tuple(self.lesions)))

    # ------------------------------------------------------------------ build
    def _build_head(self, p: AnatomyParams, s: float) -> None:
        bpd, ofd = norms.head_axes_mm(p.hc_mm, p.cephalic_index)
        layer = p.scalp_mm + p.skull_mm + p.extra_axial_csf_mm
        self.ax = ax = bpd / 2 - layer
        self.ay = ay = ofd / 2 - layer
        self.az = az = 0.93 * ax
        self.off = off = -np.asarray(p.deep_shift, dtype=np.float64)
        self.c1 = np.array([0.0, -0.13 * ay, 38.0 * s - az]) + off
        self._inv_r1 = (1.0 / np.array([ax, ay, az])).astype(F32)
        tcd = norms.transverse_cerebellar_diameter_mm(p.ga_weeks) * p.cerebellum_scale
        self.tcd = tcd
        self.c2 = np.array([0.0, -42.0 * s, -30.0 * s]) + off
        self.r2 = np.array([tcd / 2 + 1.5 * s, 22.0 * s, 17.0 * s])
        # skull base (anterior and middle cranial fossae, clivus): a smooth floor under the cerebrum,
        # z_floor(y) rising from the posterior fossa to the orbital roofs (the corner profile below,
        # Gaussian-smoothed over ~6 mm), curving up sideways like a bowl (+FLOOR_BOWL * x**2)
        corner_y = np.array([-400.0, -20.0, 6.0, 16.0, 400.0]) * s + off[1]
        corner_z = np.array([-600.0, -37.0, -37.0, -21.0, -21.0]) * s + off[2]
        fy = np.arange(-60.0, 60.0, 1.0) * s + off[1]
        fz = np.interp(fy, corner_y, corner_z)
        k = np.exp(-0.5 * (np.arange(-18, 19) / (6.0 * s)) ** 2)
        fz = np.convolve(np.pad(fz, 18, mode="edge"), k / k.sum(), mode="valid")
        self._floor_y = np.concatenate([[corner_y[0]], fy, [corner_y[-1]]])
        self._floor_z = np.concatenate([[corner_z[0]], fz, [corner_z[-1]]])
        self._floor_bowl = FLOOR_BOWL_PER_MM / s
        self._floor_top = float(corner_z[-1] + self._floor_bowl * (ax + 5.0) ** 2)
        self._harm = np.asarray(p.shape_harmonics, dtype=F32)
        self.thick = (p.extra_axial_csf_mm, p.skull_mm, p.scalp_mm)
        # folding field: random wave directions over the sphere of directions (primary sulci), a
        # second, finer and shallower set (secondary sulci that branch off the primary ones), and a
        # smooth 3-D displacement field that warps the points before they are projected onto the
        # sphere, so that sulci curve both along the surface and as they run inward
        rng = np.random.default_rng(p.folding_seed)
        n_waves = 6
        k = rng.normal(size=(n_waves, 3))
        k /= np.linalg.norm(k, axis=1, keepdims=True)
        mat = p.maturity
        self.sulcal_depth = 0.0 if mat < 0.2 else (1.0 + 7.5 * (mat - 0.2) / 0.8) * s  # smooth to ~28 weeks
        wavelength = (15.0 + 16.0 * (1.0 - mat)) * s  # mm along the surface between sulci
        self.r_fold = 40.0 * s
        self.k_fold = 2 * np.pi * self.r_fold / wavelength
        self._waves = (k * self.k_fold).astype(F32)
        self._phases = rng.uniform(0, 2 * np.pi, size=n_waves).astype(F32)
        kd = rng.normal(size=(2, 3))
        kd /= np.linalg.norm(kd, axis=1, keepdims=True)
        self._depth_waves = (kd * 2.5).astype(F32)
        self._depth_phases = rng.uniform(0, 2 * np.pi, size=2).astype(F32)
        k2 = rng.normal(size=(4, 3))
        k2 /= np.linalg.norm(k2, axis=1, keepdims=True)
        self.k_fold2 = 1.7 * self.k_fold
        self._waves2 = (k2 * self.k_fold2).astype(F32)
        self._phases2 = rng.uniform(0, 2 * np.pi, size=4).astype(F32)
        # warp: three sine waves in head space (wavelength ~ 22 mm), each pushing along its own
        # direction; amplitude ~ a quarter of the sulcal spacing (mm)
        kw = rng.normal(size=(3, 3))
        kw /= np.linalg.norm(kw, axis=1, keepdims=True)
        self._warp_k = (kw * (2 * np.pi / (22.0 * s))).astype(F32)
        ew = rng.normal(size=(3, 3))
        ew /= np.linalg.norm(ew, axis=1, keepdims=True)
        self._warp_e = (ew * 0.32 * wavelength).astype(F32)
        self._warp_ph = rng.uniform(0, 2 * np.pi, size=3).astype(F32)
        self.cortex_mm = (1.2 + 0.9 * mat) * s ** 0.3
        self.sulcus_half_mm = 0.3 + 0.1 * mat
        self.ihf_half_mm = 0.4 + 0.4 * (1.0 - mat)
        # core: the region under the callosal arch where there is no interhemispheric fissure
        self.core_c = np.array([-4.0 * s, -8.0 * s])
        self.core_r = np.array([25.0 * s, 20.0 * s])

    def _tent_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        s = F32(self.scale)
        ox, oy, oz = (F32(v) for v in self.off)
        return F32(-12.0) * s + oz + F32(0.42) * np.minimum(y - oy + F32(20.0) * s, 0) - F32(0.12) * np.abs(x - ox)

    def brain_distance(self, pts: np.ndarray) -> np.ndarray:
        """Approximate signed distance (mm) to the brain surface: < 0 inside the brain (as
        :meth:`sample` sees it, i.e. with the scalp pressed flat under the probe)."""
        return self._surface_distance(self._probe_contact(np.ascontiguousarray(pts, dtype=F32)))

    def _surface_distance(self, pts: np.ndarray) -> np.ndarray:
        """:meth:`brain_distance` of the undeformed head."""
        x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
        c1 = self.c1
        qx, qy, qz = x - F32(c1[0]), y - F32(c1[1]), z - F32(c1[2])
        r = np.sqrt(qx * qx + qy * qy + qz * qz) + F32(1e-6)
        ix, iy, iz = self._inv_r1
        ux, uy, uz = qx * ix, qy * iy, qz * iz
        rho = np.sqrt(ux * ux + uy * uy + uz * uz)
        h = self._harm
        if np.any(h):
            inv_r = F32(1) / r
            dx, dy, dz = qx * inv_r, qy * inv_r, qz * inv_r
            rho /= F32(1) + h[0] * dx + h[1] * dy + h[2] * dz + h[3] * dx * dy + h[4] * (dz * dz - F32(1 / 3))
        d = (rho - F32(1)) * r / (rho + F32(1e-6))
        # posterior fossa ellipsoid, smoothly united (only where it can matter)
        k = 6.0 * self.scale
        c2, r2 = self.c2, self.r2
        near = np.flatnonzero((y < F32(c2[1] + r2[1] + k)) & (z < F32(c2[2] + r2[2] + k)))
        if len(near):
            q2x, q2y, q2z = x[near] - F32(c2[0]), y[near] - F32(c2[1]), z[near] - F32(c2[2])
            rr2 = np.sqrt(q2x * q2x + q2y * q2y + q2z * q2z) + F32(1e-6)
            v2x, v2y, v2z = q2x * F32(1 / r2[0]), q2y * F32(1 / r2[1]), q2z * F32(1 / r2[2])
            rho2 = np.sqrt(v2x * v2x + v2y * v2y + v2z * v2z)
            d2 = (rho2 - F32(1)) * rr2 / (rho2 + F32(1e-6))
            d[near] = _smin(d[near], d2, k)
        low = np.flatnonzero(z < F32(self._floor_top))
        if len(low):
            xo = x[low] - F32(self.off[0])
            zf = np.interp(y[low], self._floor_y, self._floor_z).astype(F32) + F32(self._floor_bowl) * xo * xo
            d[low] = np.maximum(d[low], zf - z[low])
        return d

    def _add(self, name: str, lo: np.ndarray, hi: np.ndarray, paint: Callable[[np.ndarray, np.ndarray, _Out], None]) -> None:
        self._painters.append(_Painter(name, np.asarray(lo, float), np.asarray(hi, float), paint))

    def _build_deep(self, p: AnatomyParams, s: float) -> None:
        dx, dy, dz = 0.0, 0.0, 0.0  # deep structures sit at the origin; the outline carries deep_shift
        w3 = p.third_mm
        self.w3 = w3

        # --- Sylvian fissures (paired)
        mat = p.maturity
        x_ins = self.ax * (0.80 - 0.10 * mat)
        w_in = 0.5 + 2.5 * (1 - mat) ** 1.5
        w_out = 0.6 + 5.0 * (1 - mat) ** 1.5
        y0, y1 = -24.0 * s + dy, 14.0 * s + dy
        zs0 = -8.0 * s + dz

        def sylvian(side: int) -> Callable[[np.ndarray, np.ndarray, _Out], None]:
            part = Part.SYLVIAN_FISSURE_LEFT if side > 0 else Part.SYLVIAN_FISSURE_RIGHT

            def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
                ax_ = pts[:, 0] * side
                y = pts[:, 1]
                frac = np.clip((ax_ - x_ins) / (self.ax - x_ins), 0, 1)
                zc = zs0 - 0.25 * (y - dy) + 0.25 * (ax_ - x_ins)
                half = w_in + (w_out - w_in) * frac
                # taper at the fissure's anterior and posterior ends
                endw = np.clip(np.minimum(y - y0, y1 - y) / (6.0 * s), 0, 1)
                half = half * endw
                dzv = np.abs(pts[:, 2] - zc)
                inside = (ax_ > x_ins) & (dzv < half)
                sel = idx[inside]
                rim = (half[inside] - dzv[inside]) < 0.7
                out.tissue[sel] = np.where(rim, Tissue.SULCUS, Tissue.CSF)
                out.part[sel] = part
                # insular cortex medial to the fissure
                ins = (ax_ <= x_ins) & (ax_ > x_ins - self.cortex_mm) & (dzv < half + 6.0 * s)
                out.tissue[idx[ins]] = Tissue.GREY_MATTER

            return paint

        for side in (1, -1):
            xa, xb = sorted((side * (x_ins - 3), side * (self.ax + 2)))
            self._add(f"sylvian{side}", [xa, y0, zs0 - 12 * s - w_out], [xb, y1, zs0 + 12 * s + w_out], sylvian(side))

        # --- thalami, caudate nuclei
        self.thalamus: dict[int, Ellipsoid] = {}
        self.caudate: dict[int, list[Ellipsoid]] = {}
        for side in (1, -1):
            g = p.deep_grey_scale[0 if side > 0 else 1]
            th_r = np.array([8.0, 12.5, 9.0]) * s * g
            th = Ellipsoid([dx + side * (w3 / 2 + th_r[0] * 0.95), -10.5 * s + dy, -5.0 * s + dz], th_r, rotation_xyz(rz_deg=side * 8))
            self.thalamus[side] = th
            cd_r = np.array([5.5, 10.0, 6.5]) * s * g
            v = p.ventricle(side)
            cx_ = dx + side * (0.55 * v.vi + 3.5 * s)
            cd = Ellipsoid([cx_, 7.0 * s + dy, -1.5 * s + dz], cd_r, rotation_xyz(rx_deg=-15, rz_deg=side * 10))
            cb = Ellipsoid([dx + side * (0.55 * v.vi + 5.0 * s), -9.0 * s + dy, 4.0 * s + dz], np.array([3.0, 11.0, 3.0]) * s * g, rotation_xyz(rx_deg=-12))
            self.caudate[side] = [cd, cb]
            self._add_ellipsoid(f"thalamus{side}", th, Tissue.DEEP_GREY, Part.THALAMUS_LEFT if side > 0 else Part.THALAMUS_RIGHT)
            cpart = Part.CAUDATE_LEFT if side > 0 else Part.CAUDATE_RIGHT
            self._add_ellipsoid(f"caudate{side}", cd, Tissue.DEEP_GREY, cpart, mod=1.08)
            self._add_ellipsoid(f"caudate_body{side}", cb, Tissue.DEEP_GREY, cpart, mod=1.08)

        # --- posterior fossa: cisterna magna, vermis, brainstem
        cm = p.cisterna_magna_mm
        vr = np.array([7.0, 10.5, 11.5]) * s * p.cerebellum_scale
        self.vermis = Ellipsoid([dx, self.c2[1] - 1.0 * s, self.c2[2] + 1.0 * s], vr, rotation_xyz(rx_deg=20))
        self.cisterna = Ellipsoid(
            [dx, self.c2[1] - vr[1] * 0.55, self.c2[2] - vr[2] * 0.55],
            np.array([9.0 * s, vr[1] * 0.45 + cm, vr[2] * 0.45 + cm]),
            rotation_xyz(rx_deg=35),
        )
        self._add_ellipsoid("cisterna", self.cisterna, Tissue.CSF, Part.CISTERNA_MAGNA, only_pf=True)
        self._add_ellipsoid("vermis", self.vermis, Tissue.VERMIS, Part.CEREBELLAR_VERMIS)
        bs_yz = np.array([[-12.0, -7.0], [-16.0, -17.0], [-18.5, -28.0], [-20.0, -38.0], [-21.0, -52.0]]) * s + [dy, dz]
        self.brainstem = Tube(
            bs_yz,
            x=np.zeros(5) + 0.0,
            a=np.array([6.5, 7.0, 9.0, 6.0, 5.0]) * s,
            b=np.array([9.0, 9.0, 11.0, 7.0, 6.0]) * s,
            theta_deg=np.zeros(5),
            side=1,
        )
        self._add_tube("brainstem", self.brainstem, lambda t: np.full(t.shape, Part.BRAINSTEM, U8), Tissue.BRAINSTEM, shift_x=dx)

        # --- lateral ventricles
        self.lv: dict[int, Tube] = {}
        self.glomus: dict[int, np.ndarray] = {}
        self.lv_occ: dict[int, Tube] = {}
        csp_half = p.csp_width_mm / 2
        septum = 0.8 * s ** 0.5
        self.csp_half = csp_half
        self.x_med = x_med = (csp_half if csp_half > 0.2 else 0.0) + septum
        rnd = float(np.clip(p.ventricle_rounding, 0, 1))
        for side in (1, -1):
            v = p.ventricle(side)
            tube, occ = self._lateral_ventricle(v, side, s, x_med, rnd, (dx, dy, dz))
            self.lv[side], self.lv_occ[side] = tube, occ
        for side in (1, -1):
            if p.periventricular_halo > 0:
                self._add_halo(side, p.periventricular_halo)
            self._add_lv(side)

        # --- corpus callosum: an arch over the ventricles and the cavum
        roof = []
        for side in (1, -1):
            tube = self.lv[side]
            r = []
            for t in tube.t_ctrl[:6]:
                c = tube.at(t)
                # highest point of the tilted ellipse cross-section (normal roughly +z here)
                r.append(c["z"] + np.hypot(c["a"] * c["cos"], c["b"] * c["sin"]))
            roof.append(r)
        roof_z = np.max(np.array(roof), axis=0)
        lv_y = np.array([self.lv[1].at(t)["y"] for t in self.lv[1].t_ctrl[:6]])
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
        self.cc = Tube(
            cc_yz,
            x=np.zeros(7),
            a=np.array([0.8, 1.5, 1.2, 1.0, 1.0, 1.2, 1.9]) * cc_a,
            b=np.array([6.0, 10.0, 13.0, 15.0, 15.0, 14.0, 12.0]) * s + 0.4 * max(p.ventricle(1).vi, p.ventricle(-1).vi) - 4.0,
            theta_deg=np.zeros(7),
            side=1,
            droop=0.035 / s,
        )
        cc = self.cc
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
        self._insert(_Painter("cc", lo, hi, paint_cc), before="lv_occ1")
        # cingulate sulcus: a curve parallel to the callosum on the medial surfaces (from ~28 weeks)
        if mat > 0.15:
            tan = np.gradient(cc_yz, axis=0)
            tan /= np.linalg.norm(tan, axis=1, keepdims=True)
            nrm = np.stack([tan[:, 1], -tan[:, 0]], axis=1)
            off = (2.0 * cc_a + 6.5 * s) * np.array([0.0, 0.6, 1.0, 1.0, 1.0, 1.0, 0.6])[:, None]
            cg_yz = (cc_yz + nrm * off)[1:]
            depth = (4.0 + 6.0 * mat) * s
            cing = Tube(cg_yz, x=np.zeros(6), a=np.full(6, self.sulcus_half_mm + 0.15), b=np.full(6, depth), theta_deg=np.zeros(6), pad_mm=self.cortex_mm + 0.2)
            self.cingulate = cing
            wm_like = lut([Tissue.WHITE_MATTER, Tissue.GREY_MATTER, Tissue.FALX, Tissue.CSF])

            def paint_cing(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
                r = cing.eval(pts - np.array([dxf, 0, 0], dtype=F32))
                m = (r["q"] < 1) & wm_like[out.tissue[idx]]
                out.tissue[idx[m]] = Tissue.SULCUS
                # grey matter lining it
                g = (r["q"] >= 1) & (np.abs(r["v2"]) < r["a"] + self.cortex_mm) & (np.abs(r["v1"]) < r["b"]) & (out.tissue[idx] == Tissue.WHITE_MATTER)
                out.tissue[idx[g]] = Tissue.GREY_MATTER

            clo, chi = cing.lo + [dx, 0, 0], cing.hi + [dx, 0, 0]
            clo[1:] -= self.cortex_mm
            chi[1:] += self.cortex_mm
            self._insert(_Painter("cingulate", clo, chi, paint_cing), before="cc")

        # --- cavum septi pellucidi
        if csp_half > 0.2:
            y_ant = self.lv[1].at(0.0)["y"] - 4.0 * s
            y_post = -1.0 * s + dy
            z_top = float(np.min(roof_z[1:3]))
            z_bot = 0.8 * s + dz
            cen = np.array([dx, (y_ant + y_post) / 2, (z_top + z_bot) / 2])
            rad = np.array([csp_half, (y_ant - y_post) / 2, (z_top - z_bot) / 2])
            self._add_superellipsoid("csp", cen, rad, 2.5, Tissue.CSF, Part.CAVUM_SEPTI_PELLUCIDI)

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
            self._add_ellipsoid(f"monro{side}", Ellipsoid(c, [ln / 2 + 0.8, 1.0 * s ** 0.5, 1.0 * s ** 0.5], rot), Tissue.CSF, Part.FORAMEN_OF_MONRO)

        # --- third ventricle (slit, superellipse in y-z) with the massa intermedia
        c3 = np.array([dx, -5.5 * s + dy, -6.5 * s + dz])
        r3 = np.array([w3 / 2, 9.0 * s, 7.5 * s])
        mi_c = np.array([-6.5 * s + dy, -4.5 * s + dz])
        mi_r = 2.6 * s * (1.0 - 0.6 * rnd)
        self.third_centre = c3

        def third(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
            qy = np.abs((pts[:, 1] - c3[1]) / r3[1]) ** 3 + np.abs((pts[:, 2] - c3[2]) / r3[2]) ** 3
            # ballooning: the slit widens into a rounded cavity as it dilates
            half = r3[0] * np.sqrt(np.clip(1 - qy, 0, 1)) ** (0.15 + 0.5 * rnd)
            inside = (qy < 1) & (np.abs(pts[:, 0] - c3[0]) < half)
            mi = ((pts[:, 1] - mi_c[0]) ** 2 + (pts[:, 2] - mi_c[1]) ** 2) < mi_r**2
            sel = idx[inside & ~mi]
            out.tissue[sel] = Tissue.CSF
            out.part[sel] = Part.THIRD_VENTRICLE

        self._add("third", c3 - r3, c3 + r3, third)

        # --- aqueduct and fourth ventricle
        f4 = p.fourth_ventricle_scale
        aq_yz = np.array([[-13.0, -12.0], [-18.0, -17.0], [-24.0, -22.0]]) * s + [dy, dz]
        self.aqueduct = Tube(aq_yz, x=np.zeros(3), a=np.full(3, 0.6 * s ** 0.5 * f4), b=np.full(3, 0.6 * s ** 0.5 * f4), theta_deg=np.zeros(3))
        self._add_tube("aqueduct", self.aqueduct, lambda t: np.full(t.shape, Part.AQUEDUCT, U8), Tissue.CSF, shift_x=dx)
        tri = np.array([[-25.0, -20.5], [-25.5, -37.0], [-34.0, -28.5]]) * s
        tri = tri.mean(axis=0) + (tri - tri.mean(axis=0)) * f4 + [dy, dz]
        w4 = 5.0 * s * f4
        self.fourth_tri = tri

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
        self._add("fourth", lo4, hi4, fourth)

        # --- caudothalamic grooves (under the ventricle floor just behind the foramen)
        self.ctg: dict[int, Ellipsoid] = {}
        for side in (1, -1):
            tube = self.lv[side]
            # the upper limb of the C (frontal horn to atrium) runs monotonically backwards in y
            upper = tube.tt <= tube.t_ctrl[4]
            t_ctg = float(np.interp(-2.5 * s + dy, tube.centre_yz[upper, 0][::-1], tube.tt[upper][::-1]))
            c = tube.at(t_ctg)
            floor = np.array([side * (abs(c["x"]) + 1.5 * s), c["y"], c["z"] - np.hypot(c["a"] * c["cos"], c["b"] * c["sin"]) * 0.6 - 1.2 * s])
            e = Ellipsoid(floor, np.array([2.6, 1.3, 2.6]) * s ** 0.7, rotation_xyz(rx_deg=-35))
            self.ctg[side] = e
            self._add_ellipsoid(f"ctg{side}", e, Tissue.DEEP_GREY, Part.CAUDOTHALAMIC_GROOVE_LEFT if side > 0 else Part.CAUDOTHALAMIC_GROOVE_RIGHT, mod=1.45, before=f"lv_occ{1}")

    def _lateral_ventricle(
        self, v: VentricleSize, side: int, s: float, x_med: float, rnd: float, shift: tuple[float, float, float]
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
        jit = self.params.ventricle_jitter_mm
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
            main = _shifted_tube(main, dx)
        # occipital horn: from inside the atrium back to its tip at TOD behind the posterior thalamus
        th_e = self.thalamus[side]
        y_thal_post = float(th_e.lo[1])
        a_tip = max(0.8, 0.35 * a_atr)
        y_tip = y_thal_post - v.tod + a_tip
        y_tip = max(y_tip, float(self.c1[1] - 0.84 * self.ay) + 2.0 * a_tip)  # keep a posterior mantle
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
            occ = _shifted_tube(occ, dx)
        return main, occ

    def _add_halo(self, side: int, strength: float) -> None:
        """The normal periventricular "halo": white matter dorsolateral to the trigone (and, fainter,
        the frontal horn) slightly brighter than the rest, fading with distance; a mimic of PVL flare."""
        s = self.scale
        blobs = []
        for t, gain, rad in ((0.5 * (self.lv[side].t_ctrl[4] + self.lv[side].t_ctrl[5]), 1.0, 7.0), (self.lv[side].t_ctrl[1], 0.5, 5.0)):
            c = self.lv[side].at(float(t))
            centre = np.array([c["x"] + side * (c["b"] * 0.6 + 2.0 * s), c["y"], c["z"] + c["a"] + 2.0 * s])
            blobs.append((Ellipsoid(centre, np.array([rad, rad * 1.5, rad]) * s), F32(strength * gain)))
        for i, (e, g) in enumerate(blobs):

            def paint(pts: np.ndarray, idx: np.ndarray, out: _Out, e: Ellipsoid = e, g: F32 = g) -> None:
                q = e.q(pts)
                m = (q < 1) & (out.tissue[idx] == Tissue.WHITE_MATTER)
                out.mod[idx[m]] *= F32(1.0) + g * (F32(1.0) - q[m])

            self._add(f"halo{side}_{i}", e.lo, e.hi, paint)

    def _add_lv(self, side: int) -> None:
        main, occ = self.lv[side], self.lv_occ[side]
        lvf, lvb, lva, lvo, lvt = (
            (Part.LV_FRONTAL_LEFT, Part.LV_BODY_LEFT, Part.LV_ATRIUM_LEFT, Part.LV_OCCIPITAL_LEFT, Part.LV_TEMPORAL_LEFT)
            if side > 0
            else (Part.LV_FRONTAL_RIGHT, Part.LV_BODY_RIGHT, Part.LV_ATRIUM_RIGHT, Part.LV_OCCIPITAL_RIGHT, Part.LV_TEMPORAL_RIGHT)
        )
        cp_part = Part.CHOROID_PLEXUS_LEFT if side > 0 else Part.CHOROID_PLEXUS_RIGHT
        tk = main.t_ctrl
        edges = np.array([tk[2], 0.5 * (tk[4] + tk[5]), tk[6] + 0.25 * (tk[7] - tk[6])], dtype=F32)
        parts = np.array([lvf, lvb, lva, lvt], dtype=U8)
        s = self.scale
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
        self.glomus[side] = np.array([g["x"], g["y"], g["z"]]) + (-0.25 * g["b"]) * e1 + v2c * e2

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

        self._add(f"lv_occ{side}", occ.lo, occ.hi, paint_occ)
        self._add(f"lv{side}", main.lo, main.hi, paint_main)

    # helpers to register primitives
    def _insert(self, painter: _Painter, before: str | None) -> None:
        if before is None:
            self._painters.append(painter)
            return
        names = [q.name for q in self._painters]
        i = names.index(before) if before in names else len(names)
        self._painters.insert(i, painter)

    def _add_ellipsoid(
        self, name: str, e: Ellipsoid, tissue: Tissue, part: Part, mod: float = 1.0, only_pf: bool = False, before: str | None = None
    ) -> None:
        def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
            inside = e.q(pts) < 1
            if only_pf:
                inside &= _PF_LUT[out.tissue[idx]]
            sel = idx[inside]
            out.tissue[sel] = tissue
            out.part[sel] = part
            if mod != 1.0:
                out.mod[sel] = F32(mod)

        self._insert(_Painter(name, e.lo, e.hi, paint), before)

    def _add_tube(
        self, name: str, tube: Tube, part_of_t: Callable[[np.ndarray], np.ndarray], tissue: Tissue, shift_x: float = 0.0, before: str | None = None
    ) -> None:
        sx = F32(shift_x)

        def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
            if sx:
                pts = pts - np.array([sx, 0, 0], dtype=F32)
            r = tube.eval(pts)
            inside = r["q"] < 1
            sel = idx[inside]
            out.tissue[sel] = tissue
            out.part[sel] = part_of_t(r["t"][inside])

        lo, hi = tube.lo.copy(), tube.hi.copy()
        lo[0] += shift_x
        hi[0] += shift_x
        self._insert(_Painter(name, lo, hi, paint), before)

    def _add_superellipsoid(self, name: str, c: np.ndarray, r: np.ndarray, n: float, tissue: Tissue, part: Part) -> None:
        cf, rf = c.astype(F32), r.astype(F32)

        def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
            q = (np.abs((pts - cf) / rf) ** n).sum(axis=1)
            sel = idx[q < 1]
            out.tissue[sel] = tissue
            out.part[sel] = part

        self._add(name, c - r, c + r, paint)

    def add_lesion(self, lesion: Lesion) -> None:
        """Register a focal lesion painter (called by lesions when the subject is built)."""
        self.lesions.append(lesion)
        subs = []
        for name, lo, hi, paint in lesion.painters(self):
            pr = _Painter(f"lesion:{name}", np.asarray(lo, float), np.asarray(hi, float), paint)
            pr.occ = self._cull.mask(pr.lo, pr.hi)
            subs.append(pr)
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
                        sp.paint(pts[sel], idx[sel], out)

            lo = np.min([sp.lo for sp in subs], axis=0)
            hi = np.max([sp.hi for sp in subs], axis=0)
            group = _Painter(f"lesion:{lesion.kind.value}", lo, hi, paint_group)
            group.occ = np.logical_or.reduce([sp.occ for sp in subs])
        self._painters.append(group)
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
        csf_t, skull_t, scalp_t = self.thick
        # shells outside the brain
        outer = d > 0
        io = np.flatnonzero(outer)
        if len(io):
            do = d[io]
            skull_end = F32(csf_t) + F32(skull_t) * self._bone_taper(pts[io])
            lay = (do > F32(csf_t)).astype(np.intp) + (do > skull_end) + (do > F32(csf_t + skull_t + scalp_t))
            t_of = np.array([Tissue.CSF, Tissue.SKULL, Tissue.SCALP, Tissue.BACKGROUND], dtype=U8)
            p_of = np.array([Part.EXTRA_AXIAL_CSF, Part.SKULL, Part.SCALP, Part.NONE], dtype=U8)
            tissue[io] = t_of[lay]
            part[io] = p_of[lay]
            sk = io[lay == 1]
            if len(sk):
                gap = self._skull_gap(pts[sk])
                tissue[sk[gap]] = Tissue.FONTANELLE
                part[sk[gap]] = Part.FONTANELLE
        ib = np.flatnonzero(~outer)
        if len(ib):
            pb = pts[ib]
            self._paint_brain(pb, ib, -d[ib], out)
            # deep region first (one box test), then each painter's cells within it
            cells_b = self._cull.cells(pb)
            inner = np.flatnonzero(self._deep_occ[cells_b])
            if len(inner):
                pin, iin = pb[inner], ib[inner]
                cells = cells_b[inner]
                for pr in self._painters:
                    sel = np.flatnonzero(pr.occ[cells])
                    if len(sel):
                        pr.paint(pin[sel], iin[sel], out)
        echo = self._echo_table[tissue] * mod
        return TissueSample(tissue=tissue, echo=echo.astype(F32, copy=False), part=part, lesion=lesion)

    def _bone_taper(self, pts: np.ndarray) -> np.ndarray:
        """Fraction (0..1) of the full skull thickness at points of the skull shell: the bone thins
        toward the fontanelle's margin (to ``SKULL_TAPER_MIN`` of it at half the fontanelle's width
        from its axis, full ``SKULL_TAPER_MM`` further out); the soft tissue over it fills the rest."""
        fon = getattr(self, "fontanelle", None)
        if fon is None:
            return np.ones(len(pts), F32)
        q = pts - fon.centre.astype(F32)
        h = q @ fon.normal.astype(F32)
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
        fon = getattr(self, "fontanelle", None)
        if fon is None:
            return pts
        c = fon.centre.astype(F32)
        nrm = fon.normal.astype(F32)
        q = pts - c
        h = q @ nrm
        r2 = np.maximum(np.einsum("ij,ij->i", q, q) - h * h, F32(0))
        big = F32(self._contact_r)
        rc = F32(min(CONTACT_RADIUS_MM, 0.9 * self._contact_r))
        g = big - np.sqrt(big * big - np.minimum(r2, rc * rc))
        g *= np.clip(F32(1) - (np.sqrt(r2) - rc) / F32(CONTACT_FADE_MM), 0, 1)
        w = np.clip(F32(1) - h / F32(CONTACT_DEPTH_MM * self.scale), 0, 1)
        return (pts + (g * w)[:, None] * nrm).astype(F32, copy=False)

    def _skull_gap(self, p: np.ndarray) -> np.ndarray:
        """Fontanelle (rhombus) and sutures: soft-tissue gaps in the calvarium (upper skull only)."""
        pr = self.params
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        top = z > self.c1[2] + 0.2 * self.az
        yf = pr.fontanelle_y_mm + self.off[1]
        x = x - F32(self.off[0])
        rh = np.abs(x) / (pr.fontanelle_width_mm / 2) + np.abs(y - yf) / (pr.fontanelle_length_mm / 2) < 1
        sw = pr.suture_mm / 2
        sag = (np.abs(x) < sw) & (y < yf)  # sagittal suture behind the fontanelle
        cor = (np.abs(y - yf) < sw) & (z > self.c1[2])  # coronal sutures, sideways from it
        return top & (rh | sag | cor)

    def _paint_brain(self, p: np.ndarray, idx: np.ndarray, depth: np.ndarray, out: _Out) -> None:
        """Cerebrum (white matter, cortex, sulci, fissures) and the posterior fossa default."""
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        s = F32(self.scale)
        left = x >= 0
        out.tissue[idx] = Tissue.WHITE_MATTER
        out.part[idx] = np.where(left, Part.WHITE_MATTER_LEFT, Part.WHITE_MATTER_RIGHT)
        pf = (z < self._tent_z(x, y)) & (y < F32(-16.0) * s + F32(self.off[1]))
        # posterior fossa: cerebellar hemispheres with folia around the fourth ventricle
        ip = np.flatnonzero(pf)
        if len(ip):
            sel = idx[ip]
            out.tissue[sel] = Tissue.CEREBELLUM
            out.part[sel] = np.where(left[ip], Part.CEREBELLAR_HEMISPHERE_LEFT, Part.CEREBELLAR_HEMISPHERE_RIGHT)
            rr = np.sqrt((y[ip] - self.c2[1] - 8 * s) ** 2 + (z[ip] - self.c2[2]) ** 2 + (0.5 * x[ip]) ** 2)
            out.mod[sel] = F32(1.0) + F32(0.3) * np.cos(rr * F32(2 * np.pi / (2.2 * s**0.5)) + F32(1.5) * np.sin(F32(0.35) * (x[ip] + y[ip])))
            # the midline between the hemispheres, where the vermis does not fill it, is cistern CSF
            cleft = np.abs(x[ip]) < F32(1.8) * s
            low = z[ip] < F32(self.c2[2])
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
        cy_, cz_ = yc - F32(self.core_c[0]), zc - F32(self.core_c[1])
        rc = np.sqrt(cy_ * cy_ + cz_ * cz_) + F32(1e-3)
        rho_c = np.sqrt((cy_ / F32(self.core_r[0])) ** 2 + (cz_ / F32(self.core_r[1])) ** 2) + F32(1e-4)
        core = rho_c < 1
        d_core = np.where(core, rc * (1 / rho_c - 1), F32(0))
        ax = np.abs(xc)
        lat = ax - F32(self.ihf_half_mm)
        medial = np.where(core, np.sqrt(np.maximum(lat, 0) ** 2 + F32(9.0) * d_core * d_core), lat)
        dm = np.minimum(dc, medial)
        sel = idx[ic]
        # interhemispheric fissure: thin CSF with the falx in its middle
        fis = (medial < 0) & ~core
        out.tissue[sel[fis]] = Tissue.FALX
        out.part[sel[fis]] = Part.INTERHEMISPHERIC_FISSURE
        cortex = self.cortex_mm
        dmax = 1.45 * self.sulcal_depth + cortex
        shell = np.flatnonzero(dm < max(dmax, cortex))
        if not len(shell):
            return
        ssel = sel[shell]
        dsh = np.maximum(dm[shell], 0)
        in_fis = fis[shell]
        grey = (dsh < cortex) & ~in_fis
        pial = ((dc[shell] < 0.3) | ((medial[shell] < 0.12) & (medial[shell] >= 0))) & ~in_fis
        if self.sulcal_depth > 0:
            q = p[ic[shell]] - self.c1.astype(F32)
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
            qw = q + np.sin(q @ self._warp_k.T + self._warp_ph) @ self._warp_e
            rw = np.sqrt(np.einsum("ij,ij->i", qw, qw)) + F32(1e-3)
            u = qw / rw[:, None]
            f = np.cos(u @ self._waves.T + self._phases).sum(axis=1) * F32(np.sqrt(2.0 / len(self._phases)))
            dist = np.abs(f) * r / F32(self.k_fold)  # ~ mm to the primary sulcal sheet
            f2 = np.cos(u @ self._waves2.T + self._phases2).sum(axis=1) * F32(np.sqrt(2.0 / len(self._phases2)))
            dist2 = np.abs(f2) * r / F32(self.k_fold2)  # ~ mm to a secondary sheet
            # each sulcus has its own depth: a slow field over directions varies it by +-45 %
            dvar = F32(1.0) + F32(0.45) * np.cos(u @ self._depth_waves.T + self._depth_phases).mean(axis=1) * F32(1.4)
            depth_here = F32(self.sulcal_depth) * dvar
            # secondary sulci only where the primary field is on one side (so they end on, i.e.
            # branch from, the primary sheets) and only half as deep
            sec = f > F32(0.35)
            depth2 = F32(0.5) * depth_here
            use2 = sec & (dist2 < dist) & (dsh < depth2 + F32(cortex))
            dist = np.where(use2, dist2, dist)
            depth_here = np.where(use2, depth2, depth_here)
            frac = np.clip(1 - dsh / depth_here, 0, 1)
            sulc = (dist < F32(self.sulcus_half_mm) * (0.4 + 0.6 * frac)) & (dsh < depth_here)
            grey |= (dist < F32(self.sulcus_half_mm + cortex)) & (dsh < depth_here + F32(cortex)) & ~in_fis
            # sulci cross the fissure too: a midsagittal plane shows the radiating medial sulci
            pial |= sulc
        lr = np.where(xc[shell] >= 0, Part.CORTEX_LEFT, Part.CORTEX_RIGHT).astype(U8)
        g = ssel[grey]
        out.tissue[g] = Tissue.GREY_MATTER
        out.part[g] = lr[grey]
        pl = ssel[pial]
        out.tissue[pl] = Tissue.SULCUS
        out.part[pl] = np.where(in_fis[pial], U8(Part.INTERHEMISPHERIC_FISSURE), lr[pial])

    # ------------------------------------------------------------------ fontanelle, parts
    def _find_fontanelle(self) -> Fontanelle:
        pr = self.params
        outer = sum(self.thick)
        z = np.linspace(0.0, self.c1[2] + self.az + outer + 10, 4000, dtype=F32)
        pts = np.stack([np.full_like(z, self.off[0]), np.full_like(z, pr.fontanelle_y_mm + self.off[1]), z], axis=1)
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


def _shifted_tube(tube: Tube, dx: float) -> Tube:
    """A tube moved sideways by ``dx`` mm (implemented by shifting points at evaluation)."""
    return _ShiftedTube(tube, dx)  # type: ignore[return-value]


class _ShiftedTube:
    def __init__(self, tube: Tube, dx: float) -> None:
        self._t = tube
        self._dx = F32(dx)
        self.lo = tube.lo + [dx, 0, 0]
        self.hi = tube.hi + [dx, 0, 0]

    def __getattr__(self, name: str) -> object:
        return getattr(self._t, name)

    def at(self, t: float) -> dict[str, float]:
        c = self._t.at(t)
        c["x"] += float(self._dx)
        return c

    def eval(self, p: np.ndarray) -> dict[str, np.ndarray]:
        return self._t.eval(p - np.array([self._dx, 0, 0], dtype=F32))
