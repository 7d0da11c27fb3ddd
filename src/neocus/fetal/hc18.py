"""Reader for a folder in the HC18 layout (van den Heuvel et al., PLoS ONE 2018;13:e0200412).

Layout: ``images/NNN_HC.png`` (also ``NNN_2HC.png``, ...), ``images/NNN_HC_Annotation.png`` (the
sonographer's skull ellipse: an outline in the official release, a filled ellipse in some copies; both
are read as a mask) and one CSV in the folder with the columns ``filename``, ``pixel size(mm)`` and
``head circumference (mm)``. Every problem is a :class:`InputFileError` / :class:`DatasetError` naming
the file, the row and what to do.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from neocus.errors import DatasetError, InputFileError
from neocus.results import AsDict

__all__ = ["Hc18Item", "Hc18Set", "load_hc18_annotation", "load_hc18_image", "read_hc18"]

COLUMNS = ("filename", "pixel size(mm)", "head circumference (mm)")
_NAME = re.compile(r"^(\d+)_(\d*)HC\.png$")


@dataclass(frozen=True)
class Hc18Item(AsDict):
    """One HC18 image: its files, pixel size and the sonographer's HC. ``number`` is the file number
    (``NNN``); images sharing it come from one examination and must stay on one side of a split."""

    name: str
    number: int
    image_path: Path
    annotation_path: Path
    pixel_mm: float
    hc_mm: float


@dataclass(frozen=True)
class Hc18Set(AsDict):
    root: Path
    csv_path: Path
    items: tuple[Hc18Item, ...]


def _find_csv(root: Path) -> Path:
    csvs = sorted(p for p in root.glob("*.csv") if p.is_file())
    if not csvs:
        raise DatasetError("no CSV with pixel sizes and head circumferences", where=root,
                           hint=f"put one CSV with the columns {', '.join(COLUMNS)} in the folder")
    if len(csvs) > 1:
        raise DatasetError(f"{len(csvs)} CSV files; which one holds the HC18 values is ambiguous", where=root,
                           hint="keep exactly one CSV in the folder")
    return csvs[0]


def _positive(text: str, *, column: str, where: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise DatasetError(f"{column!r} is {text!r}, not a positive number", where=where,
                           hint="fix the value in the CSV")
    return value


def _row_item(row: dict[str, str], *, images: Path, where: str) -> Hc18Item:
    name = (row.get("filename") or "").strip()
    match = _NAME.match(name)
    if match is None:
        raise DatasetError(f"filename {name!r} is not of the form NNN_HC.png", where=where,
                           hint="use the HC18 names, e.g. 010_HC.png or 010_2HC.png")
    image_path = images / name
    annotation_path = images / name.replace(".png", "_Annotation.png")
    for path in (image_path, annotation_path):
        if not path.is_file():
            raise InputFileError("file listed in the CSV is missing", where=path,
                                 hint="restore the file or remove its row from the CSV")
    return Hc18Item(
        name=name,
        number=int(match.group(1)),
        image_path=image_path,
        annotation_path=annotation_path,
        pixel_mm=_positive(row.get("pixel size(mm)", ""), column="pixel size(mm)", where=where),
        hc_mm=_positive(row.get("head circumference (mm)", ""), column="head circumference (mm)", where=where),
    )


def read_hc18(root: str | Path) -> Hc18Set:
    """Index a folder in the HC18 layout: every CSV row with its two files checked to exist."""
    root = Path(root)
    if not root.is_dir():
        raise InputFileError("not a folder", where=root, hint="give the HC18 folder (images/ and the CSV)")
    images = root / "images"
    if not images.is_dir():
        raise DatasetError("no images/ folder", where=root, hint="the HC18 layout keeps the PNGs in images/")
    csv_path = _find_csv(root)
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise DatasetError(f"missing column(s) {', '.join(repr(c) for c in missing)}", where=csv_path,
                                   hint=f"the CSV needs the columns {', '.join(COLUMNS)}")
            reader.fieldnames = header
            items = [_row_item(row, images=images, where=f"{csv_path}:{i + 2}") for i, row in enumerate(reader)]
    except UnicodeDecodeError:
        raise DatasetError("the CSV is not UTF-8 text", where=csv_path, hint="save it as UTF-8 CSV") from None
    if not items:
        raise DatasetError("the CSV has no rows", where=csv_path, hint="list at least one image")
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[0]
        raise DatasetError(f"filename {dup!r} is listed twice", where=csv_path, hint="keep one row per image")
    return Hc18Set(root=root, csv_path=csv_path, items=tuple(items))


def _read_grey(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise InputFileError("cannot be read as an image", where=path, hint="give an 8-bit PNG")
    return img


def load_hc18_image(item: Hc18Item) -> np.ndarray:
    """The ultrasound image as uint8 ``[H, W]``."""
    return _read_grey(item.image_path)


def load_hc18_annotation(item: Hc18Item) -> np.ndarray:
    """The sonographer's skull ellipse as a bool mask ``[H, W]``: filled annotations as they are, an
    outline (the official release) filled from its outermost contour."""
    grey = _read_grey(item.annotation_path)
    mask = grey > 127
    if not mask.any():
        raise InputFileError("the annotation is empty (no ellipse)", where=item.annotation_path,
                             hint="the annotation must draw the skull ellipse in white")
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros(mask.shape, np.uint8)
    cv2.drawContours(filled, [max(contours, key=cv2.contourArea)], -1, 1, thickness=-1)
    return filled.astype(bool)
