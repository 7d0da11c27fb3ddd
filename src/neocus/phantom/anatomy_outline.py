"""The head outline and the cortical folding field of the neonatal head model (items 1 and 2 of
:mod:`neocus.phantom.anatomy`): pure builders of frozen records that ``NeonatalHead.__init__`` assigns
and its sampling reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neocus.phantom import norms
from neocus.phantom.primitives import F32

if TYPE_CHECKING:
    from neocus.phantom.anatomy_params import AnatomyParams

#: lateral curvature of the skull base (1/mm): the floor rises by this times x**2 (term head)
FLOOR_BOWL_PER_MM = 0.006


@dataclass(frozen=True, eq=False)
class HeadOutline:
    """The head's outline (mm, head coordinates): a cerebral ellipsoid (half-axes ``ax``, ``ay``, ``az``,
    centre ``c1``, low-order shape harmonics ``harm``) smoothly united with a posterior-fossa ellipsoid
    (centre ``c2``, half-axes ``r2``), cut by the skull base (``floor_y``/``floor_z`` profile, curving up
    sideways by ``floor_bowl * x**2``, no effect above ``floor_top``); ``off`` moves the outline against
    the deep structures; shells of ``thick`` = (extra-axial CSF, skull, scalp) mm lie outside it."""

    ax: float
    ay: float
    az: float
    off: np.ndarray
    c1: np.ndarray
    inv_r1: np.ndarray
    tcd: float
    c2: np.ndarray
    r2: np.ndarray
    floor_y: np.ndarray
    floor_z: np.ndarray
    floor_bowl: float
    floor_top: float
    harm: np.ndarray
    thick: tuple[float, float, float]


def build_outline(p: AnatomyParams, s: float) -> HeadOutline:
    """The outline of the head of ``p`` at brain scale ``s``."""
    bpd, ofd = norms.head_axes_mm(p.hc_mm, cephalic_index=p.cephalic_index)
    layer = p.scalp_mm + p.skull_mm + p.extra_axial_csf_mm
    ax = bpd / 2 - layer
    ay = ofd / 2 - layer
    az = 0.93 * ax
    off = -np.asarray(p.deep_shift, dtype=np.float64)
    tcd = norms.transverse_cerebellar_diameter_mm(p.ga_weeks) * p.cerebellum_scale
    # skull base (anterior and middle cranial fossae, clivus): a smooth floor under the cerebrum,
    # z_floor(y) rising from the posterior fossa to the orbital roofs (the corner profile below,
    # Gaussian-smoothed over ~6 mm), curving up sideways like a bowl (+FLOOR_BOWL * x**2)
    corner_y = np.array([-400.0, -20.0, 6.0, 16.0, 400.0]) * s + off[1]
    corner_z = np.array([-600.0, -37.0, -37.0, -21.0, -21.0]) * s + off[2]
    fy = np.arange(-60.0, 60.0, 1.0) * s + off[1]
    fz = np.interp(fy, corner_y, corner_z)
    k = np.exp(-0.5 * (np.arange(-18, 19) / (6.0 * s)) ** 2)
    fz = np.convolve(np.pad(fz, 18, mode="edge"), k / k.sum(), mode="valid")
    floor_bowl = FLOOR_BOWL_PER_MM / s
    return HeadOutline(
        ax=ax, ay=ay, az=az, off=off,
        c1=np.array([0.0, -0.13 * ay, 38.0 * s - az]) + off,
        inv_r1=(1.0 / np.array([ax, ay, az])).astype(F32),
        tcd=tcd,
        c2=np.array([0.0, -42.0 * s, -30.0 * s]) + off,
        r2=np.array([tcd / 2 + 1.5 * s, 22.0 * s, 17.0 * s]),
        floor_y=np.concatenate([[corner_y[0]], fy, [corner_y[-1]]]),
        floor_z=np.concatenate([[corner_z[0]], fz, [corner_z[-1]]]),
        floor_bowl=floor_bowl,
        floor_top=float(corner_z[-1] + floor_bowl * (ax + 5.0) ** 2),
        harm=np.asarray(p.shape_harmonics, dtype=F32),
        thick=(p.extra_axial_csf_mm, p.skull_mm, p.scalp_mm),
    )


@dataclass(frozen=True, eq=False)
class Folding:
    """The cortical folding field: primary sulcal sheets are level sets of a sum of random waves
    (``waves``, ``phases``; spatial frequency ``k_fold`` at radius ``r_fold``) over the direction from
    the brain centre, secondary ones a finer set (``waves2``, ``phases2``, ``k_fold2``); each sulcus's
    depth varies with ``depth_waves``/``depth_phases``; the points are first warped by three sine waves
    (``warp_k``, ``warp_e``, ``warp_ph``). Sulci are ``sulcal_depth`` deep (0: smooth) and
    ``2 * sulcus_half_mm`` wide under a ``cortex_mm`` ribbon; the interhemispheric fissure is
    ``2 * ihf_half_mm`` wide and does not cut the core (ellipse ``core_c``, ``core_r`` in y-z) under
    the callosal arch."""

    sulcal_depth: float
    r_fold: float
    k_fold: float
    waves: np.ndarray
    phases: np.ndarray
    depth_waves: np.ndarray
    depth_phases: np.ndarray
    k_fold2: float
    waves2: np.ndarray
    phases2: np.ndarray
    warp_k: np.ndarray
    warp_e: np.ndarray
    warp_ph: np.ndarray
    cortex_mm: float
    sulcus_half_mm: float
    ihf_half_mm: float
    core_c: np.ndarray
    core_r: np.ndarray


def build_folding(p: AnatomyParams, s: float) -> Folding:
    """The folding field of ``p`` (drawn from ``p.folding_seed``) at brain scale ``s``."""
    # random wave directions over the sphere of directions (primary sulci), a second, finer and
    # shallower set (secondary sulci that branch off the primary ones), and a smooth 3-D
    # displacement field that warps the points before they are projected onto the sphere, so that
    # sulci curve both along the surface and as they run inward
    rng = np.random.default_rng(p.folding_seed)
    n_waves = 6
    k = rng.normal(size=(n_waves, 3))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    mat = p.maturity
    wavelength = (15.0 + 16.0 * (1.0 - mat)) * s  # mm along the surface between sulci
    r_fold = 40.0 * s
    k_fold = 2 * np.pi * r_fold / wavelength
    waves = (k * k_fold).astype(F32)
    phases = rng.uniform(0, 2 * np.pi, size=n_waves).astype(F32)
    kd = rng.normal(size=(2, 3))
    kd /= np.linalg.norm(kd, axis=1, keepdims=True)
    depth_phases = rng.uniform(0, 2 * np.pi, size=2).astype(F32)
    k2 = rng.normal(size=(4, 3))
    k2 /= np.linalg.norm(k2, axis=1, keepdims=True)
    k_fold2 = 1.7 * k_fold
    phases2 = rng.uniform(0, 2 * np.pi, size=4).astype(F32)
    # warp: three sine waves in head space (wavelength ~ 22 mm), each pushing along its own
    # direction; amplitude ~ a quarter of the sulcal spacing (mm)
    kw = rng.normal(size=(3, 3))
    kw /= np.linalg.norm(kw, axis=1, keepdims=True)
    ew = rng.normal(size=(3, 3))
    ew /= np.linalg.norm(ew, axis=1, keepdims=True)
    warp_ph = rng.uniform(0, 2 * np.pi, size=3).astype(F32)
    return Folding(
        sulcal_depth=0.0 if mat < 0.2 else (1.0 + 7.5 * (mat - 0.2) / 0.8) * s,  # smooth to ~28 weeks
        r_fold=r_fold, k_fold=k_fold, waves=waves, phases=phases,
        depth_waves=(kd * 2.5).astype(F32), depth_phases=depth_phases,
        k_fold2=k_fold2, waves2=(k2 * k_fold2).astype(F32), phases2=phases2,
        warp_k=(kw * (2 * np.pi / (22.0 * s))).astype(F32), warp_e=(ew * 0.32 * wavelength).astype(F32), warp_ph=warp_ph,
        cortex_mm=(1.2 + 0.9 * mat) * s ** 0.3,
        sulcus_half_mm=0.3 + 0.1 * mat,
        ihf_half_mm=0.4 + 0.4 * (1.0 - mat),
        # core: the region under the callosal arch where there is no interhemispheric fissure
        core_c=np.array([-4.0 * s, -8.0 * s]),
        core_r=np.array([25.0 * s, 20.0 * s]),
    )
