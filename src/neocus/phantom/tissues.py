"""Phantom tissue classes and their default acoustic properties.

A tissue class is what the B-mode renderer needs to know about a point: its mean backscatter
(``echo``, linear amplitude, 1.0 = normal neonatal white matter), its attenuation
(dB / cm / MHz, one-way; the renderer doubles it for the round trip), and its scatterer density
(relative; 1.0 = fully developed speckle like brain parenchyma, ~0 = anechoic fluid).

The values are typical of neonatal cranial ultrasound as radiologists describe it rather than
measured tissue constants: CSF and cysts are anechoic; the choroid plexus, cerebellar vermis,
sulcal / fissural pia, falx and fresh haemorrhage are strongly echogenic ("as bright as the choroid
plexus" is the radiological yardstick for haemorrhage and PVL flare); the unmyelinated white matter
is of medium echogenicity, the cortex and corpus callosum are slightly hypoechoic, bone reflects
strongly and attenuates steeply (the skull shadows what lies beyond it; the fontanelle is the
acoustic window). Soft-tissue attenuation of ~0.5-1 dB/cm/MHz follows the general literature
(e.g. Goss SA et al., J Acoust Soc Am 1978;64:423-457; neonatal brain ~0.6-0.8 dB/cm/MHz).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Tissue(IntEnum):
    """Tissue class id (uint8) of a phantom point."""

    BACKGROUND = 0  # outside the head (coupling gel / air): no echo, no attenuation
    SCALP = 1  # skin and subcutaneous tissue
    SKULL = 2  # calvarial and skull-base bone
    FONTANELLE = 3  # fontanelle membrane (and sutures): soft tissue in a gap of the skull
    CSF = 4  # ventricular, cisternal and extra-axial cerebrospinal fluid
    GREY_MATTER = 5  # cortex
    WHITE_MATTER = 6  # unmyelinated cerebral white matter
    DEEP_GREY = 7  # caudate nuclei, thalami
    SULCUS = 8  # pia-arachnoid lining of sulci and fissures (echogenic lines)
    CHOROID_PLEXUS = 9
    CORPUS_CALLOSUM = 10
    CEREBELLUM = 11  # cerebellar hemispheres
    VERMIS = 12  # cerebellar vermis (echogenic)
    BRAINSTEM = 13
    FALX = 14  # falx cerebri / tentorium (dural sheets)
    BLOOD = 15  # fresh haemorrhage / clot
    CYST = 16  # lesion fluid (PVL cavity, ependymal cyst): anechoic
    FLARE = 17  # periventricular echogenicity (PVL flare)
    INFARCT = 18  # haemorrhagic parenchymal infarction (mottled echogenic)


@dataclass(frozen=True)
class TissueProps:
    """Default acoustic properties of one tissue class."""

    echo: float  # mean backscatter amplitude, linear, 1.0 = white matter
    attenuation_db_cm_mhz: float  # one-way attenuation coefficient
    scatterer_density: float  # relative, 1.0 = fully developed speckle


TISSUE_PROPS: dict[Tissue, TissueProps] = {
    Tissue.BACKGROUND: TissueProps(0.0, 0.0, 0.0),
    Tissue.SCALP: TissueProps(1.3, 0.9, 1.0),
    Tissue.SKULL: TissueProps(4.0, 15.0, 1.0),
    Tissue.FONTANELLE: TissueProps(1.4, 0.9, 1.0),
    Tissue.CSF: TissueProps(0.01, 0.002, 0.02),
    Tissue.GREY_MATTER: TissueProps(0.5, 0.6, 1.0),
    Tissue.WHITE_MATTER: TissueProps(1.0, 0.7, 1.0),
    Tissue.DEEP_GREY: TissueProps(0.5, 0.7, 1.0),
    Tissue.SULCUS: TissueProps(4.0, 0.7, 1.0),
    Tissue.CHOROID_PLEXUS: TissueProps(5.0, 0.8, 1.0),
    Tissue.CORPUS_CALLOSUM: TissueProps(0.55, 0.7, 1.0),
    Tissue.CEREBELLUM: TissueProps(1.25, 0.8, 1.0),
    Tissue.VERMIS: TissueProps(3.5, 0.8, 1.0),
    Tissue.BRAINSTEM: TissueProps(1.1, 0.8, 1.0),
    Tissue.FALX: TissueProps(2.5, 0.9, 1.0),
    Tissue.BLOOD: TissueProps(5.0, 0.8, 1.0),
    Tissue.CYST: TissueProps(0.02, 0.002, 0.03),
    Tissue.FLARE: TissueProps(3.0, 0.75, 1.0),
    Tissue.INFARCT: TissueProps(4.0, 0.8, 1.0),
}

N_TISSUES = len(Tissue)


def _table(attr: str) -> np.ndarray:
    return np.array([getattr(TISSUE_PROPS[Tissue(i)], attr) for i in range(N_TISSUES)], dtype=np.float32)


#: Lookup tables indexed by tissue id (``ECHO[tissue]`` etc.), float32.
ECHO: np.ndarray = _table("echo")
ATTENUATION_DB_CM_MHZ: np.ndarray = _table("attenuation_db_cm_mhz")
SCATTERER_DENSITY: np.ndarray = _table("scatterer_density")
