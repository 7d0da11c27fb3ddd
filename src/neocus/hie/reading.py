"""Reading HIE diffusion volumes (ADC, Z-ADC, lesion mask) and checking that their grids agree.

Volumes come through :func:`neocus.io.load_volume` (NIfTI, MetaImage, NRRD); a folder is read as one
DICOM series (SimpleITK / GDCM) into the same :class:`neocus.io.volume.Volume` convention. Every check
here is about the user's input, so every failure is a :class:`neocus.errors.NeocusError` naming the file:

* a 2-D image (an axis of length 1) is not a volume;
* NaN or infinite voxels are refused (say how many);
* the ADC, Z-ADC and mask of one case must share a grid; the error names what differs
  (size, spacing, origin, direction);
* a lesion mask holds only 0 and 1 and is not lesion everywhere (an empty mask is valid: three
  BONBID-HIE patients have no lesion).

Datasets are either the BONBID layout (``ADC_ss/``, ``Z_ADC/``, ``LABEL/``, optionally with the
release's numeric prefixes ``1ADC_ss/`` ...; files matched by a patient id such as ``MGHNICU_010``)
or a neocus listing ``cases.csv`` (columns ``case_id, adc`` and optionally ``zadc, label``; paths
relative to the CSV).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neocus.errors import DatasetError, InputFileError
from neocus.io.decode import process_locale_kept
from neocus.io.sniff import check_readable
from neocus.io.volume import Volume, load_volume

LISTING_NAME = "cases.csv"
PATIENT_ID = re.compile(r"[A-Za-z]+_\d{3,}")
_FOLDERS = {"adc": re.compile(r"^\d*_?ADC_ss$", re.I), "zadc": re.compile(r"^\d*_?Z_ADC$", re.I), "label": re.compile(r"^\d*_?LABEL$", re.I)}
_VOLUME_SUFFIXES = (".mha", ".mhd", ".nii", ".nii.gz", ".nrrd", ".nhdr")

# Grids agree when these tolerances hold (real BONBID files differ by ~1e-7 in direction cosines).
SPACING_RTOL = 1e-4
ORIGIN_ATOL_MM = 0.01
DIRECTION_ATOL = 1e-4


@dataclass(frozen=True)
class HieCase:
    """One patient: ADC (always), Z-ADC and lesion mask (when given), all on one grid."""

    case_id: str
    adc: Volume
    zadc: Volume | None = None
    label: Volume | None = None

    @property
    def voxel_ml(self) -> float:
        return float(np.prod(self.adc.spacing)) / 1000.0


def read_volume(path: str | Path) -> Volume:
    """A 3-D volume from a NIfTI / MHA / NRRD file or a folder holding one DICOM series.

    Refuses 2-D images and NaN / infinite voxels with an :class:`InputFileError` naming the file.
    """
    path = Path(path)
    check_readable(path)
    vol = _read_dicom_series(path) if path.is_dir() else load_volume(path)
    if min(vol.shape) < 2:
        raise InputFileError(
            f"is a 2-D image {vol.shape}, not a 3-D volume", where=path, hint="give the whole diffusion volume (all slices), not one slice"
        )
    array = np.asarray(vol.array)
    if np.issubdtype(array.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            raise InputFileError(
                f"{bad} of {array.size} voxels are NaN or infinite", where=path, hint="fix the map (e.g. set voxels outside the brain to 0) and retry"
            )
    return vol


def _read_dicom_series(folder: Path) -> Volume:
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    with process_locale_kept():
        try:
            series = reader.GetGDCMSeriesIDs(str(folder))
        except RuntimeError:
            series = ()
        if not series:
            raise InputFileError("folder holds no DICOM series", where=folder, hint="give a folder with the slices of one DICOM series, or a NIfTI / MHA file")
        if len(series) > 1:
            raise InputFileError(f"folder holds {len(series)} DICOM series", where=folder, hint="put each series in its own folder")
        files = reader.GetGDCMSeriesFileNames(str(folder), series[0])
        reader.SetFileNames(files)
        try:
            image = reader.Execute()
        except RuntimeError as exc:
            text = str(exc).strip().splitlines()
            raise InputFileError(f"cannot read the DICOM series: {text[-1] if text else 'unknown error'}", where=folder, hint="the series is incomplete or corrupt") from None
    return volume_from_sitk(image, source=str(folder))


def volume_from_sitk(image, *, source: str = "") -> Volume:
    """A SimpleITK 3-D image as a :class:`Volume` (array order ``[K, J, I]``)."""
    import SimpleITK as sitk

    array = sitk.GetArrayFromImage(image)
    direction_xyz = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    return Volume(
        array=np.ascontiguousarray(array),
        spacing=tuple(float(s) for s in reversed(image.GetSpacing())),
        origin=tuple(float(o) for o in image.GetOrigin()),
        direction=direction_xyz[:, ::-1],
        source=source,
    )


def volume_to_sitk(array: np.ndarray, like: Volume):
    """``array`` (shape of ``like``) as a SimpleITK image with ``like``'s geometry."""
    import SimpleITK as sitk

    if tuple(array.shape) != like.shape:
        raise ValueError(f"array {array.shape} does not match the grid {like.shape}")
    image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    image.SetSpacing(tuple(float(s) for s in reversed(like.spacing)))
    image.SetOrigin(tuple(float(o) for o in like.origin))
    image.SetDirection(tuple(float(v) for v in np.asarray(like.direction)[:, ::-1].ravel()))
    return image


