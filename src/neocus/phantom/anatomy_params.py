"""Parameters of the neonatal head model: ventricle sizes, the anterior fontanelle and
:class:`AnatomyParams` (split out of :mod:`neocus.phantom.anatomy`, which re-exports them)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from neocus.phantom import norms

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
