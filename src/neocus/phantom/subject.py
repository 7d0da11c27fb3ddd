"""Random subjects: GA, sex, head size and shape, asymmetry, lesions - from a seed and a severity control.

``sample_subject(seed, severe_fraction=..)`` draws a case type (normal, or one of the lesion
patterns below), then every size continuously, so that cases fall on both sides of and near the
clinical thresholds; the labels are then read off the built model (the *measured* ventricular index
decides dilation and hydrocephalus, and so Papile II vs III), through the vocabulary's rules:
``vocab.lesion_ivh_grade``, ``vocab.LESION_FINDING``, ``vocab.is_severe`` / ``three_tier`` / ``binary``.

Case types (``CaseType``) and what they draw:

* ``normal`` - ventricles anywhere in the normal range (VI up to just under the 97th centile);
* ``gmh`` (Papile I) - germinal matrix haemorrhage, uni- or bilateral;
* ``ivh`` - GMH + intraventricular clot (body / atrium, often layering in the occipital horn), ventricles from normal to just above the 97th centile
  (grade II or III, decided by the measured VI);
* ``ivh_dilated`` - IVH with dilation from around the 97th centile up to hydrocephalus (III);
* ``pvhi`` (IV) - IVH (usually dilated) + unilateral periventricular haemorrhagic infarction;
* ``pvl_flare`` - bilateral periventricular echogenicity, intensity from near a normal halo to
  brighter than the choroid plexus;
* ``cystic_pvl`` - multiple small (1-8 mm) periventricular cysts, often with residual flare (PVL
  patterns come with a GMH one time in five);
* ``ventricular_dilation`` - isolated dilation from just below to a few mm above the 97th centile;
* ``hydrocephalus`` - dilation around and above the 97th centile + 4 mm, rounded horns, dilated
  third (and for communicating hydrocephalus fourth) ventricle, often post-haemorrhagic;
* ``ependymal_cyst`` - one to three subependymal cysts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from neocus import vocab
from neocus.errors import NeocusError
from neocus.phantom import norms
from neocus.phantom.anatomy import AnatomyParams, NeonatalHead, VentricleSize
from neocus.phantom.lesions import (
    CysticPvl,
    EpendymalCyst,
    GerminalMatrixHaemorrhage,
    IntraventricularHaemorrhage,
    Lesion,
    PeriventricularHaemorrhagicInfarction,
    PvlFlare,
    VentricularEnlargement,
    classify_ventricles,
    paint_order,
)
from neocus.phantom.measure import VentricleMeasurements, measure_ventricles
from neocus.phantom.tissues import N_TISSUES, Tissue
from neocus.results import rounded
from neocus.vocab import Finding, IvhGrade, LesionKind


class CaseType(StrEnum):
    """The lesion pattern a subject is drawn from (the labels come from the built model)."""

    NORMAL = Finding.NORMAL.value
    GMH = "gmh"
    IVH = Finding.IVH.value
    IVH_DILATED = "ivh_dilated"
    PVHI = "pvhi"
    PVL_FLARE = LesionKind.PVL_FLARE.value
    CYSTIC_PVL = LesionKind.CYSTIC_PVL.value
    VENTRICULAR_DILATION = LesionKind.VENTRICULAR_DILATION.value
    HYDROCEPHALUS = LesionKind.HYDROCEPHALUS.value
    EPENDYMAL_CYST = LesionKind.EPENDYMAL_CYST.value


SEVERE_CASE_TYPES: tuple[CaseType, ...] = (
    CaseType.IVH_DILATED,
    CaseType.PVHI,
    CaseType.PVL_FLARE,
    CaseType.CYSTIC_PVL,
    CaseType.HYDROCEPHALUS,
)
NON_SEVERE_CASE_TYPES: tuple[CaseType, ...] = (
    CaseType.NORMAL,
    CaseType.GMH,
    CaseType.IVH,
    CaseType.VENTRICULAR_DILATION,
    CaseType.EPENDYMAL_CYST,
)
# relative frequencies within each group (normal dominates the non-severe group)
_NON_SEVERE_WEIGHTS = np.array([0.50, 0.14, 0.14, 0.12, 0.10])
_SEVERE_WEIGHTS = np.array([0.28, 0.18, 0.12, 0.20, 0.22])


@dataclass(frozen=True)
class Population:
    """Who the subjects are: GA range and the preterm share (an external site may differ)."""

    ga_min: float = 24.0
    ga_max: float = 42.0
    preterm_fraction: float = 0.6  # share drawn from [ga_min, 37) rather than [37, ga_max]
    hc_sd_scale: float = 0.8


@dataclass
class Subject:
    """One simulated neonate: anatomy, lesions, exact measurements and labels."""

    seed: int
    case_type: CaseType
    ga_weeks: float
    male: bool
    params: AnatomyParams
    head: NeonatalHead
    lesions: tuple[Lesion, ...]
    measurements: VentricleMeasurements
    extras: dict[str, float] = field(default_factory=dict)
    views_cache: dict = field(default_factory=dict, repr=False, compare=False)
    """Filled by :func:`neocus.phantom.api.subject_views` (the ideal plane of each standard view)."""

    @property
    def lesion_kinds(self) -> frozenset[LesionKind]:
        return frozenset(lesion.kind for lesion in self.lesions)

    @property
    def ivh_grade(self) -> IvhGrade:
        return vocab.lesion_ivh_grade(self.lesion_kinds)

    @property
    def findings(self) -> frozenset[Finding]:
        """Case findings: the finding of each lesion (``normal`` when there is none)."""
        found = {vocab.LESION_FINDING[k] for k in self.lesion_kinds}
        return frozenset(found) if found else frozenset({Finding.NORMAL})

    @property
    def severe(self) -> bool:
        return vocab.is_severe(self.ivh_grade, self.findings)

    @property
    def tier(self) -> vocab.Tier:
        return vocab.three_tier(self.ivh_grade, self.findings)

    @property
    def binary(self) -> vocab.Binary:
        return vocab.binary(self.ivh_grade, self.findings)

    def labels(self) -> dict[str, object]:
        """JSON-ready case labels and ground truth (no identifiers)."""
        return {
            "case_type": self.case_type.value,
            "ga_weeks": round(self.ga_weeks, 2),
            "sex": "male" if self.male else "female",
            "hc_mm": round(self.params.hc_mm, 1),
            "ivh_grade": int(self.ivh_grade),
            "findings": sorted(f.value for f in self.findings),
            "severe": int(self.severe),
            "tier": self.tier.value,
            "binary": self.binary.value,
            "lesions": [lesion.describe() for lesion in self.lesions],
            "measurements": rounded(self.measurements, 3),
            "vi_p97_mm": round(norms.ventricular_index(self.ga_weeks).p97, 2),
        }


def _draw_ga(rng: np.random.Generator, pop: Population) -> float:
    if rng.random() < pop.preterm_fraction and pop.ga_min < 37.0:
        return float(rng.uniform(pop.ga_min, min(37.0, pop.ga_max)))
    return float(rng.uniform(max(37.0, pop.ga_min), pop.ga_max)) if pop.ga_max > 37.0 else float(rng.uniform(pop.ga_min, pop.ga_max))


def _ventricles(rng: np.random.Generator, ga: float, vi_target: float, asym_mm: float) -> tuple[VentricleSize, VentricleSize]:
    """Per-side sizes from a target VI (the larger side), all measures moving together."""
    vi_n = norms.ventricular_index(ga)
    ahw_n = norms.anterior_horn_width(ga)
    tod_n = norms.thalamo_occipital_distance(ga)
    out = []
    for k in range(2):
        vi = vi_target - (abs(asym_mm) if k == 1 else 0.0)
        excess = vi - vi_n.p50  # mm above the median
        z = vi_n.z_of(vi)
        jit = rng.normal(0, 1, size=4)
        if excess <= vi_n.p97 - vi_n.p50:
            ahw = ahw_n.at_z(float(np.clip(0.6 * z + 0.5 * jit[0], -1.8, 1.8)))
            tod = tod_n.at_z(float(np.clip(0.6 * z + 0.5 * jit[1], -1.8, 1.8)))
        else:  # dilated: horns balloon (AHW) and the occipital horns lengthen (TOD) with the excess
            over = excess - (vi_n.p97 - vi_n.p50)
            ahw = ahw_n.p97 + 0.2 + 0.75 * over + 0.35 * jit[0]
            tod = tod_n.p97 - 1.0 + 1.1 * over + 0.8 * jit[1]
        atrium = 5.5 + 0.7 * max(excess, -1.5) + 0.4 * jit[2]
        temporal = 1.2 + 0.35 * max(excess - 1.0, 0.0) + 0.15 * abs(jit[3])
        out.append(VentricleSize(vi=float(vi), ahw=float(max(ahw, 0.6)), tod=float(max(tod, 8.0)), atrium=float(max(atrium, 3.5)), temporal=float(temporal)))
    big, small = out
    return (big, small) if asym_mm >= 0 else (small, big)


def _lv_t(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def sample_subject(
    seed: int,
    *,
    severe_fraction: float = 0.3,
    case_type: CaseType | str | None = None,
    ga_weeks: float | None = None,
    population: Population | None = None,
) -> Subject:
    """Draw one subject from ``seed``.

    ``severe_fraction``: probability that the drawn case type is a severe pattern (the labels still
    come from the built model, so a near-threshold case can land on the other side);
    ``case_type``: force a pattern; ``ga_weeks``: force the GA; ``population``: GA distribution.
    """
    if not 0.0 <= severe_fraction <= 1.0:
        raise NeocusError(f"must lie in [0, 1], got {severe_fraction}", where="severe_fraction")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EED]))
    pop = population or Population()
    if case_type is None:
        if rng.random() < severe_fraction:
            ct = SEVERE_CASE_TYPES[rng.choice(len(SEVERE_CASE_TYPES), p=_SEVERE_WEIGHTS / _SEVERE_WEIGHTS.sum())]
        else:
            ct = NON_SEVERE_CASE_TYPES[rng.choice(len(NON_SEVERE_CASE_TYPES), p=_NON_SEVERE_WEIGHTS / _NON_SEVERE_WEIGHTS.sum())]
    else:
        ct = CaseType(case_type)
        rng.random()
    ga = float(ga_weeks) if ga_weeks is not None else _draw_ga(rng, pop)
    ga = float(np.clip(ga, 23.0, 44.0))
    male = bool(rng.random() < 0.5)
    vi_n = norms.ventricular_index(ga)
    p97 = vi_n.p97

    # ---- ventricle size (continuous, around the thresholds of the case type)
    rounding = 0.0
    third = norms.third_ventricle_width(ga).at_z(float(np.clip(rng.normal(0, 0.7), -1.5, 1.6)))
    fourth = 1.0
    if ct is CaseType.IVH:
        vi = rng.uniform(vi_n.p50 - 0.5, p97 + 0.8)
    elif ct is CaseType.IVH_DILATED or ct is CaseType.PVHI:
        vi = p97 + rng.uniform(-0.6, 7.0)
    elif ct is CaseType.VENTRICULAR_DILATION:
        vi = p97 + rng.uniform(-0.8, 4.6)
    elif ct is CaseType.HYDROCEPHALUS:
        vi = p97 + rng.uniform(3.2, 14.0)
    else:
        vi = vi_n.at_z(float(np.clip(rng.normal(0, 0.75), -2.0, 1.6)))
    # keep a cortical mantle: the ventricle may not reach within ~30 % of the brain's half-width
    bpd, _ = norms.head_axes_mm(norms.head_circumference_mm(ga), cephalic_index=0.80)
    vi = min(float(vi), 0.68 * (bpd / 2 - 5.0))
    excess97 = vi - p97
    if excess97 > 2.0:
        rounding = float(np.clip((excess97 - 2.0) / 8.0, 0, 1))
        third = max(third, norms.third_ventricle_width(ga).p97 + 0.6 * (excess97 - 3.0) + rng.normal(0, 0.4))
    if ct is CaseType.HYDROCEPHALUS:  # the third ventricle dilates too (above its 97th centile)
        third = max(third, norms.third_ventricle_width(ga).p97 + 0.4 + 0.45 * max(excess97 - 3.0, 0.0) + abs(rng.normal(0, 0.4)))
    if ct is CaseType.HYDROCEPHALUS and rng.random() < 0.5:
        fourth = 1.0 + 0.06 * excess97  # communicating (post-haemorrhagic) hydrocephalus
    asym = float(rng.normal(0, 0.5))
    unilateral_side = 1 if rng.random() < 0.5 else -1
    if ct in (CaseType.PVHI, CaseType.IVH_DILATED) and rng.random() < 0.7:
        asym = unilateral_side * abs(asym) * 2.0  # the bleeding side is larger
    left, right = _ventricles(rng, ga, float(vi), asym)

    # ---- head and anatomy
    hc_z = float(np.clip(rng.normal(0, pop.hc_sd_scale), -2.2, 2.2))
    hc = norms.head_circumference_mm(ga, z=hc_z, male=male)
    if excess97 > 3.0:
        hc += 1.5 * (excess97 - 3.0)  # growing head in hydrocephalus
    typical = AnatomyParams.typical(ga)
    gain = np.exp(rng.normal(0, 0.08, size=N_TISSUES))
    gain[Tissue.BACKGROUND] = 1.0
    mat = norms.sulcal_maturity(ga) + rng.normal(0, 0.05)
    params = replace(
        typical,
        hc_mm=float(hc),
        cephalic_index=float(np.clip(rng.normal(0.80, 0.03), 0.72, 0.9)),
        scalp_mm=float(typical.scalp_mm * rng.uniform(0.8, 1.25)),
        skull_mm=float(typical.skull_mm * rng.uniform(0.8, 1.25)),
        extra_axial_csf_mm=float(typical.extra_axial_csf_mm * rng.uniform(0.7, 1.4)),
        shape_harmonics=tuple(float(v) for v in rng.normal(0, [0.015, 0.02, 0.015, 0.02, 0.03])),
        fontanelle_y_mm=float(8.0 * norms.brain_scale(ga) + rng.normal(0, 2.0)),
        fontanelle_width_mm=float(typical.fontanelle_width_mm * rng.uniform(0.6, 1.4)),
        fontanelle_length_mm=float(typical.fontanelle_length_mm * rng.uniform(0.6, 1.4)),
        left=left,
        right=right,
        third_ventricle_mm=float(max(third, 0.4)),
        fourth_ventricle_scale=float(fourth),
        csp_width_mm=float(0.0 if rng.random() < (0.1 + 0.35 * norms.sulcal_maturity(ga)) else max(typical.csp_width_mm + rng.normal(0, 1.2), 1.0)),
        ventricle_rounding=rounding,
        deep_grey_scale=(float(rng.normal(1.0, 0.04)), float(rng.normal(1.0, 0.04))),
        deep_shift=tuple(float(v) for v in rng.normal(0, [0.5, 0.8, 0.8])),  # type: ignore[arg-type]
        sulcal_maturity=float(np.clip(mat, 0, 1)),
        folding_seed=int(rng.integers(0, 2**31 - 1)),
        tissue_gain=tuple(float(g) for g in gain),
        cerebellum_scale=float(rng.normal(1.0, 0.05)),
        cisterna_magna_mm=float(rng.uniform(2.0, 7.0)),
        periventricular_halo=float(rng.uniform(0.0, 0.45 if ga < 34 else 0.15)),
        ventricle_jitter_mm=tuple(float(v) for v in np.clip(rng.normal(0, [[0.6] * 9, [0.9] * 9] * 2), -1.5, 1.5).ravel()),
    )

    lesions = _focal_lesions(ct, ga, unilateral_side, rng=rng)
    return build_subject(int(seed), ct, ga, male, params, lesions)


def _focal_lesions(ct: CaseType, ga: float, unilateral_side: int, *, rng: np.random.Generator) -> list[Lesion]:
    """The focal lesions of case type ``ct`` (drawn last in :func:`sample_subject`, from its generator)."""
    lesions: list[Lesion] = []
    both = (1, -1)
    side1 = (unilateral_side,)
    if ct in (CaseType.GMH, CaseType.IVH, CaseType.IVH_DILATED, CaseType.PVHI) or (ct is CaseType.HYDROCEPHALUS and rng.random() < 0.5):
        sides = both if rng.random() < 0.4 else side1
        lesions.append(GerminalMatrixHaemorrhage(LesionKind.GERMINAL_MATRIX_HAEMORRHAGE, sides, size_mm=float(rng.uniform(2.0, 9.0)), intensity=float(rng.uniform(0.75, 1.1))))
    if ct in (CaseType.IVH, CaseType.IVH_DILATED, CaseType.PVHI) or (ct is CaseType.HYDROCEPHALUS and len(lesions)):
        clots = []
        sides = both if rng.random() < 0.5 else side1
        for sd in sides:
            for _ in range(int(rng.integers(1, 4))):
                clots.append((sd, _lv_t(rng, 0.3, 0.72), float(rng.uniform(1.5, 7.0) * norms.brain_scale(ga) ** 0.5), float(rng.uniform(0.0, 1.0))))
            if rng.random() < 0.4:  # blood layering in the dependent occipital horn
                clots.append((sd, _lv_t(rng, 1.6, 1.95), float(rng.uniform(2.0, 6.0) * norms.brain_scale(ga) ** 0.5), 0.0))
        lesions.append(IntraventricularHaemorrhage(LesionKind.INTRAVENTRICULAR_HAEMORRHAGE, tuple(sorted({c[0] for c in clots})), clots=tuple(clots), intensity=float(rng.uniform(0.7, 1.1))))
    if ct is CaseType.PVHI:
        lesions.append(
            PeriventricularHaemorrhagicInfarction(
                LesionKind.PERIVENTRICULAR_HAEMORRHAGIC_INFARCTION,
                side1,
                t=_lv_t(rng, 0.12, 0.45),
                depth_mm=float(rng.uniform(6.0, 22.0) * norms.brain_scale(ga)),
                length_mm=float(rng.uniform(8.0, 30.0) * norms.brain_scale(ga)),
                half_angle_deg=float(rng.uniform(15, 35)),
                elevation_deg=float(rng.uniform(20, 70)),
                intensity=float(rng.uniform(0.75, 1.1)),
            )
        )
    if ct in (CaseType.PVL_FLARE, CaseType.CYSTIC_PVL):
        n_reg = int(rng.integers(2, 5))
        regions = []
        for sd in both:
            for _ in range(n_reg):
                regions.append((sd, _lv_t(rng, 0.05, 0.7), float(rng.uniform(0.5, 4.0)), float(rng.uniform(3.0, 8.0) * norms.brain_scale(ga))))
        intensity = float(rng.uniform(1.8, 4.5)) if ct is CaseType.PVL_FLARE else float(rng.uniform(1.5, 2.8))
        if ct is CaseType.PVL_FLARE or rng.random() < 0.6:
            lesions.append(PvlFlare(LesionKind.PVL_FLARE, both, regions=tuple(regions), intensity=intensity))
    if ct is CaseType.CYSTIC_PVL:
        cysts = []
        for sd in both:
            for _ in range(int(rng.integers(2, 14))):
                rad = float(np.exp(rng.uniform(np.log(0.5), np.log(4.0))))
                cysts.append((sd, _lv_t(rng, 0.05, 0.72), float(rng.uniform(-10, 80)), float(rng.uniform(1.0, 9.0)), rad))
        lesions.append(CysticPvl(LesionKind.CYSTIC_PVL, both, cysts=tuple(cysts)))
    if ct in (CaseType.PVL_FLARE, CaseType.CYSTIC_PVL) and rng.random() < 0.2:  # PVL often comes with a GMH
        lesions.append(GerminalMatrixHaemorrhage(LesionKind.GERMINAL_MATRIX_HAEMORRHAGE, side1, size_mm=float(rng.uniform(2.0, 6.0)), intensity=float(rng.uniform(0.75, 1.1))))
    if ct is CaseType.EPENDYMAL_CYST:
        cysts_e = []
        for _ in range(int(rng.integers(1, 4))):
            sd = unilateral_side if rng.random() < 0.7 else -unilateral_side
            t = -1.0 if rng.random() < 0.6 else _lv_t(rng, 0.05, 0.3)
            cysts_e.append((sd, t, float(rng.uniform(0.8, 3.0))))
        lesions.append(EpendymalCyst(LesionKind.EPENDYMAL_CYST, tuple(sorted({c[0] for c in cysts_e})), cysts=tuple(cysts_e)))
    return lesions


def build_subject(seed: int, case_type: CaseType, ga: float, male: bool, params: AnatomyParams, focal: list[Lesion]) -> Subject:
    """Build the head, measure the ventricles, label dilation / hydrocephalus from the measurement."""
    head = NeonatalHead(params, lesions=())
    meas = measure_ventricles(head)
    lesions: list[Lesion] = []
    kind = classify_ventricles(meas.vi_max, ga)
    if kind is not None:
        p97 = norms.ventricular_index(ga).p97
        sides = tuple(s for s, vi in ((1, meas.vi_left), (-1, meas.vi_right)) if vi > p97) or (1,)
        lesions.append(VentricularEnlargement(kind, sides, vi_excess_mm=float(meas.vi_max - p97)))
    lesions.extend(focal)
    ordered = tuple(paint_order(lesions))
    for lesion in ordered:
        head.add_lesion(lesion)
    return Subject(seed=seed, case_type=case_type, ga_weeks=ga, male=male, params=params, head=head, lesions=ordered, measurements=meas)