def grid_differences(a: Volume, b: Volume) -> list[str]:
    """What differs between two grids (empty when they match within the module's tolerances)."""
    diffs = []
    if a.shape != b.shape:
        diffs.append(f"size {a.shape} vs {b.shape}")
        return diffs
    if not np.allclose(a.spacing, b.spacing, rtol=SPACING_RTOL, atol=0):
        diffs.append(f"spacing {_fmt(a.spacing)} vs {_fmt(b.spacing)} mm")
    if not np.allclose(a.origin, b.origin, rtol=0, atol=ORIGIN_ATOL_MM):
        diffs.append(f"origin {_fmt(a.origin)} vs {_fmt(b.origin)} mm")
    if not np.allclose(a.direction, b.direction, rtol=0, atol=DIRECTION_ATOL):
        diffs.append("orientation (direction cosines) differ")
    return diffs


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def check_same_grid(reference: Volume, other: Volume, *, what: str) -> None:
    """Raise an :class:`InputFileError` on ``other`` naming every way its grid differs from ``reference``."""
    diffs = grid_differences(reference, other)
    if diffs:
        raise InputFileError(
            f"the {what} is not on the ADC grid: " + "; ".join(diffs),
            where=other.source or what,
            hint=f"resample the {what} onto the ADC grid (same size, spacing, origin and orientation)",
        )


def check_mask(label: Volume) -> np.ndarray:
    """The mask as ``uint8`` 0 / 1; refuses other values and an all-lesion mask."""
    array = np.asarray(label.array)
    values = np.unique(array)
    if not np.all(np.isin(values, (0, 1))):
        shown = ", ".join(f"{v:g}" for v in values[:6])
        raise InputFileError(f"a lesion mask must hold only 0 and 1, found {shown}", where=label.source or "label", hint="binarise the mask (lesion = 1)")
    mask = array.astype(np.uint8)
    if mask.size and mask.all():
        raise InputFileError("the lesion mask marks every voxel as lesion", where=label.source or "label", hint="this is not a lesion mask; check that the right file was given")
    return mask


def load_case(adc: str | Path, *, zadc: str | Path | None = None, label: str | Path | None = None, case_id: str | None = None) -> HieCase:
    """Read one case and check that its volumes share the ADC grid (and that the mask is a mask)."""
    adc_vol = read_volume(adc)
    zadc_vol = read_volume(zadc) if zadc is not None else None
    label_vol = read_volume(label) if label is not None else None
    if zadc_vol is not None:
        check_same_grid(adc_vol, zadc_vol, what="Z-ADC map")
    if label_vol is not None:
        check_same_grid(adc_vol, label_vol, what="lesion mask")
        label_vol = Volume(array=check_mask(label_vol), spacing=label_vol.spacing, origin=label_vol.origin, direction=label_vol.direction, source=label_vol.source)
    return HieCase(case_id=case_id or patient_id(Path(adc)), adc=adc_vol, zadc=zadc_vol, label=label_vol)


