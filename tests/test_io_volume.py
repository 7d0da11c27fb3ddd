"""Volumes: NIfTI, MHA and NRRD give one geometry convention (array [K, J, I], LPS)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from neocus.errors import InputFileError
from neocus.io import DecodeLimits, Volume, load_volume

# an oblique, anisotropic RAS+ affine (nibabel axes i, j, k)
AFFINE = np.array([[0.0, 0.0, 2.5, -10.0], [0.9, 0.0, 0.0, 20.0], [0.0, 1.2, 0.0, 30.0], [0.0, 0.0, 0.0, 1.0]])


@pytest.fixture
def nifti(tmp_path: Path) -> tuple[Path, np.ndarray]:
    data = np.random.default_rng(0).integers(-500, 1500, (5, 6, 7)).astype(np.int16)  # [i, j, k]
    path = tmp_path / "brain.nii.gz"
    nib.save(nib.Nifti1Image(data, AFFINE), path)
    return path, data


def test_nifti_geometry_maps_voxels_to_lps(nifti: tuple[Path, np.ndarray]) -> None:
    path, data = nifti
    vol = load_volume(path)
    assert vol.shape == (7, 6, 5) and vol.array.dtype == np.int16
    assert vol.array[4, 3, 2] == data[2, 3, 4]
    assert vol.spacing == pytest.approx((2.5, 1.2, 0.9))
    ras = AFFINE @ [2, 3, 4, 1]
    lps = (vol.affine() @ [4, 3, 2, 1])[:3]
    assert lps == pytest.approx([-ras[0], -ras[1], ras[2]])
    assert np.allclose(vol.direction.T @ vol.direction, np.eye(3))


@pytest.mark.parametrize("suffix", [".mha", ".mhd", ".nrrd", ".nii"])
def test_itk_formats_agree_with_nifti(nifti: tuple[Path, np.ndarray], tmp_path: Path, suffix: str) -> None:
    ref = load_volume(nifti[0])
    image = sitk.GetImageFromArray(ref.array)
    image.SetSpacing(ref.spacing[::-1])
    image.SetOrigin(ref.origin)
    image.SetDirection(tuple(np.asarray(ref.direction)[:, ::-1].ravel()))
    path = tmp_path / f"brain{suffix}"
    sitk.WriteImage(image, str(path))
    vol = load_volume(path)
    assert np.array_equal(vol.array, ref.array)
    assert np.allclose(vol.affine(), ref.affine(), atol=1e-5)


def test_nifti2(nifti: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path = tmp_path / "brain2.nii"
    nib.save(nib.Nifti2Image(nifti[1], AFFINE), path)
    vol, ref = load_volume(path), load_volume(nifti[0])
    assert np.array_equal(vol.array, ref.array) and np.allclose(vol.affine(), ref.affine())


def test_volume_content_is_sniffed_not_named(nifti: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    renamed = tmp_path / "scan.dat"
    renamed.write_bytes(nifti[0].read_bytes())  # gzip-compressed NIfTI under another name
    assert load_volume(renamed).shape == (7, 6, 5)


def test_volume_limits_and_wrong_inputs(nifti: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="above the limit"):
        load_volume(nifti[0], limits=DecodeLimits(max_bytes=100))
    series = tmp_path / "series.nii"
    nib.save(nib.Nifti1Image(np.zeros((3, 3, 3, 4), np.uint8), np.eye(4)), series)
    with pytest.raises(InputFileError, match="4-D image"):
        load_volume(series)
    png = tmp_path / "still.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(InputFileError, match="not a volume"):
        load_volume(png)
    broken = tmp_path / "broken.nii"
    broken.write_bytes(_uncompressed_nifti_bytes()[:400])  # header, then the data cut off
    with pytest.raises(InputFileError, match="cannot read the NIfTI"):
        load_volume(broken)


def _uncompressed_nifti_bytes() -> bytes:
    img = nib.Nifti1Image(np.ones((8, 8, 8), np.float32), np.eye(4))
    return img.to_bytes()


def test_volume_type_checks() -> None:
    with pytest.raises(TypeError):
        Volume(array=np.zeros((2, 2)), spacing=(1, 1, 1), origin=(0, 0, 0), direction=np.eye(3))
