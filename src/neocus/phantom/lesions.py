"""Lesions of the neonatal brain, placed relative to a subject's anatomy, each also a mask.

Every lesion is a small frozen dataclass of *anatomy-relative* parameters (side, position along the
lateral ventricle's centreline parameter ``t``, sizes in mm, echo intensity), drawn continuously so
that cases fall on both sides of, and close to, the clinical thresholds. ``painters(head)`` resolves
them against a :class:`~neocus.phantom.anatomy.NeonatalHead` into bounding-boxed painters that set
tissue and echo and write the lesion channel (``LESION_KINDS.index(kind) + 1``).

The radiology each follows (Papile LA et al., J Pediatr 1978;92:529-534; Volpe JJ, Neurology of the
Newborn; de Vries LS et al., Behav Brain Res 1992;49:1-6 for PVL grading; Govaert P, de Vries LS,
An Atlas of Neonatal Brain Sonography):

* germinal matrix haemorrhage (Papile I): echogenic, ovoid, subependymal, at the caudothalamic
  groove / head of the caudate, 2-10 mm;
* intraventricular haemorrhage (II, or III with ventricular dilation): echogenic clot in the
  lumen of the lateral ventricle - in the dependent atrium / occipital horn and along (thickening)
  the choroid plexus, up to a cast; dilation is not part of this lesion but a continuous ventricle
  size (``VentricularDilation``), so II vs III sits on the measured ventricular index;
* periventricular haemorrhagic infarction (IV): a fan-shaped echogenic (mottled) parenchymal lesion
  in the periventricular white matter dorsolateral to the body / frontal horn, usually unilateral and
  ipsilateral to a large IVH;
* PVL flare: periventricular echogenicity (up to "as bright as the choroid plexus") dorsolateral to
  the trigones and frontal horns, usually bilateral; intensity continuous from just above a normal
  preterm "halo" (<= 1.45 x white matter) to about the choroid plexus (5 x);
* cystic PVL: multiple small anechoic cysts (1-8 mm, many below the frame spacing of a sweep) in the
  periventricular white matter, bilateral, often with residual echogenicity;
* ventricular dilation / hydrocephalus: the lumen of the lateral (and for hydrocephalus third and
  fourth) ventricles; sizes are set on :class:`~neocus.phantom.anatomy.AnatomyParams` by the subject
  sampler and the labels follow the *measured* ventricular index (``classify_ventricles``);
* ependymal / subependymal cysts: small anechoic cysts (1.5-6 mm) under the ependyma at the
  caudothalamic groove or the lateral wall of the frontal horn / body.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neocus.phantom import norms
from neocus.phantom.parts import LATERAL_VENTRICLE_PARTS, Part
from neocus.phantom.primitives import F32, lut
from neocus.phantom.tissues import ECHO, Tissue
from neocus.phantom.types import LESION_KINDS
from neocus.vocab import LesionKind

if TYPE_CHECKING:
    from neocus.phantom.anatomy import NeonatalHead, _Out

Painter = tuple[str, np.ndarray, np.ndarray, Callable[[np.ndarray, np.ndarray, "_Out"], None]]

PARENCHYMA = np.array([Tissue.WHITE_MATTER, Tissue.GREY_MATTER, Tissue.DEEP_GREY, Tissue.SULCUS, Tissue.FLARE], dtype=np.uint8)
WHITE_MATTER_LIKE = np.array([Tissue.WHITE_MATTER, Tissue.FLARE], dtype=np.uint8)
_PARENCHYMA_LUT = lut(PARENCHYMA)
_WM_LUT = lut(WHITE_MATTER_LIKE)
_LV_SORTED = np.array(sorted(LATERAL_VENTRICLE_PARTS), dtype=np.uint8)
_CHOROID = np.array([Part.CHOROID_PLEXUS_LEFT, Part.CHOROID_PLEXUS_RIGHT], dtype=np.uint8)


def lesion_id(kind: LesionKind) -> int:
    """Value of ``kind`` in the lesion channel (0 = none)."""
    return LESION_KINDS.index(LesionKind(kind)) + 1


def _side_parts(side: int) -> np.ndarray:
    suffix = "_LEFT" if side > 0 else "_RIGHT"
    return np.array([p for p in _LV_SORTED if Part(p).name.endswith(suffix)] + [
        Part.CHOROID_PLEXUS_LEFT if side > 0 else Part.CHOROID_PLEXUS_RIGHT
    ], dtype=np.uint8)


def _lv_point(head: NeonatalHead, side: int, t: float, radial_deg: float = 0.0, out_mm: float = 0.0) -> np.ndarray:
    """A point around the lateral ventricle: at centreline parameter ``t``, ``out_mm`` beyond the wall
    in the cross-section direction ``radial_deg`` (0 = lateral along the long axis, 90 = along the
    upward / outward normal). ``t`` in [1, 2] addresses the occipital horn (at ``t - 1``)."""
    c = head.lv_occ[side].at(t - 1.0) if t > 1.0 else head.lv[side].at(t)
    ang = np.radians(radial_deg)
    # cross-section axes in head coordinates: long axis (lateral-ish) and short axis (normal-ish)
    lat = np.array([side * 1.0, 0.0, 0.0])
    nrm = np.array([0.0, c["ny"], c["nz"]])
    e1 = c["cos"] * lat + c["sin"] * nrm
    e2 = -c["sin"] * lat + c["cos"] * nrm
    # wall distance of the ellipse in that direction
    wall = 1.0 / np.sqrt((np.cos(ang) / c["b"]) ** 2 + (np.sin(ang) / c["a"]) ** 2)
    r = wall + out_mm
    return np.array([c["x"], c["y"], c["z"]]) + r * (np.cos(ang) * e1 + np.sin(ang) * e2)


@dataclass(frozen=True)
class Lesion:
    """Base: a lesion kind on one or both sides; subclasses implement :meth:`painters`."""

    kind: LesionKind
    sides: tuple[int, ...]  # +1 left, -1 right

    @property
    def code(self) -> int:
        return lesion_id(self.kind)

    def painters(self, head: NeonatalHead) -> list[Painter]:
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        """JSON-ready parameters (for case metadata / ground truth)."""
        out: dict[str, object] = {"kind": self.kind.value, "sides": ["left" if s > 0 else "right" for s in self.sides]}
        for k, v in self.__dict__.items():
            if k in ("kind", "sides"):
                continue
            out[k] = _jsonable(v)
        return out


def _jsonable(v: object) -> object:
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return round(float(v), 4)
    if isinstance(v, (np.integer, int)):
        return int(v)
    return v


def _ellipsoid_painter(
    name: str,
    centre: np.ndarray,
    radii: np.ndarray,
    code: int,
    tissue: Tissue,
    where: Callable[[np.ndarray, np.ndarray, _Out], np.ndarray] | None = None,
    echo_gain: float = 1.0,
) -> Painter:
    c = np.asarray(centre, dtype=F32)
    inv = (1.0 / np.asarray(radii, dtype=np.float64)).astype(F32)

    def paint(pts: np.ndarray, idx: np.ndarray, out: _Out) -> None:
        q = (((pts - c) * inv) ** 2).sum(axis=1)
        inside = q < 1
        if where is not None:
            inside &= where(pts, idx, out)
        sel = idx[inside]
        out.tissue[sel] = tissue
        out.lesion[sel] = code
        out.mod[sel] = F32(echo_gain)

    r = np.asarray(radii, dtype=np.float64)
    return (name, c - r, c + r, paint)


@dataclass(frozen=True)
class GerminalMatrixHaemorrhage(Lesion):
    """Subependymal haemorrhage at the caudothalamic groove (Papile I). ``size_mm``: long diameter."""

    size_mm: float = 4.0
    intensity: float = 1.0  # echo relative to fresh clot

    def painters(self, head: NeonatalHead) -> list[Painter]:
        out = []
        for side in self.sides:
            c = head.ctg[side].centre + np.array([0.0, 0.8, 0.9]) * head.scale
            r = np.array([0.42, 0.5, 0.38]) * self.size_mm
            out.append(_ellipsoid_painter(f"gmh{side}", c, r, self.code, Tissue.BLOOD, echo_gain=self.intensity))
        return out


@dataclass(frozen=True)
class IntraventricularHaemorrhage(Lesion):
    """Clot in the lateral ventricle: ``clots`` = (side, t, radius_mm, dependent_shift) each; the clot
    is the sphere intersected with the ventricle lumen (so a sphere larger than the ventricle fills
    it: a cast). Clots along the choroid plexus make it look thick and irregular; ``t`` in [1, 2]
    puts a clot in the occipital horn (the dependent part of a supine baby's ventricle)."""

    clots: tuple[tuple[int, float, float, float], ...] = ()
    intensity: float = 1.0

    def painters(self, head: NeonatalHead) -> list[Painter]:
        out = []
        for i, (side, t, rad, dep) in enumerate(self.clots):
            c = _lv_point(head, side, t, radial_deg=-90.0, out_mm=-dep)
            parts = lut(_side_parts(side))

            def where(pts: np.ndarray, idx: np.ndarray, o: _Out, parts: np.ndarray = parts) -> np.ndarray:
                return parts[o.part[idx]]

            out.append(_ellipsoid_painter(f"ivh{i}", c, np.full(3, rad), self.code, Tissue.BLOOD, where, self.intensity))
        return out


@dataclass(frozen=True)
class PeriventricularHaemorrhagicInfarction(Lesion):
    """Fan-shaped echogenic lesion in the white matter dorsolateral to the ventricle (Papile IV).

    ``t``: position along the ventricle (frontal horn / body); ``depth_mm``: radial extent from the
    ventricular wall; ``length_mm``: antero-posterior extent; ``half_angle_deg``: the fan's half
    opening; ``elevation_deg``: the fan axis above the horizontal (pointing laterally).
    """

    t: float = 0.3
    depth_mm: float = 15.0
    length_mm: float = 20.0
    half_angle_deg: float = 30.0
    elevation_deg: float = 40.0
    intensity: float = 1.0

    def painters(self, head: NeonatalHead) -> list[Painter]:
        out = []
        for side in self.sides:
            apex = _lv_point(head, side, self.t, radial_deg=30.0, out_mm=-2.0)
            el = np.radians(self.elevation_deg)
            axis = np.array([side * np.cos(el), 0.0, np.sin(el)], dtype=F32)
            perp = np.array([-side * np.sin(el), 0.0, np.cos(el)], dtype=F32)
            tan_half = F32(np.tan(np.radians(self.half_angle_deg)))
            depth, half_len = F32(self.depth_mm), F32(self.length_mm / 2)
            a = apex.astype(F32)
            code = self.code
            gain = F32(self.intensity)

            def paint(  # loop values bound as defaults
                pts: np.ndarray, idx: np.ndarray, o: _Out, a=a, axis=axis, perp=perp, depth=depth, tan_half=tan_half, half_len=half_len, code=code, gain=gain
            ) -> None:
                v = pts - a
                along = v @ axis
                across = np.abs(v @ perp)
                dy = np.abs(v[:, 1])
                # irregular margins: the fan's outline wobbles with a smooth field (+-30 %)
                px, py, pz = pts[:, 0], pts[:, 1], pts[:, 2]
                wob = F32(1.0) + F32(0.3) * np.sin(F32(0.45) * px + F32(0.8)) * np.cos(F32(0.38) * py - F32(0.31) * pz + F32(0.5)) + F32(
                    0.12
                ) * np.sin(F32(1.3) * (px + pz) + F32(2.0))
                rel = np.clip(along / (depth * wob), 0, 1)
                inside = (along > -2.0) & (along < depth * wob) & (across < (along + F32(5.0)) * tan_half * wob + F32(1.5))
                inside &= dy < half_len * wob * np.sqrt(np.clip(1 - rel**2, 0, 1)) + F32(1.0)
                inside &= _PARENCHYMA_LUT[o.tissue[idx]]
                sel = idx[inside]
                o.tissue[sel] = Tissue.INFARCT
                o.lesion[sel] = code
                # mottled: coarse echo texture
                q = pts[inside]
                mot = F32(1.0) + F32(0.15) * np.cos(F32(0.9) * q[:, 0] + F32(0.4) * q[:, 2]) + F32(0.12) * np.cos(F32(0.7) * q[:, 1] - F32(0.8) * q[:, 2] + F32(1.1))
                o.mod[sel] = gain * mot

            r = max(self.depth_mm, self.length_mm / 2) + 3
            out.append((f"pvhi{side}", apex - r, apex + r, paint))
        return out


@dataclass(frozen=True)
class PvlFlare(Lesion):
    """Periventricular echogenicity: ``regions`` = (side, t, out_mm, radius_mm) blobs in the white
    matter next to the ventricle; ``intensity`` = echo relative to normal white matter (choroid ~3.2)."""

    regions: tuple[tuple[int, float, float, float], ...] = ()
    intensity: float = 2.3

    def painters(self, head: NeonatalHead) -> list[Painter]:
        """Diffuse blobs: echo rises from white matter at the rim to ``intensity`` at the centre,
        ``1 + (I - 1) (1 - q)^0.6`` for squared normalised radius ``q``; the mask is ``q < 0.8``."""
        out = []
        flare_echo = F32(ECHO[Tissue.FLARE])
        wm_echo = F32(ECHO[Tissue.WHITE_MATTER])
        extra = F32(self.intensity / float(ECHO[Tissue.WHITE_MATTER]) - 1.0)
        code = self.code
        for i, (side, t, out_mm, rad) in enumerate(self.regions):
            c = _lv_point(head, side, t, radial_deg=35.0, out_mm=out_mm).astype(F32)
            r = np.array([rad * 0.8, rad * 1.4, rad])
            inv = (1.0 / r).astype(F32)

            def paint(pts: np.ndarray, idx: np.ndarray, o: _Out, c: np.ndarray = c, inv: np.ndarray = inv) -> None:
                q = (((pts - c) * inv) ** 2).sum(axis=1)
                m = (q < 1) & _WM_LUT[o.tissue[idx]]
                rel = F32(1.0) + extra * (F32(1.0) - q[m]) ** F32(0.6)
                sel = idx[m]
                core = q[m] < 0.8
                o.tissue[sel[core]] = Tissue.FLARE
                o.lesion[sel[core]] = code
                # echo = tissue echo x mod: keep the same echo whether the point became FLARE or not
                base = np.where(core, flare_echo, wm_echo)
                o.mod[sel] = np.maximum(o.mod[sel], rel * wm_echo / base)

            out.append((f"flare{i}", c - r, c + r, paint))
        return out


@dataclass(frozen=True)
class CysticPvl(Lesion):
    """Multiple small cysts in the periventricular white matter: ``cysts`` = (side, t, angle_deg,
    out_mm, radius_mm) each (position around the ventricle at centreline parameter ``t``)."""

    cysts: tuple[tuple[int, float, float, float, float], ...] = ()

    def painters(self, head: NeonatalHead) -> list[Painter]:
        out = []
        for i, (side, t, ang, out_mm, rad) in enumerate(self.cysts):
            c = _lv_point(head, side, t, radial_deg=ang, out_mm=out_mm + rad)

            def where(pts: np.ndarray, idx: np.ndarray, o: _Out) -> np.ndarray:
                return _WM_LUT[o.tissue[idx]]

            out.append(_ellipsoid_painter(f"cpvl{i}", c, np.array([rad, rad * 1.15, rad]), self.code, Tissue.CYST, where))
        return out


@dataclass(frozen=True)
class EpendymalCyst(Lesion):
    """Subependymal cysts at the caudothalamic groove (``t`` < 0: at the groove) or along the lateral
    wall of the frontal horn / body (``t`` >= 0): ``cysts`` = (side, t, radius_mm)."""

    cysts: tuple[tuple[int, float, float], ...] = ()

    def painters(self, head: NeonatalHead) -> list[Painter]:
        out = []
        for i, (side, t, rad) in enumerate(self.cysts):
            if t < 0:
                c = head.ctg[side].centre + np.array([0.0, 0.5, 0.6]) * head.scale
            else:
                c = _lv_point(head, side, t, radial_deg=-25.0, out_mm=rad * 0.7)
            out.append(_ellipsoid_painter(f"epc{i}", c, np.full(3, rad), self.code, Tissue.CYST))
        return out


@dataclass(frozen=True)
class VentricularEnlargement(Lesion):
    """Ventricular dilation or hydrocephalus as a mask: the lumen of the lateral ventricles (plus the
    third and fourth ventricles and aqueduct for hydrocephalus). The sizes themselves live on the
    anatomy (:class:`~neocus.phantom.anatomy.AnatomyParams`); this only writes the lesion channel,
    under any focal lesion painted later."""

    vi_excess_mm: float = 0.0  # measured VI minus the 97th centile (larger side)

    def painters(self, head: NeonatalHead) -> list[Painter]:
        # the lumen of the dilated side(s); hydrocephalus takes both and the midline ventricles
        sides = (1, -1) if self.kind is LesionKind.HYDROCEPHALUS else self.sides
        parts = [p for side in sides for p in _side_parts(side) if p not in _CHOROID]
        if self.kind is LesionKind.HYDROCEPHALUS:
            parts += [Part.THIRD_VENTRICLE, Part.FOURTH_VENTRICLE, Part.AQUEDUCT, Part.FORAMEN_OF_MONRO]
        parts_a = lut(parts)
        code = self.code

        def paint(pts: np.ndarray, idx: np.ndarray, o: _Out) -> None:
            m = parts_a[o.part[idx]] & (o.tissue[idx] == Tissue.CSF) & (o.lesion[idx] == 0)
            o.lesion[idx[m]] = code

        lo = np.minimum.reduce([head.lv[1].lo, head.lv[-1].lo, head.lv_occ[1].lo, head.lv_occ[-1].lo, head.third_centre - 20])
        hi = np.maximum.reduce([head.lv[1].hi, head.lv[-1].hi, head.lv_occ[1].hi, head.lv_occ[-1].hi, head.third_centre + 20])
        if self.kind is LesionKind.HYDROCEPHALUS:
            lo = np.minimum(lo, np.array([-10.0, head.fourth_tri[:, 0].min() - 2, head.fourth_tri[:, 1].min() - 2]))
        return [(self.kind.value, lo, hi, paint)]


def classify_ventricles(vi_mm: float, ga_weeks: float) -> LesionKind | None:
    """Ventricle label from the measured ventricular index (larger side).

    Above the 97th centile (Levene) -> ``VENTRICULAR_DILATION``; above the 97th centile + 4 mm (the
    ELVIS high threshold) -> ``HYDROCEPHALUS``; otherwise None.
    """
    p97 = norms.ventricular_index(ga_weeks).p97
    if vi_mm > p97 + norms.VI_HIGH_MARGIN_MM:
        return LesionKind.HYDROCEPHALUS
    if vi_mm > p97:
        return LesionKind.VENTRICULAR_DILATION
    return None


def paint_order(lesions: Sequence[Lesion]) -> list[Lesion]:
    """Ventricle masks first, then focal lesions (which overwrite them)."""
    return sorted(lesions, key=lambda lesion: 0 if isinstance(lesion, VentricularEnlargement) else 1)
