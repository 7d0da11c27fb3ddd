"""load_sweep on DICOM: pydicom's and pydicom-data's ultrasound files, colour models, codecs, timing, spacing."""

from __future__ import annotations

import cv2
import numpy as np
import pydicom
import pytest
from io_testdata import dicom_test_file
from pydicom.pixels import iter_pixels

from neocus.errors import InputFileError
from neocus.io import load_sweep


def reference_grey(name: str, indices: range | None = None) -> np.ndarray:
    """pydicom's own decode, converted to grey independently of neocus (RGB -> BT.601 luma)."""
    ds = pydicom.dcmread(dicom_test_file(name))
    frames = []
    for arr in iter_pixels(ds, indices=indices):
        if ds.PhotometricInterpretation == "PALETTE COLOR":
            arr = pydicom.pixels.apply_color_lut(arr, ds)
            arr = (arr.astype(np.float64) / 257.0) if arr.dtype == np.uint16 else arr.astype(np.float64)
            frames.append(np.rint(arr @ [0.299, 0.587, 0.114]))
        elif arr.ndim == 3:
            frames.append(cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY).astype(np.float64))
        else:
            frames.append(arr.astype(np.float64))
    return np.stack(frames)


@pytest.mark.parametrize(
    ("name", "shape", "photometric"),
    [
        ("examples_ybr_color.dcm", (30, 240, 320), "YBR_FULL_422"),  # JPEG baseline cine
        ("examples_palette.dcm", (1, 350, 800), "PALETTE COLOR"),
        ("examples_rgb_color.dcm", (1, 240, 320), "RGB"),
        ("examples_jpeg2k.dcm", (1, 480, 640), "YBR_RCT"),  # JPEG 2000 lossless
        ("US1_J2KI.dcm", (1, 480, 640), "YBR_ICT"),  # JPEG 2000 lossy
        ("US1_UNCR.dcm", (1, 480, 640), "RGB"),
        ("OBXXXX1A_rle_2frame.dcm", (2, 600, 800), "PALETTE COLOR"),  # RLE
    ],
)
def test_ultrasound_files_decode_to_the_same_grey_as_pydicom(name: str, shape: tuple[int, int, int], photometric: str) -> None:
    sweep = load_sweep(dicom_test_file(name))
    assert sweep.frames.shape == shape and sweep.frames.dtype == np.uint8
    assert sweep.meta.format == "dicom" and sweep.meta.modality == "US" and sweep.meta.photometric == photometric
    diff = np.abs(sweep.frames.astype(np.float64) - reference_grey(name))
    assert diff.mean() < 0.1 and diff.max() <= 8  # YBR: exact luma vs gamut-clipped RGB differs at saturated colours
    assert sweep.frames.std() > 5  # real images, not blank


def test_jpeg_baseline_cine_has_timing_and_spacing() -> None:
    sweep = load_sweep(dicom_test_file("color3d_jpeg_baseline.dcm"))
    assert sweep.frames.shape == (120, 480, 640)
    assert sweep.meta.fps == pytest.approx(1000 / 33.333, rel=1e-6)
    assert np.allclose(np.diff(sweep.meta.timestamps_s), 0.033333)
    # one 2-D tissue region with PhysicalDeltaX/Y = 0.05105 cm -> 0.5105 mm
    assert sweep.meta.spacing_mm == pytest.approx((0.5104970559477806, 0.5104970559477806))
    assert (sweep.meta.kept_tags["us_region_x0"], sweep.meta.kept_tags["us_region_y1"]) == (84, 414)
    some = range(0, 120, 40)  # pydicom's decode of all 120 frames takes seconds
    assert np.abs(sweep.frames[some].astype(int) - reference_grey("color3d_jpeg_baseline.dcm", some)).mean() < 0.1


def test_palette_file_picks_the_largest_tissue_region() -> None:
    # examples_palette.dcm has a 2-D tissue region (cm) and a spectral Doppler strip (units 4 / 0)
    sweep = load_sweep(dicom_test_file("examples_palette.dcm"))
    assert sweep.meta.spacing_mm == pytest.approx((0.2622878766196998, 0.2622878766196998))


def test_non_ultrasound_dicom_is_refused_unless_allowed() -> None:
    with pytest.raises(InputFileError, match=r"not an ultrasound DICOM \(modality MR\)") as info:
        load_sweep(dicom_test_file("MR_small.dcm"))
    assert "MR_small.dcm" in str(info.value) and "allow_any_modality" in str(info.value)
    sweep = load_sweep(dicom_test_file("MR_small.dcm"), allow_any_modality=True)
    assert sweep.frames.shape == (1, 64, 64)
    assert sweep.meta.spacing_mm == pytest.approx((0.3125, 0.3125))  # PixelSpacing


def test_16_bit_mr_is_windowed_to_the_full_uint8_range() -> None:
    sweep = load_sweep(dicom_test_file("emri_small.dcm"), allow_any_modality=True)  # 10 frames, 16-bit, no window
    assert sweep.frames.shape == (10, 64, 64)
    assert sweep.frames.min() == 0 and sweep.frames.max() == 255
    raw = np.stack(list(iter_pixels(pydicom.dcmread(dicom_test_file("emri_small.dcm"))))).astype(np.float64)
    expected = np.rint((raw - raw.min()) * 255 / (raw.max() - raw.min()))
    assert np.abs(sweep.frames - expected).max() <= 1


def test_jpeg_ls_16_bit_decodes() -> None:
    sweep = load_sweep(dicom_test_file("JPEGLSNearLossless_16.dcm"), allow_any_modality=True)
    assert sweep.frames.shape == (1, 50, 10) and sweep.frames.max() == 255 and sweep.frames.min() == 0
