"""A scanner-screen capture around a rendered B-mode image, to exercise the ROI step.

Real sweeps often arrive as screen recordings: the image sector sits on a black screen with burned-in
text (date and time, probe and preset, acoustic output indices), a greyscale bar, a depth scale with
a focus marker, and a logo. :func:`compose_screen` builds such a capture around a
:class:`~neocus.phantom.bmode.RenderedFrame` and returns, with it, the
:class:`~neocus.io.types.CropRecord` of where the frame lies: ``crop.to_source(frame_points)`` maps
frame pixels to screen pixels, so a ROI step can be scored against it.

The text is fake and carries no patient information (a random date and time, the preset's scanner
and probe names, plausible MI / TIs values). The layout follows the preset: the internal presets
imitate the GE LOGIQ screens of the NCLS captures (1442 x 898, sector top at y = 43, bar on the
left, scale on the right); other presets use another layout and screen size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from neocus.io.types import CropRecord
from neocus.phantom.bmode import RenderedFrame
from neocus.phantom.presets import PresetName

_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class ScreenLayout:
    """Where things go on a screen (pixels)."""

    size_hw: tuple[int, int]
    image_top: int  # row of the image region's top
    image_bottom: int  # lowest row the image region may reach
    image_centre_x: int
    max_image_width: int
    bar_box: tuple[int, int, int, int]  # x, y, w, h of the greyscale bar
    scale_x: int  # column of the depth scale's ticks
    text_scale: float
    header_y: int


GE_LIKE = ScreenLayout(
    size_hw=(898, 1442), image_top=43, image_bottom=826, image_centre_x=722, max_image_width=1240,
    bar_box=(14, 332, 42, 210), scale_x=1436, text_scale=0.55, header_y=20,
)
OTHER = ScreenLayout(
    size_hw=(768, 1024), image_top=64, image_bottom=720, image_centre_x=560, max_image_width=800,
    bar_box=(980, 200, 24, 260), scale_x=60, text_scale=0.5, header_y=26,
)


@dataclass(frozen=True, eq=False)
class ScreenCapture:
    image: np.ndarray  # uint8 [H, W] the whole screen
    crop: CropRecord  # the frame's rectangle on the screen (scale = frame pixels per screen pixel)
    region_mask: np.ndarray  # bool [H, W]: the image region (sector) on the screen


def layout_for(preset_name: str) -> ScreenLayout:
    return GE_LIKE if preset_name in (PresetName.INTERNAL, PresetName.INTERNAL_MICROCONVEX) else OTHER


def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float, value: int = 235) -> None:
    cv2.putText(img, s, org, _FONT, scale, value, 1, cv2.LINE_AA)


def compose_screen(frame: RenderedFrame, *, layout: ScreenLayout | None = None, rng: np.random.Generator) -> ScreenCapture:
    """Put ``frame`` on a scanner screen with burned-in overlays; deterministic for a given ``rng``."""
    lay = layout or layout_for(frame.preset.name)
    hs, ws = lay.size_hw
    h, w = frame.image.shape
    s = min(lay.max_image_width / w, (lay.image_bottom - lay.image_top) / h)  # screen px per frame px
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    x0 = round(lay.image_centre_x - nw / 2)
    y0 = lay.image_top
    img = cv2.resize(frame.image, (nw, nh), interpolation=cv2.INTER_LINEAR if s > 1 else cv2.INTER_AREA)
    msk = cv2.resize(frame.mask.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_NEAREST).astype(bool)
    screen = np.zeros((hs, ws), np.uint8)
    region = np.zeros((hs, ws), bool)
    region[y0 : y0 + nh, x0 : x0 + nw] = msk
    screen[region] = img[msk]

    # header: fake date / time and operator initials, probe and output indices
    ts = f"{int(rng.integers(19, 26)):02d}/{int(rng.integers(1, 13)):02d}/{int(rng.integers(1, 29)):02d} {int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}"
    who = "".join(chr(ord("A") + int(c)) for c in rng.integers(0, 26, 3))
    mi, tis = rng.uniform(0.6, 1.4), rng.uniform(0.2, 1.5)
    probe = frame.preset.probe.split(" ")[0]
    _text(screen, f"{ts}  {who}", (2, lay.header_y), lay.text_scale)
    right = f"{probe}  {frame.preset.frequency_mhz:.1f}MHz  MI {mi:.1f}  TIs {tis:.1f}"
    (tw, _), _ = cv2.getTextSize(right, _FONT, lay.text_scale, 1)
    _text(screen, right, (ws - tw - 110 if lay is GE_LIKE else ws - tw - 10, lay.header_y), lay.text_scale)
    if rng.random() < 0.5:
        _text(screen, ("RIGHT", "LEFT", "CORONAL", "SAG")[int(rng.integers(4))], (20, lay.header_y + 26), 0.7)
    # logo near the image's top-left corner (inside the bounding box, outside the region, like GE)
    logo = frame.preset.scanner.split(" ")[0].upper()[:8]
    _text(screen, logo, (x0 + nw // 2 - int(0.2 * nw) - 60, y0 + 12), 0.45)
    # greyscale bar
    bx, by, bw, bh = lay.bar_box
    levels = np.linspace(255, 0, bh).astype(np.uint8)  # white on top, through the preset's grey map
    screen[by : by + bh, bx : bx + bw] = frame.preset.grey_lut()[levels][:, None]
    # depth scale: ticks every 5 mm (labels every cm / 2 cm), focus marker
    mm_per_px = frame.pixel_spacing_mm[0] / s
    d_top = frame.grid.d0_mm
    depth = frame.preset.depth_mm
    for k in range(0, int(depth) + 1, 5):
        y = round(y0 + (k - d_top) / mm_per_px)
        if y >= hs:
            break
        long = k % 10 == 0
        x_end = lay.scale_x + (6 if lay is OTHER else 0)
        cv2.line(screen, (x_end - (10 if long else 5), y), (x_end, y), 200, 1)
        if long and k > 0 and k % 20 == 0:
            _text(screen, str(k // 10), (lay.scale_x - 30 if lay is GE_LIKE else lay.scale_x + 12, y + 6), 0.6)
    fy = round(y0 + (frame.preset.focus_mm - d_top) / mm_per_px)
    if fy < hs - 6:
        pts = np.array([[lay.scale_x - 22, fy - 7], [lay.scale_x - 10, fy - 7], [lay.scale_x - 22, fy + 7], [lay.scale_x - 10, fy + 7]], np.int32)
        if lay is OTHER:
            pts[:, 0] += 40
        cv2.fillPoly(screen, [pts[[0, 1, 2]], pts[[2, 3, 1]]], 220)
    screen[region] = img[msk]  # overlays never cover the image region
    crop = CropRecord(x=x0, y=y0, w=nw, h=nh, source_height=hs, source_width=ws, scale=float(w / nw))
    return ScreenCapture(image=screen, crop=crop, region_mask=region)
