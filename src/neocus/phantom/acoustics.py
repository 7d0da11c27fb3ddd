"""Acoustic properties the B-mode renderer looks up per tissue class.

Attenuation and scatterer density come from :mod:`neocus.phantom.tissues` (the anatomy's tissue
table); the acoustic impedance, which sets how strongly an interface reflects specularly and how
much energy it lets through, is the renderer's own table (:data:`IMPEDANCE_MRAYL`). Values are in
MRayl (10^6 kg m^-2 s^-1), typical of the literature (Duck FA, *Physical Properties of Tissue*,
1990): water / CSF 1.50, brain 1.58-1.62, blood 1.66, skin 1.6-1.7, and bone 4-8 (the neonatal skull,
thin and partly mineralised, is taken at the low end). Soft-tissue differences are small (reflection
coefficients of 1-3 %), but the pia, falx, ependyma and choroid plexus make them visible as bright
lines, while bone reflects about half of the amplitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from neocus.phantom import tissues
from neocus.phantom.tissues import Tissue

N_IDS = 256  # tissue ids are uint8

IMPEDANCE_MRAYL: dict[Tissue, float] = {
    Tissue.BACKGROUND: 1.50,  # coupling gel
    Tissue.SCALP: 1.64,
    Tissue.SKULL: 5.0,
    Tissue.FONTANELLE: 1.66,
    Tissue.CSF: 1.50,
    Tissue.GREY_MATTER: 1.58,
    Tissue.WHITE_MATTER: 1.60,
    Tissue.DEEP_GREY: 1.59,
    Tissue.SULCUS: 1.66,
    Tissue.CHOROID_PLEXUS: 1.66,
    Tissue.CORPUS_CALLOSUM: 1.59,
    Tissue.CEREBELLUM: 1.61,
    Tissue.VERMIS: 1.64,
    Tissue.BRAINSTEM: 1.61,
    Tissue.FALX: 1.70,
    Tissue.BLOOD: 1.68,
    Tissue.CYST: 1.50,
    Tissue.FLARE: 1.63,
    Tissue.INFARCT: 1.65,
}


#: Attenuation the renderer uses instead of the tissue table's, calibrated against the real captures:
#: there the parietal bone beside the fontanelle dims the brain beyond it by ~10-20 dB, not the
#: 40+ dB of adult-like bone (the neonatal skull is thin and partly mineralised).
CALIBRATED_ATTENUATION_DB_CM_MHZ: dict[Tissue, float] = {Tissue.SKULL: 3.0}


@dataclass(frozen=True, eq=False)
class TissueAcoustics:
    """Per-tissue-id look-up tables (float32, 256 entries, indexed by the uint8 tissue id)."""

    attenuation_db_cm_mhz: np.ndarray  # one-way attenuation coefficient
    impedance_mrayl: np.ndarray
    scatterer_density: np.ndarray  # (0, 1]; 1 = fully developed speckle

    @classmethod
    def from_rows(cls, rows: dict[int, tuple[float, float, float]], default: tuple[float, float, float] = (0.0, 1.5, 0.0)) -> TissueAcoustics:
        """Build from ``{tissue id: (attenuation dB/cm/MHz, impedance MRayl, scatterer density)}``."""
        tabs = np.tile(np.asarray(default, np.float32), (N_IDS, 1))
        for tid, vals in rows.items():
            tabs[int(tid)] = vals
        return cls(
            attenuation_db_cm_mhz=np.ascontiguousarray(tabs[:, 0]),
            impedance_mrayl=np.ascontiguousarray(tabs[:, 1]),
            scatterer_density=np.ascontiguousarray(np.clip(tabs[:, 2], 1e-4, 1.0)),
        )


@lru_cache(maxsize=1)
def default_acoustics() -> TissueAcoustics:
    """The acoustic table of the phantom's tissue classes (:class:`neocus.phantom.tissues.Tissue`)."""
    rows = {
        int(t): (
            CALIBRATED_ATTENUATION_DB_CM_MHZ.get(t, float(tissues.ATTENUATION_DB_CM_MHZ[int(t)])),
            IMPEDANCE_MRAYL.get(t, 1.60),
            float(tissues.SCATTERER_DENSITY[int(t)]),
        )
        for t in Tissue
    }
    return TissueAcoustics.from_rows(rows)
