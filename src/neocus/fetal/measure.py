"""Measure one fetal head image: skull mask by the model, ellipse fit, HC / BPD / OFD in mm, centiles for
a gestational age, flags; ``None`` with the reason for every value that cannot be measured (no pixel
spacing, no gestational age, no head found); the plane, given by the caller or recognised by the plane
model (:mod:`neocus.fetal.plane_model`, trained on real images), and TCD and cisterna magna depth on a
trans-cerebellar plane with the posterior-fossa model (:mod:`neocus.fetal.fossa_measure`), and there the
cerebellar hypoplasia call (:mod:`neocus.fetal.hypoplasia_measure`: calibrated probability, flag, the TCD
rule beside it, heatmap).

Refused outright (``NeocusError``): an image that is not a grey B-mode frame (a colour Doppler frame),
and an impossible gestational age (outside 14-42 weeks).
"""

from __future__ import annotations

import math
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from neocus.errors import InputFileError, NeocusError, parse_choice
from neocus.fetal.cerebellum import CerebellumModel, mask_box_xywh
from neocus.fetal.ellipse import Ellipse, ellipse_mask
from neocus.fetal.fossa_measure import measure_fossa
from neocus.fetal.head_centiles import head_centiles
from neocus.fetal.hypoplasia_measure import HypoplasiaBundle, HypoplasiaCall, assess_hypoplasia, no_call_reason
from neocus.fetal.norms import RangeFlag
from neocus.fetal.plane_model import PlaneModel, predict_planes
from neocus.fetal.skull_model import SkullModel, head_measurements, predict_skull_probability, skull_mask_from_probability
from neocus.results import AsDict
from neocus.vocab import FetalPlane

__all__ = ["FetalImage", "HeadResult", "check_ga", "colour_fraction", "draw_overlay", "head_checks", "measure_fetal_head", "read_fetal_image"]

GA_RANGE_WEEKS = (14.0, 42.0)
COLOUR_FRACTION_MAX = 0.005  # more colour pixels than this: a colour Doppler (or other colour) frame
_COLOUR_CHROMA = 40  # max - min channel above this counts as a colour pixel (JPEG specks stay below)
MIN_HEAD_AREA_FRACTION = 0.01  # a head mask smaller than 1 % of the image is not a head
MIN_ELLIPSE_DICE = 0.90  # a head mask must be close to its fitted ellipse
MIN_MEAN_PROBABILITY = 0.75  # mean head probability inside the mask


@dataclass(frozen=True)
class FetalImage:
    """A grey image and the pixel spacing found in its file (``None`` when the file has none)."""

    grey: np.ndarray
    pixel_mm: float | None


def colour_fraction(bgr: np.ndarray) -> float:
    """Fraction of pixels whose channels differ by more than a grey JPEG's noise (colour Doppler, labels)."""
    if bgr.ndim == 2:
        return 0.0
    chroma = bgr.max(axis=2).astype(np.int16) - bgr.min(axis=2).astype(np.int16)
    return float((chroma > _COLOUR_CHROMA).mean())


def _png_pixel_mm(path: Path) -> float | None:
    """Pixel spacing from a PNG pHYs chunk whose unit is the metre (unit 0, 'unknown', gives ``None``)."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"pHYs" and length == 9:
            x, y, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            if unit == 1 and x > 0 and x == y and zlib.crc32(data[pos + 4:pos + 17]) == struct.unpack(">I", data[pos + 17:pos + 21])[0]:
                return 1000.0 / x
            return None
        if kind == b"IDAT":
            return None
        pos += 12 + length
    return None


def read_fetal_image(path: str | Path) -> FetalImage:
    """Read a PNG / JPEG / BMP / TIFF ultrasound frame as grey; refuse a colour Doppler frame."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError("does not exist", where=path, hint="give an ultrasound image file (PNG, JPEG)")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputFileError("cannot be read as an image", where=path, hint="give a PNG, JPEG, BMP or TIFF frame")
    frac = colour_fraction(bgr)
    if frac > COLOUR_FRACTION_MAX:
        raise InputFileError(f"{100 * frac:.1f} % of the pixels are coloured: this looks like a colour Doppler frame",
                             where=path, hint="give the grey B-mode frame of the same plane")
    if min(bgr.shape[:2]) < 64:
        raise InputFileError(f"is {bgr.shape[1]}x{bgr.shape[0]} pixels, too small for a head measurement", where=path)
    return FetalImage(grey=cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), pixel_mm=_png_pixel_mm(path))


