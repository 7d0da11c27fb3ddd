"""neocus.hie.reading: volumes in three formats, grid checks, masks, datasets, and the errors users meet."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from hie_testdata import bonbid_dir, synthetic_arrays, write_bonbid_dataset, write_case, write_dicom_series_input, write_volume
from neocus.errors import DatasetError, InputFileError
from neocus.hie.reading import find_cases, grid_differences, load_case, patient_id, read_volume, volume_to_sitk


@pytest.mark.parametrize("suffix", [".mha", ".nii.gz", ".nrrd"])
def test_reads_each_file_format_onto_one_grid(tmp_path, suffix):
    adc, zadc, label = write_case(tmp_path, suffix=suffix)
    case = load_case(adc, zadc=zadc, label=label)
    ref = sitk.ReadImage(str(adc))
    assert case.adc.shape == (8, 32, 32)
    assert case.adc.spacing == pytest.approx((4.0, 1.5, 1.5))
    np.testing.assert_allclose(case.adc.array, sitk.GetArrayFromImage(ref))
    assert case.label.array.dtype == np.uint8 and set(np.unique(case.label.array)) <= {0, 1}
    assert case.voxel_ml == pytest.approx(4.0 * 1.5 * 1.5 / 1000)


def test_reads_a_dicom_series_folder(tmp_path):
    adc, _, _ = synthetic_arrays((6, 24, 24))
    folder = write_dicom_series_input(adc, tmp_path / "series")
    vol = read_volume(folder)
    assert vol.shape == (6, 24, 24)
    assert vol.spacing == pytest.approx((3.0, 1.25, 1.25))
    np.testing.assert_array_equal(vol.array, adc.astype(np.int16))


def test_adc_alone_is_a_case(tmp_path):
    adc, _, _ = write_case(tmp_path)
    case = load_case(adc)
    assert case.zadc is None and case.label is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"spacing_xyz": (1.5, 1.5, 5.0)}, "spacing"),
        ({"origin": (0.0, 0.0, 0.0)}, "origin"),
        ({"direction": (0, 1, 0, 1, 0, 0, 0, 0, -1)}, "orientation"),
    ],
)
def test_mismatched_grid_says_what_differs(tmp_path, change, named):
    adc_path, _, _ = write_case(tmp_path)
    _, zadc, _ = synthetic_arrays()
    other = write_volume(zadc, tmp_path / "zadc_off.mha", **change)
    with pytest.raises(InputFileError) as err:
        load_case(adc_path, zadc=other)
    assert named in str(err.value) and "zadc_off.mha" in str(err.value) and "Z-ADC" in str(err.value)


def test_mask_of_another_size_is_refused(tmp_path):
    adc_path, _, _ = write_case(tmp_path)
    _, _, mask = synthetic_arrays((8, 30, 32))
    other = write_volume(mask, tmp_path / "small_label.mha")
    with pytest.raises(InputFileError, match=r"lesion mask is not on the ADC grid: size"):
        load_case(adc_path, label=other)


def test_tiny_header_rounding_is_the_same_grid(tmp_path):
    adc_path, _, _ = write_case(tmp_path)
    a = read_volume(adc_path)
    _, zadc, _ = synthetic_arrays()
    d = (1.0, 2e-7, 0.0, -2e-7, 1.0, 0.0, 0.0, 0.0, 1.0)  # as in real BONBID files
    b = read_volume(write_volume(zadc, tmp_path / "z.mha", direction=d))
    assert grid_differences(a, b) == []


def test_two_d_image_is_refused(tmp_path):
    image = sitk.GetImageFromArray(np.ones((32, 32), np.float32))
    path = tmp_path / "slice.mha"
    sitk.WriteImage(image, str(path))
    with pytest.raises(InputFileError, match="2-D image"):
        read_volume(path)


def test_nan_volume_is_refused(tmp_path):
    adc, _, _ = synthetic_arrays()
    adc[2, 5:8, 5:8] = np.nan
    path = write_volume(adc, tmp_path / "nan.mha")
    with pytest.raises(InputFileError, match=r"9 of \d+ voxels are NaN"):
        read_volume(path)


def test_missing_file_is_refused(tmp_path):
    adc, _, _ = write_case(tmp_path)
    with pytest.raises(InputFileError, match="no such file"):
        load_case(adc, zadc=tmp_path / "nope.mha")


def test_non_binary_and_all_lesion_masks_are_refused_but_empty_is_valid(tmp_path):
    adc_path, _, _ = write_case(tmp_path)
    _, _, mask = synthetic_arrays()
    with pytest.raises(InputFileError, match="only 0 and 1, found 0, 2"):
        load_case(adc_path, label=write_volume(mask * 2, tmp_path / "two.mha"))
    with pytest.raises(InputFileError, match="every voxel"):
        load_case(adc_path, label=write_volume(np.ones_like(mask), tmp_path / "all.mha"))
    empty = load_case(adc_path, label=write_volume(np.zeros_like(mask), tmp_path / "empty.mha"))
    assert empty.label.array.sum() == 0


def test_bonbid_layout_matches_files_by_patient_id(tmp_path):
    root = write_bonbid_dataset(tmp_path / "ds", n=3)
    cases = find_cases(root, need_labels=True)
    assert [c.case_id for c in cases] == ["MGHNICU_100", "MGHNICU_101", "MGHNICU_102"]
    assert all(c.zadc.name.startswith("Zmap_" + c.case_id) and c.label.name.startswith(c.case_id) for c in cases)
    assert patient_id(cases[0].adc) == "MGHNICU_100"


def test_listing_and_missing_labels(tmp_path):
    adc, zadc, label = write_case(tmp_path / "a")
    (tmp_path / "cases.csv").write_text("case_id,adc,zadc,label\nc1,a/adc.mha,a/zadc.mha,a/label.mha\nc2,a/adc.mha,,\n")
    cases = find_cases(tmp_path, need_labels=False)
    assert [(c.case_id, c.zadc is None, c.label is None) for c in cases] == [("c1", False, False), ("c2", True, True)]
    with pytest.raises(DatasetError, match="1 cases have no lesion mask: c2"):
        find_cases(tmp_path, need_labels=True)


def test_folder_in_no_layout_is_a_dataset_error(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(DatasetError, match="neither an ADC_ss"):
        find_cases(tmp_path, need_labels=False)


def test_volume_to_sitk_round_trips_the_grid(tmp_path):
    d = (0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
    adc, _, _ = synthetic_arrays()
    vol = read_volume(write_volume(adc, tmp_path / "rot.nii.gz", direction=d))
    back = volume_to_sitk(vol.array, vol)
    ref = sitk.ReadImage(str(tmp_path / "rot.nii.gz"))
    np.testing.assert_allclose(back.GetDirection(), ref.GetDirection(), atol=1e-6)
    np.testing.assert_allclose(back.GetOrigin(), ref.GetOrigin(), atol=1e-4)


@pytest.mark.real_data
def test_real_bonbid_cases_read_on_one_grid():
    cases = find_cases(bonbid_dir(), need_labels=True)
    assert len(cases) == 40
    for files in (cases[0], cases[3]):  # MGHNICU_234's mask differs from its ADC by ~3e-8 in direction
        case = load_case(files.adc, zadc=files.zadc, label=files.label)
        assert case.adc.shape == case.label.array.shape


def test_reading_a_dicom_series_keeps_the_process_text_encoding(tmp_path: Path) -> None:
    """GDCM sets the C locale; neocus restores it, so UTF-8 text files still read afterwards."""
    import locale

    from neocus.io.decode import process_locale_kept

    before = locale.setlocale(locale.LC_ALL)
    with process_locale_kept():
        locale.setlocale(locale.LC_ALL, "C")  # what GDCM does inside SimpleITK's series reader
    assert locale.setlocale(locale.LC_ALL) == before