def patient_id(path: Path) -> str:
    """The patient id in a file name (``MGHNICU_010``), else the name without its volume suffix."""
    match = PATIENT_ID.search(path.name)
    if match:
        return match.group(0)
    name = path.name
    for suffix in _VOLUME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class CaseFiles:
    """Where one case's files are (before reading)."""

    case_id: str
    adc: Path
    zadc: Path | None
    label: Path | None


def find_cases(folder: str | Path, *, need_labels: bool) -> list[CaseFiles]:
    """The cases of a dataset folder (BONBID layout or ``cases.csv``), sorted by id.

    Raises :class:`DatasetError` when the folder follows neither layout, when a case lacks its mask
    (with ``need_labels``) or when ids repeat.
    """
    folder = Path(folder)
    check_readable(folder)
    if not folder.is_dir():
        raise DatasetError("is not a folder", where=folder, hint="give the dataset folder (ADC_ss/, Z_ADC/, LABEL/ or cases.csv)")
    if (folder / LISTING_NAME).is_file():
        cases = _from_listing(folder / LISTING_NAME)
    else:
        cases = _from_bonbid(folder)
    if not cases:
        raise DatasetError("holds no cases", where=folder, hint="add ADC volumes under ADC_ss/ or list them in cases.csv")
    if need_labels:
        missing = [c.case_id for c in cases if c.label is None]
        if missing:
            raise DatasetError(f"{len(missing)} cases have no lesion mask: {', '.join(missing[:5])}", where=folder, hint="add each mask under LABEL/ (or the label column)")
    return sorted(cases, key=lambda c: c.case_id)


def _from_bonbid(folder: Path) -> list[CaseFiles]:
    subs = {key: [d for d in folder.iterdir() if d.is_dir() and rx.match(d.name)] for key, rx in _FOLDERS.items()}
    if not subs["adc"]:
        raise DatasetError(
            "has neither an ADC_ss/ folder nor cases.csv", where=folder, hint="use the BONBID layout (ADC_ss/, Z_ADC/, LABEL/) or write a cases.csv listing"
        )
    for key, found in subs.items():
        if len(found) > 1:
            raise DatasetError(f"has {len(found)} {key} folders: {', '.join(d.name for d in found)}", where=folder, hint="keep one of them")
    by_kind = {key: _files_by_id(found[0]) if found else {} for key, found in subs.items()}
    return [CaseFiles(pid, path, by_kind["zadc"].get(pid), by_kind["label"].get(pid)) for pid, path in by_kind["adc"].items()]


def _files_by_id(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not (path.is_dir() or path.name.lower().endswith(_VOLUME_SUFFIXES)):
            continue
        pid = patient_id(path)
        if pid in out:
            raise DatasetError(f"two files for patient {pid}: {out[pid].name}, {path.name}", where=folder, hint="keep one file per patient")
        out[pid] = path
    return out


def _from_listing(listing: Path) -> list[CaseFiles]:
    with open(listing, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "case_id" not in rows[0] or "adc" not in rows[0]:
        raise DatasetError("needs the columns case_id and adc (and optionally zadc, label)", where=listing, hint="see docs/hie.md for the listing format")
    cases, seen = [], set()
    for line, row in enumerate(rows, start=2):
        cid = (row.get("case_id") or "").strip()
        if not cid or cid in seen:
            raise DatasetError(f"line {line}: case_id is {'empty' if not cid else 'repeated: ' + cid}", where=listing, hint="give each case a unique id")
        seen.add(cid)

        def rel(key: str) -> Path | None:
            value = (row.get(key) or "").strip()
            return (listing.parent / value) if value else None

        adc = rel("adc")
        if adc is None:
            raise DatasetError(f"line {line}: the adc column is empty", where=listing, hint="give the ADC volume of every case")
        cases.append(CaseFiles(cid, adc, rel("zadc"), rel("label")))
    return cases


def load_dataset_case(files: CaseFiles) -> HieCase:
    """Read one listed case (see :func:`load_case`)."""
    return load_case(files.adc, zadc=files.zadc, label=files.label, case_id=files.case_id)