def check_ga(ga_weeks: float | None) -> float | None:
    """``None`` stays ``None`` (centiles then say why they are missing); outside 14-42 weeks is refused."""
    if ga_weeks is None:
        return None
    lo, hi = GA_RANGE_WEEKS
    if not (isinstance(ga_weeks, (int, float)) and math.isfinite(ga_weeks) and lo <= ga_weeks <= hi):
        raise NeocusError(f"gestational age {ga_weeks!r} weeks is impossible for a fetal head measurement",
                          where="ga_weeks", hint=f"give the gestational age in weeks, {lo:g} to {hi:g}")
    return float(ga_weeks)


@dataclass(frozen=True)
class HeadResult(AsDict):
    """What ``result.json`` holds. Every measurement that could not be made is ``None`` and its reason
    is in ``reasons`` under the same name."""

    head_found: bool
    image_shape_hw: tuple[int, int]
    pixel_mm: float | None
    pixel_mm_source: str | None
    ga_weeks: float | None
    measurements: dict[str, float | None]
    centiles: dict[str, Any]
    flags: dict[str, str]
    reasons: dict[str, str]
    ellipse: Ellipse | None
    checks: dict[str, float]
    model: str
    seconds: float
    plane: str | None = None  # the plane the caller gave or the plane model recognised (None: neither, reason under "plane")
    plane_source: str | None = None  # "given" or "recognised"
    plane_probabilities: dict[str, float] | None = None  # the plane model's probability of each plane (when recognised)
    calipers: dict[str, Any] = field(default_factory=dict)  # TCD / cisterna magna caliper end points (x, y) in pixels
    warnings: tuple[str, ...] = ()  # what the reader must check (e.g. a plane recognised, not given)
    hypoplasia: HypoplasiaCall | None = None  # the cerebellar hypoplasia call (None: reason under "hypoplasia")
    fossa_classes: np.ndarray | None = field(default=None, metadata={"to_dict": False})  # posterior-fossa class map
    hypoplasia_heatmap: np.ndarray | None = field(default=None, metadata={"to_dict": False})  # BGR Grad-CAM picture


def head_checks(prob: np.ndarray, mask: np.ndarray) -> tuple[dict[str, float], str | None]:
    """Is the mask a head? Its area, its closeness to its own fitted ellipse and the network's mean
    probability inside it. Returns the checked values and ``None``, or the reason it is not a head."""
    from neocus.fetal.ellipse import fit_skull_ellipses

    area = float(mask.mean())
    if area == 0:
        return {"area_fraction": 0.0}, "the model found no head in the image"
    try:
        fitted = ellipse_mask(fit_skull_ellipses(mask).outer, shape_hw=mask.shape)
    except NeocusError as exc:
        return {"area_fraction": area}, f"no head: {exc.what}"
    inter = float((fitted & mask).sum())
    checks = {"area_fraction": area, "ellipse_dice": 2 * inter / float(fitted.sum() + mask.sum()),
              "mean_probability": float(prob[mask].mean())}
    if area < MIN_HEAD_AREA_FRACTION:
        return checks, f"no head: the region found covers {100 * area:.2f} % of the image (a head covers more than {100 * MIN_HEAD_AREA_FRACTION:g} %)"
    if checks["ellipse_dice"] < MIN_ELLIPSE_DICE:
        return checks, f"no head: the region found is not elliptical (Dice {checks['ellipse_dice']:.2f} with its ellipse, a head > {MIN_ELLIPSE_DICE})"
    if checks["mean_probability"] < MIN_MEAN_PROBABILITY:
        return checks, f"no head: the model is unsure (mean probability {checks['mean_probability']:.2f} < {MIN_MEAN_PROBABILITY})"
    return checks, None


