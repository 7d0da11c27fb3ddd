"""Tissue, part and echo volumes of an MRI-derived head (what ultrasound shows that ADC does not).

:func:`tissue_volumes` turns an :class:`~neocus.phantom.mri_labels.MriLabelMap` into per-voxel phantom
tissue classes, anatomical parts and mean echoes that :class:`~neocus.phantom.mri_head.MriHead`
samples. The MRI labels give the shapes; the echogenic features of cranial ultrasound that an ADC map
does not show are added by rules on the label geometry (distances in mm, ``m`` = the landmarks):

* **white matter** echo 1.0, scaled x0.85-1.15 with the ADC (``0.85 + 0.3 * (ADC - 1200) / 600``,
  clipped), a faint texture that follows the real tissue; **cortex** and **deep grey matter**
  hypoechoic (phantom tissues ``GREY_MATTER`` / ``DEEP_GREY``); deep grey in front of the foramina is
  the caudate, behind them the thalamus;
* **CSF** (lateral ventricles, third ventricle / cisterns, extra-axial) anechoic;
* **sulcal echoes**: extra-axial CSF within ``SULCAL_LINING_MM`` of parenchyma is the echogenic
  pia-arachnoid (``SULCUS``), and in the outer ``SULCAL_ZONE_MM`` of the brain an unresolved sulcus,
  an ADC ridge (ADC above 1600 and more than ``SULCAL_RIDGE_ADC`` above its 2.5 mm Gaussian mean), is
  a sulcal echo too;
* **choroid plexus** (``CHOROID_PLEXUS``): in the lateral ventricles behind the foramina of Monro,
  the lowest ``CHOROID_FLOOR_MM`` of each column along the floor of the bodies, and the glomus in
  the trigones: ventricle voxels within ``GLOMUS_RADIUS_MM`` of the trigone's centre and at least
  1 mm from its wall (a CSF rim stays);
* **periventricular echogenicity**: white matter within ``HALO_MM`` of a lateral ventricle behind
  the frontal horns is brighter, x(1 + ``HALO_GAIN`` * exp(-d / 2.5 mm)) (the normal peritrigonal
  "halo" of neonatal scans);
* **interhemispheric fissure**: the resampled fissure is 3-6 mm of CSF (thick slices), where the
  real one is a thin sheet: extra-axial CSF within ``FISSURE_HALF_MM`` of the midline takes the
  tissue of the nearest medial surface beside it (within ``FISSURE_REACH_MM``; white matter there with ADC above ``FISSURE_PARTIAL_ADC``,
  the fissure blurred by the slices, too), so a midsagittal plane shows the hemisphere's medial
  surface (as a real one does) rather than a slab of CSF; no sulcal echoes are painted within 2 mm
  beside the band (no falx is drawn: a sheet on the midline would fill the midsagittal view);
* **corpus callosum**: within 10 mm of the midline, the 3 mm of parenchyma over the lateral
  ventricles' roof (along the ventricles' length) is the hypoechoic callosum, and the 1 mm over it
  the echogenic pericallosal sulcus;
* **posterior fossa**: parenchyma behind ``m.monro`` - 12 mm and below a tentorium sloping down
  backwards (``z < z_Monro - 12 + 0.4 (y - y_Monro + 12)``) is cerebellum, within 7 mm of the midline
  the echogenic vermis (the brainstem is left as white matter: a box rule for it looked wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from neocus.phantom.mri_labels import MriLabel, MriLabelMap
from neocus.phantom.parts import Part
from neocus.phantom.tissues import ECHO, Tissue

SULCAL_LINING_MM = 1.5
SULCAL_ZONE_MM = 10.0
SULCAL_RIDGE_ADC = 200.0
CHOROID_FLOOR_MM = 2.0
GLOMUS_RADIUS_MM = 9.0
HALO_MM = 6.0
HALO_GAIN = 0.4
FISSURE_HALF_MM = 3.0
#: white matter in the fissure's band with an ADC above this is the fissure's CSF blurred by the slices
FISSURE_PARTIAL_ADC = 1600.0
FISSURE_REACH_MM = 10.0
#: deep midline CSF higher than this over the foramina of Monro (or in front of / behind the lateral
#: ventricles) is the fissure, not the cavum or the third ventricle (mm)
FISSURE_OVER_MONRO_MM = 12.0


@dataclass(frozen=True, eq=False)
class TissueVolumes:
    """Per-voxel phantom tissue (uint8), part (uint8) and mean echo (float32), ``[X, Y, Z]``."""

    tissue: np.ndarray
    part: np.ndarray
    echo: np.ndarray


def _sided(left: Part, right: Part, is_left: np.ndarray) -> np.ndarray:
    return np.where(is_left, np.uint8(left), np.uint8(right)).astype(np.uint8)


def tissue_volumes(lm: MriLabelMap) -> TissueVolumes:
    """Tissue, part and echo of every voxel of ``lm`` (rules in the module docstring)."""
    lab = lm.labels
    m = lm.landmarks
    xs, ys, zs = lm.coords()
    gx, gy, gz = xs[:, None, None], ys[None, :, None], zs[None, None, :]
    x0, ym = m.midline_x, m.monro[1]
    left = np.broadcast_to(gx >= x0, lab.shape)
    tissue = np.zeros(lab.shape, np.uint8)
    part = np.zeros(lab.shape, np.uint8)
    paren = np.isin(lab, (MriLabel.WHITE_MATTER, MriLabel.CORTEX, MriLabel.DEEP_GREY))
    tissue[lab == MriLabel.WHITE_MATTER] = Tissue.WHITE_MATTER
    tissue[lab == MriLabel.CORTEX] = Tissue.GREY_MATTER
    tissue[lab == MriLabel.DEEP_GREY] = Tissue.DEEP_GREY
    tissue[np.isin(lab, (MriLabel.VENTRICLE, MriLabel.DEEP_CSF, MriLabel.EXTRA_AXIAL_CSF))] = Tissue.CSF
    part[:] = _sided(Part.WHITE_MATTER_LEFT, Part.WHITE_MATTER_RIGHT, left)
    part[lab == MriLabel.OUTSIDE] = Part.NONE
    cortex = lab == MriLabel.CORTEX
    part[cortex] = _sided(Part.CORTEX_LEFT, Part.CORTEX_RIGHT, left)[cortex]
    deep = lab == MriLabel.DEEP_GREY
    front = np.broadcast_to(gy >= ym, lab.shape)
    part[deep] = np.where(front, _sided(Part.CAUDATE_LEFT, Part.CAUDATE_RIGHT, left), _sided(Part.THALAMUS_LEFT, Part.THALAMUS_RIGHT, left))[deep]
    vent = lab == MriLabel.VENTRICLE
    part[vent] = np.where(front, _sided(Part.LV_FRONTAL_LEFT, Part.LV_FRONTAL_RIGHT, left),
                          np.where(np.broadcast_to(gy < ym - 0.35 * (m.frontal_tip_y - m.occipital_y), lab.shape),
                                   _sided(Part.LV_ATRIUM_LEFT, Part.LV_ATRIUM_RIGHT, left), _sided(Part.LV_BODY_LEFT, Part.LV_BODY_RIGHT, left)))[vent]
    dcsf = lab == MriLabel.DEEP_CSF
    part[dcsf] = np.where(np.broadcast_to(np.abs(gx - x0) < 3.0, lab.shape), np.uint8(Part.THIRD_VENTRICLE), np.uint8(Part.EXTRA_AXIAL_CSF))[dcsf]
    part[lab == MriLabel.EXTRA_AXIAL_CSF] = Part.EXTRA_AXIAL_CSF
    echo_mod = np.ones(lab.shape, np.float32)
    wm = lab == MriLabel.WHITE_MATTER
    echo_mod[wm] = np.clip(0.85 + 0.3 * (lm.adc[wm] - 1200.0) / 600.0, 0.85, 1.15)
    _close_fissure(lm, lab, tissue, part, echo_mod)
    paren = np.isin(tissue, (Tissue.WHITE_MATTER, Tissue.GREY_MATTER, Tissue.DEEP_GREY))
    _posterior_fossa(lm, tissue, part, paren, (gx, gy, gz))
    _callosum(lm, tissue, part, paren, (gx, gy, gz))
    _halo(lm, tissue, echo_mod, front)
    _sulci(lm, tissue, part, paren, left)
    _choroid(lm, tissue, part, left, (gx, gy, gz))
    echo = (ECHO[tissue] * echo_mod).astype(np.float32)
    return TissueVolumes(tissue, part, echo)


def _close_fissure(lm: MriLabelMap, lab: np.ndarray, tissue: np.ndarray, part: np.ndarray, echo_mod: np.ndarray) -> None:
    """Extra-axial CSF within ``FISSURE_HALF_MM`` of the midline takes the tissue of the hemisphere
    beside it (the nearest parenchyma from ``FISSURE_HALF_MM`` + 1 mm out to ``FISSURE_REACH_MM`` on its
    own side), and so does deep midline CSF (connected to the ventricles' CSF) higher than
    ``FISSURE_OVER_MONRO_MM`` over the foramina or outside the ventricles' length, so the midsagittal
    plane shows the medial surface instead of the fissure's CSF."""
    xs = lm.coords()[0]
    x0 = lm.landmarks.midline_x
    paren = (MriLabel.WHITE_MATTER, MriLabel.CORTEX)
    m = lm.landmarks
    _, ys, zs = lm.coords()
    above = (zs[None, :] > m.monro[2] + FISSURE_OVER_MONRO_MM) | ((ys < m.occipital_y) | (ys > m.frontal_tip_y))[:, None]
    for i in np.flatnonzero(np.abs(xs - x0) <= FISSURE_HALF_MM):
        side = 1.0 if xs[i] >= x0 else -1.0
        todo = (lab[i] == MriLabel.EXTRA_AXIAL_CSF) | ((lab[i] == MriLabel.WHITE_MATTER) & (lm.adc[i] > FISSURE_PARTIAL_ADC))
        todo |= (lab[i] == MriLabel.DEEP_CSF) & above  # the deep fissure (connected to the ventricles' CSF)
        for step in np.arange(FISSURE_HALF_MM + 1.0, FISSURE_REACH_MM + 0.5, lm.spacing_mm):
            j = int(np.argmin(np.abs(xs - (x0 + side * step))))
            sel = todo & np.isin(lab[j], paren) & (lm.adc[j] <= FISSURE_PARTIAL_ADC)
            tissue[i][sel] = tissue[j][sel]
            part[i][sel] = part[j][sel]
            echo_mod[i][sel] = echo_mod[j][sel]
            todo &= ~sel


def _posterior_fossa(lm: MriLabelMap, tissue: np.ndarray, part: np.ndarray, paren: np.ndarray, g: tuple[np.ndarray, ...]) -> None:
    gx, gy, gz = g
    m = lm.landmarks
    x0, ym, zm = m.midline_x, m.monro[1], m.monro[2]
    pf = paren & np.broadcast_to((gy < ym - 12.0) & (gz < zm - 12.0 + 0.4 * (gy - ym + 12.0)), paren.shape)
    ax = np.broadcast_to(np.abs(gx - x0), paren.shape)
    left = np.broadcast_to(gx >= x0, paren.shape)
    tissue[pf] = Tissue.CEREBELLUM
    part[pf] = _sided(Part.CEREBELLAR_HEMISPHERE_LEFT, Part.CEREBELLAR_HEMISPHERE_RIGHT, left)[pf]
    verm = pf & (ax < 7.0)
    tissue[verm] = Tissue.VERMIS
    part[verm] = Part.CEREBELLAR_VERMIS


def _callosum(lm: MriLabelMap, tissue: np.ndarray, part: np.ndarray, paren: np.ndarray, g: tuple[np.ndarray, ...]) -> None:
    """The callosum over the lateral ventricles' roof near the midline, the pericallosal sulcus over it."""
    gx, gy, gz = g
    x0 = lm.landmarks.midline_x
    band = np.abs(gx[:, 0, 0] - x0) < 10.0
    vent = (lm.labels == MriLabel.VENTRICLE)[band]
    if not vent.any():
        return
    zs = gz[0, 0, :]
    has = vent.any(axis=(0, 2))
    roof = np.where(has, zs[np.where(vent.any(axis=0), np.arange(len(zs))[None, :], -1).max(axis=1)], np.nan)  # per y
    rise = gz[0] - roof[:, None]  # [Y, Z]: height over the roof at that y
    cc = (rise > 0) & (rise <= 3.0)
    sulc = (rise > 3.0) & (rise <= 4.0)
    for sel, t, p in ((cc, Tissue.CORPUS_CALLOSUM, Part.CORPUS_CALLOSUM), (sulc, Tissue.SULCUS, Part.INTERHEMISPHERIC_FISSURE)):
        full = np.zeros(paren.shape, bool)
        full[band] = sel[None]
        full &= paren
        tissue[full] = t
        part[full] = p


def _halo(lm: MriLabelMap, tissue: np.ndarray, echo_mod: np.ndarray, front: np.ndarray) -> None:
    vent = lm.labels == MriLabel.VENTRICLE
    d = ndimage.distance_transform_edt(~vent).astype(np.float32) * np.float32(lm.spacing_mm)
    sel = (tissue == Tissue.WHITE_MATTER) & (d <= HALO_MM) & ~front
    echo_mod[sel] *= 1.0 + HALO_GAIN * np.exp(-d[sel] / 2.5)


def _sulci(lm: MriLabelMap, tissue: np.ndarray, part: np.ndarray, paren: np.ndarray, left: np.ndarray) -> None:
    sp = np.float32(lm.spacing_mm)
    extra = lm.labels == MriLabel.EXTRA_AXIAL_CSF
    d_par = ndimage.distance_transform_edt(~paren).astype(np.float32) * sp
    lining = extra & (d_par <= SULCAL_LINING_MM)
    smooth = ndimage.gaussian_filter(lm.adc, 2.5 / lm.spacing_mm)
    ridge = paren & (lm.depth_mm <= SULCAL_ZONE_MM) & (lm.adc > 1600.0) & (lm.adc - smooth > SULCAL_RIDGE_ADC)
    ridge &= np.isin(tissue, (Tissue.WHITE_MATTER, Tissue.GREY_MATTER))
    xs = lm.coords()[0]
    beside = np.broadcast_to((np.abs(xs - lm.landmarks.midline_x) > FISSURE_HALF_MM + 2.0)[:, None, None], lining.shape)
    sel = (lining | ridge) & beside  # no sulcal echoes in the closed fissure and next to it
    tissue[sel] = Tissue.SULCUS
    part[sel] = _sided(Part.CORTEX_LEFT, Part.CORTEX_RIGHT, left)[sel]


def _choroid(lm: MriLabelMap, tissue: np.ndarray, part: np.ndarray, left: np.ndarray, g: tuple[np.ndarray, ...]) -> None:
    gx, gy, gz = g
    m = lm.landmarks
    vent = lm.labels == MriLabel.VENTRICLE
    behind = np.broadcast_to(gy < m.monro[1], vent.shape)
    n_floor = max(1, int(round(CHOROID_FLOOR_MM / lm.spacing_mm)))
    below = np.zeros_like(vent)
    for k in range(1, n_floor + 1):  # a voxel with no ventricle k voxels under it lies on the floor
        below[:, :, k:] |= ~vent[:, :, :-k]
        below[:, :, :k] = True
    cp = vent & behind & below
    wall = ndimage.distance_transform_edt(vent).astype(np.float32) * np.float32(lm.spacing_mm)
    for c in m.trigones:
        r2 = (gx - c[0]) ** 2 + (gy - c[1]) ** 2 + (gz - c[2]) ** 2
        cp |= vent & (r2 <= GLOMUS_RADIUS_MM**2) & (wall > 1.0)
    tissue[cp] = Tissue.CHOROID_PLEXUS
    part[cp] = _sided(Part.CHOROID_PLEXUS_LEFT, Part.CHOROID_PLEXUS_RIGHT, left)[cp]
