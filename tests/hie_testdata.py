"""Small synthetic HIE cases for the hie tests (and where the real BONBID-HIE patients are, if present)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from neocus.io.decode import process_locale_kept

#: ../shared/data/real/bonbid-hie relative to the repository root; NEOCUS_SHARED_DATA overrides ../shared/data.
_SHARED = Path(os.environ.get("NEOCUS_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
BONBID = _SHARED / "real" / "bonbid-hie"

SPACING_XYZ = (1.5, 1.5, 4.0)
ORIGIN = (-20.0, -25.0, 10.0)


def bonbid_dir() -> Path:
    if not (BONBID / "1ADC_ss").is_dir():
        pytest.skip(f"real data not available: {BONBID}")
    return BONBID


def synthetic_arrays(shape_kji=(8, 32, 32), *, lesion: bool = True, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ADC (x1e-6 mm2/s, 0 outside an ellipsoidal brain), Z-ADC and a 0/1 mask with one or two low-ADC blobs."""
    rng = np.random.default_rng(seed)
    k, j, i = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape_kji], indexing="ij")
    brain = (k / 1.1) ** 2 + (j / 0.85) ** 2 + (i / 0.8) ** 2 < 1
    adc = np.where(brain, 1100 + rng.normal(0, 60, shape_kji), 0).astype(np.float32)
    mask = np.zeros(shape_kji, np.uint8)
    if lesion:
        for _ in range(2):
            c = [rng.integers(n // 4, 3 * n // 4) for n in shape_kji]
            r = rng.uniform(2.0, 3.5)
            blob = ((np.indices(shape_kji) - np.array(c)[:, None, None, None]) ** 2 * np.array([4.0, 1, 1])[:, None, None, None]).sum(0) < r**2
            mask |= (blob & brain).astype(np.uint8)
    adc = np.where(mask > 0, adc * 0.5, adc).astype(np.float32)
    zadc = np.where(brain, (adc - 1100) / 120, 0).clip(-10, 10).astype(np.float32)
    return adc, zadc, mask.astype(np.float32)


def write_volume(array: np.ndarray, path: Path, *, spacing_xyz=SPACING_XYZ, origin=ORIGIN, direction=None) -> Path:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing_xyz)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(direction)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), True)
    return path


def write_bonbid_dataset(root: Path, *, n: int = 6, shape_kji=(8, 32, 32), empty: tuple[int, ...] = ()) -> Path:
    """A dataset folder in the released BONBID layout (numeric prefixes, release file names)."""
    for idx in range(n):
        pid = f"MGHNICU_{100 + idx:03d}"
        adc, zadc, mask = synthetic_arrays(shape_kji, lesion=idx not in empty, seed=idx)
        write_volume(adc, root / "1ADC_ss" / f"{pid}-VISIT_01-ADC_ss.mha")
        write_volume(zadc, root / "2Z_ADC" / f"Zmap_{pid}-VISIT_01-ADC_smooth2mm_clipped10.mha")
        write_volume(mask, root / "3LABEL" / f"{pid}-VISIT_01_lesion.mha")
    return root


def write_case(root: Path, *, suffix: str = ".mha", shape_kji=(8, 32, 32), seed: int = 0, lesion: bool = True) -> tuple[Path, Path, Path]:
    adc, zadc, mask = synthetic_arrays(shape_kji, lesion=lesion, seed=seed)
    return (
        write_volume(adc, root / f"adc{suffix}"),
        write_volume(zadc, root / f"zadc{suffix}"),
        write_volume(mask, root / f"label{suffix}"),
    )


def write_dicom_series_input(array: np.ndarray, folder: Path, *, spacing_xyz=(1.25, 1.25, 3.0)) -> Path:
    """``array`` ``[K, J, I]`` as an int16 MR DICOM series, one file per slice (SimpleITK / GDCM)."""
    image = sitk.GetImageFromArray(array.astype(np.int16))
    image.SetSpacing(spacing_xyz)
    folder.mkdir(parents=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for z in range(image.GetDepth()):
        sl = image[:, :, z]
        sl.SetMetaData("0020|000e", "1.2.826.0.1.3680043.2.1125.1")  # one series
        sl.SetMetaData("0020|0032", "0\\0\\%f" % (spacing_xyz[2] * z))
        sl.SetMetaData("0020|0037", "1\\0\\0\\0\\1\\0")
        sl.SetMetaData("0020|0013", str(z + 1))
        sl.SetMetaData("0008|0060", "MR")
        writer.SetFileName(str(folder / f"slice{z:03d}.dcm"))
        with process_locale_kept():  # GDCM sets the C locale
            writer.Execute(sl)
    return folder