def _centile_fields(measurements, ga_weeks: float | None, reasons: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    cents = head_centiles(measurements, ga_weeks=ga_weeks)
    out, flags = {}, {}
    for name in ("hc", "bpd", "ofd"):
        res = getattr(cents, name)
        out[name] = None if res is None or res.centile is None else {"centile": res.centile, "z": res.z, "normal_range_mm": res.normal_range_mm}
        if res is not None and res.flag is not RangeFlag.UNKNOWN:
            flags[name] = res.flag.value
        if name in cents.reasons:
            reasons[f"{name}_centile"] = cents.reasons[name]
    return out, flags


NO_PLANE_REASON = "the plane was not given and no plane model was loaded"
RECOGNISED_PLANE_WARNING = ("the plane was recognised, not given: the bundled plane model names the right plane in about half "
                            "of real images (models/fetal/plane/MODEL_CARD.md), so check it and give the plane when you know it")
PHANTOM_FOSSA_WARNING = ("TCD, cisterna magna depth and the cerebellar hypoplasia call come from models trained on a fetal head "
                         "phantom only, never checked against real outlines or diagnoses (models/fetal/cerebellum, cerebellum_zoom "
                         "and hypoplasia MODEL_CARD.md): research use, not a clinical device")


def _plane_of(grey: np.ndarray, plane: FetalPlane | str | None,
              plane_model: PlaneModel | None) -> tuple[FetalPlane | None, str | None, dict[str, float] | None]:
    """The plane given (it wins), else the one ``plane_model`` recognises (4-flip averaged), with its
    source and the class probabilities; ``None`` three times when there is neither."""
    if plane is not None:
        return parse_choice(FetalPlane, plane, what="plane"), "given", None
    if plane_model is None:
        return None, None, None
    pred = predict_planes([grey], plane_model)[0]
    return pred.plane, "recognised", pred.probabilities


def measure_fetal_head(image: FetalImage, model: SkullModel, *, ga_weeks: float | None = None,
                       pixel_mm: float | None = None, device: str = "cpu", flip_tta: bool = False,
                       plane: FetalPlane | str | None = None, plane_model: PlaneModel | None = None,
                       fossa_model: CerebellumModel | None = None,
                       hypoplasia_model: HypoplasiaBundle | None = None) -> tuple[HeadResult, np.ndarray]:
    """Measure the head in ``image``; ``pixel_mm`` (mm per pixel) overrides the file's spacing;
    ``flip_tta`` averages with the mirrored image (twice the time); the ``plane`` given wins, else
    ``plane_model`` recognises it; on a trans-cerebellar plane ``fossa_model`` measures TCD and cisterna
    magna depth and ``hypoplasia_model`` makes the hypoplasia call. Returns the result and the head mask
    (bool ``[H, W]``)."""
    t0 = time.perf_counter()
    ga = check_ga(ga_weeks)
    spacing, source = (pixel_mm, "given") if pixel_mm is not None else (image.pixel_mm, "image file" if image.pixel_mm else None)
    prob = predict_skull_probability(image.grey, model, device=device, flip_tta=flip_tta)
    mask = skull_mask_from_probability(prob)
    checks, no_head = head_checks(prob, mask)
    names = ("hc_mm", "bpd_outer_outer_mm", "bpd_outer_inner_mm", "ofd_mm", "cephalic_index", "tcd_mm", "cisterna_magna_mm")
    values: dict[str, float | None] = dict.fromkeys(names)
    plane, plane_source, plane_prob = _plane_of(image.grey, plane, plane_model)
    box = mask_box_xywh(mask) if no_head is None else None
    fossa = measure_fossa(image.grey, fossa_model, plane=plane, plane_source=plane_source or "given", pixel_mm=spacing, ga_weeks=ga, head_box_xywh=box)
    reasons = dict(fossa.reasons)
    if plane is None:
        reasons["plane"] = NO_PLANE_REASON
    centiles: dict[str, Any] = {"hc": None, "bpd": None, "ofd": None}
    flags: dict[str, str] = dict(fossa.flags)
    ellipse = None
    if no_head:
        for n in names[:5]:
            reasons[n] = no_head
        mask = np.zeros_like(mask)
    else:
        head = head_measurements(prob, mask, model.config, pixel_mm=spacing if spacing is not None else 1.0)
        ellipse = head.ellipses.outer
        values["cephalic_index"] = head.cephalic_index
        if spacing is None:
            for n in names[:4]:
                reasons[n] = "no pixel spacing: the image file carries none and none was given (give `pixel_mm`)"
            centiles_reason = "no measurement in mm"
            for n in ("hc", "bpd", "ofd"):
                reasons[f"{n}_centile"] = centiles_reason
        else:
            values.update(hc_mm=head.hc_mm, bpd_outer_outer_mm=head.bpd_outer_outer_mm,
                          bpd_outer_inner_mm=head.bpd_outer_inner_mm, ofd_mm=head.ofd_mm)
            if head.bpd_outer_inner_mm is None:
                reasons["bpd_outer_inner_mm"] = head.bpd_outer_inner_reason or "not measured"
            centiles, head_flags = _centile_fields(head, ga, reasons)
            flags.update(head_flags)
    values.update(fossa.values)
    centiles.update(fossa.centiles)
    hypo, heatmap = None, None
    no_call = no_call_reason(hypoplasia_model, plane=plane, plane_source=plane_source, ga_weeks=ga, pixel_mm=spacing,
                             head_found=box is not None)
    if no_call is None:
        hypo, heatmap = assess_hypoplasia(image.grey, hypoplasia_model, ga_weeks=ga, pixel_mm=spacing, head_box_xywh=box,
                                          centiles=fossa.centiles, reasons=reasons)
    else:
        reasons["hypoplasia"] = no_call
    result = HeadResult(head_found=no_head is None, image_shape_hw=tuple(image.grey.shape[:2]), pixel_mm=spacing,
                        pixel_mm_source=source, ga_weeks=ga, measurements=values, centiles=centiles, flags=flags,
                        reasons=reasons, ellipse=ellipse, checks=checks,
                        model=str(model.path.name if model.path else "in memory"), seconds=time.perf_counter() - t0,
                        plane=None if plane is None else plane.value, plane_source=plane_source, plane_probabilities=plane_prob,
                        calipers=fossa.calipers, fossa_classes=fossa.classes, hypoplasia=hypo, hypoplasia_heatmap=heatmap,
                        warnings=_warnings(plane_source, fossa_made=any(v is not None for v in fossa.values.values()) or hypo is not None))
    return result, mask


def _warnings(plane_source: str | None, *, fossa_made: bool) -> tuple[str, ...]:
    """What the reader must check: a recognised (not given) plane; TCD / hypoplasia figures from phantom-trained models."""
    return ((RECOGNISED_PLANE_WARNING,) if plane_source == "recognised" else ()) + ((PHANTOM_FOSSA_WARNING,) if fossa_made else ())


def _draw_fossa(img: np.ndarray, result: HeadResult) -> list[str]:
    """Cerebellum (magenta) and cisterna magna (cyan) outlines with their calipers; the text lines
    (the plane and where it came from, TCD, cisterna magna depth, the hypoplasia probability and flag)."""
    if result.fossa_classes is not None:
        from neocus.fetal.cerebellum import masks_from_classes

        masks = masks_from_classes(result.fossa_classes)
        for name, colour in (("cerebellum", (255, 0, 255)), ("cistern", (255, 255, 0))):
            contours, _ = cv2.findContours(masks[name].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(img, contours, -1, colour, 1, cv2.LINE_AA)
    for name, colour in (("tcd", (255, 0, 255)), ("cisterna_magna", (255, 255, 0))):
        if name in result.calipers:
            p, q = (tuple(round(v) for v in end) for end in result.calipers[name])
            cv2.line(img, p, q, colour, 1, cv2.LINE_AA)
            for end in (p, q):
                cv2.drawMarker(img, end, colour, cv2.MARKER_CROSS, 10, 2)
    m = result.measurements
    plane = []
    if result.plane is not None:
        prob = f" {result.plane_probabilities[result.plane]:.2f}" if result.plane_probabilities else ""
        plane = [f"plane {result.plane.replace('_', '-')} ({result.plane_source}{prob})"]
    hypo = [] if result.hypoplasia is None else [
        f"hypoplasia P {result.hypoplasia.probability:.2f} ({'flagged' if result.hypoplasia.flag else 'not flagged'})"]
    return plane + [f"{label} {m[key]:.1f} mm" for label, key in (("TCD", "tcd_mm"), ("CM", "cisterna_magna_mm")) if m.get(key) is not None] + hypo


def draw_overlay(grey: np.ndarray, result: HeadResult) -> np.ndarray:
    """The image in colour with the fitted skull ellipse (green), the OFD caliper along the major axis
    and the BPD (outer-outer) caliper along the minor axis (yellow, with end marks), and the HC; on a
    trans-cerebellar plane the cerebellum and cisterna magna outlines with the TCD and cisterna magna
    calipers (magenta, cyan)."""
    img = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    fossa_text = _draw_fossa(img, result)
    e = result.ellipse
    if e is None:
        cv2.putText(img, "no head found", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 255), 2, cv2.LINE_AA)
        for i, t in enumerate(fossa_text):
            cv2.putText(img, t, (10, 56 + 26 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 0, 255), 2, cv2.LINE_AA)
        return img
    cx, cy = e.center_xy
    th = math.radians(e.angle_deg)
    cv2.ellipse(img, ((cx, cy), (2 * e.semi_major_px, 2 * e.semi_minor_px), e.angle_deg), (0, 255, 0), 2, cv2.LINE_AA)
    for r, ang in ((e.semi_major_px, th), (e.semi_minor_px, th + math.pi / 2)):
        p = (round(cx + r * math.cos(ang)), round(cy + r * math.sin(ang)))
        q = (round(cx - r * math.cos(ang)), round(cy - r * math.sin(ang)))
        cv2.line(img, p, q, (0, 255, 255), 1, cv2.LINE_AA)
        for end in (p, q):
            cv2.drawMarker(img, end, (0, 255, 255), cv2.MARKER_CROSS, 14, 2)
    m = result.measurements
    text = [f"HC {m['hc_mm']:.1f} mm" if m["hc_mm"] is not None else "HC: no pixel spacing",
            f"OFD {m['ofd_mm']:.1f} / BPD(o-o) {m['bpd_outer_outer_mm']:.1f} mm" if m["ofd_mm"] is not None else "", *fossa_text]
    for i, t in enumerate(x for x in text if x):
        cv2.putText(img, t, (10, 28 + 26 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 255), 2, cv2.LINE_AA)
    return img
