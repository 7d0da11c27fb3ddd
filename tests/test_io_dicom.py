"""load_sweep on DICOM: pydicom's and pydicom-data's ultrasound files, colour models, codecs, timing, spacing."""

from __future__ import annotations

import copy

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
    # a 2-D tissue region (cm) and a spectral Doppler strip (units 4 / 0); the tissue region's last column
    # is written as 800 on an 800-wide frame (one past the end, the slack region_fits allows)
    sweep = load_sweep(dicom_test_file("OBXXXX1A_rle_2frame.dcm"))
    assert sweep.meta.spacing_mm == pytest.approx((0.2622878766196998, 0.2622878766196998))


@pytest.mark.parametrize(
    "name",
    [
        "examples_ybr_color.dcm",  # 320x240: the 640x480 cine at half size, its region (84..595, 31..414) the full-size one
        "examples_palette.dcm",  # the top 350 rows of OBXXXX1A's 600-row frame: its region reaches row 518
    ],
)
def test_a_region_beyond_the_frame_gives_no_spacing(tmp_path, name: str) -> None:
    sweep = load_sweep(dicom_test_file(name))
    assert sweep.meta.spacing_mm is None  # was 0.51 mm for the resized cine: twice the true pixel size
    assert "us_region_x0" in sweep.meta.kept_tags  # the region still goes to the ROI step, which clips or refuses it
    ds = pydicom.dcmread(dicom_test_file(name))
    ds.PixelSpacing = [0.2, 0.3]
    ds.save_as(tmp_path / "ps.dcm")
    assert load_sweep(tmp_path / "ps.dcm").meta.spacing_mm == (0.2, 0.3)  # the fallback


def test_region_fits_allows_one_pixel_past_the_end_only() -> None:
    from neocus.io.dicom import region_fits

    assert region_fits((0, 0, 63, 47), rows=48, cols=64)  # inclusive last pixel
    assert region_fits((0, 0, 64, 48), rows=48, cols=64)  # exclusive end, as some scanners write it
    assert not region_fits((0, 0, 65, 47), rows=48, cols=64)
    assert not region_fits((0, 0, 63, 49), rows=48, cols=64)
    assert not region_fits((-1, 0, 63, 47), rows=48, cols=64)
    assert not region_fits((40, 0, 30, 47), rows=48, cols=64)  # max before min
    assert not region_fits((0, 0, 63, 47), rows=0, cols=0)  # frame size unknown


def test_a_fitting_region_wins_over_a_larger_one_beyond_the_frame(tmp_path) -> None:
    _frames, ds = _cine(tmp_path)  # 64x48 with a whole-frame region of 0.3 mm
    big = copy.deepcopy(ds.SequenceOfUltrasoundRegions[0])
    big.RegionLocationMaxX1, big.RegionLocationMaxY1, big.PhysicalDeltaX, big.PhysicalDeltaY = 127, 95, 0.015, 0.015
    ds.SequenceOfUltrasoundRegions.insert(0, big)
    ds.save_as(tmp_path / "two.dcm")
    sweep = load_sweep(tmp_path / "two.dcm")
    assert sweep.meta.spacing_mm == pytest.approx((0.3, 0.3))
    assert sweep.meta.kept_tags["us_region_x1"] == 63  # and is the region kept for the ROI step


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


def _cine(tmp_path, n: int = 4, h: int = 48, w: int = 64, fps: float = 10.0):
    from neocus.io import write_dicom_cine

    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.stack([(127 + 100 * np.sin((xx + 4 * t) / 9.0) * np.cos(yy / 13.0)).astype(np.uint8) for t in range(n)])
    return frames, pydicom.dcmread(write_dicom_cine(tmp_path / "cine.dcm", frames, fps, spacing_mm=(0.3, 0.3)))


@pytest.mark.parametrize("syntax", [pydicom.uid.RLELossless, pydicom.uid.JPEGLSLossless, pydicom.uid.JPEG2000Lossless])
def test_lossless_codecs_decode_multi_frame_exactly(tmp_path, syntax) -> None:
    frames, ds = _cine(tmp_path)
    ds.compress(syntax)
    path = tmp_path / "compressed.dcm"
    ds.save_as(path)
    sweep = load_sweep(path)
    assert sweep.meta.transfer_syntax == syntax.name
    assert np.array_equal(sweep.frames, frames)


def test_monochrome1_is_inverted(tmp_path) -> None:
    frames, ds = _cine(tmp_path)
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(tmp_path / "m1.dcm")
    assert np.array_equal(load_sweep(tmp_path / "m1.dcm").frames, 255 - frames)


def test_uncompressed_ybr_full_gives_luma(tmp_path) -> None:
    ds = pydicom.dcmread(dicom_test_file("US1_UNCR.dcm"))
    rgb = ds.pixel_array
    ds.PixelData = pydicom.pixels.convert_color_space(rgb, "RGB", "YBR_FULL").tobytes()
    ds.PhotometricInterpretation = "YBR_FULL"
    ds.save_as(tmp_path / "ybr.dcm")
    grey = load_sweep(tmp_path / "ybr.dcm").frames[0].astype(int)
    assert np.abs(grey - cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)).max() <= 1


def test_frame_time_vector_gives_variable_timestamps(tmp_path) -> None:
    _frames, ds = _cine(tmp_path, n=4)
    del ds.FrameTime, ds.CineRate, ds.RecommendedDisplayFrameRate
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTimeVector")
    ds.FrameTimeVector = [0, 40, 50, 60]  # ms between frames
    ds.save_as(tmp_path / "ftv.dcm")
    sweep = load_sweep(tmp_path / "ftv.dcm")
    assert sweep.meta.timestamps_s == pytest.approx([0.0, 0.04, 0.09, 0.15])
    assert sweep.meta.fps == pytest.approx(3 / 0.15)


@pytest.mark.parametrize("keyword", ["CineRate", "RecommendedDisplayFrameRate"])
def test_rate_only_headers(tmp_path, keyword: str) -> None:
    _frames, ds = _cine(tmp_path, n=3)
    del ds.FrameTime, ds.CineRate, ds.RecommendedDisplayFrameRate
    setattr(ds, keyword, 25)
    ds.save_as(tmp_path / "rate.dcm")
    sweep = load_sweep(tmp_path / "rate.dcm")
    assert sweep.meta.fps == 25 and sweep.meta.timestamps_s == pytest.approx([0.0, 0.04, 0.08])


def test_no_timing_gives_frame_indices(tmp_path) -> None:
    _frames, ds = _cine(tmp_path, n=3)
    del ds.FrameTime, ds.CineRate, ds.RecommendedDisplayFrameRate, ds.FrameIncrementPointer
    ds.save_as(tmp_path / "untimed.dcm")
    sweep = load_sweep(tmp_path / "untimed.dcm")
    assert sweep.meta.fps is None and sweep.meta.timestamps_s.tolist() == [0.0, 1.0, 2.0]


def test_region_in_mm_units_is_not_taken_for_cm(tmp_path) -> None:
    _frames, ds = _cine(tmp_path)
    ds.SequenceOfUltrasoundRegions[0].PhysicalUnitsXDirection = 4  # seconds: not a spatial region
    ds.PixelSpacing = [0.25, 0.5]
    ds.save_as(tmp_path / "ps.dcm")
    assert load_sweep(tmp_path / "ps.dcm").meta.spacing_mm == (0.25, 0.5)


def test_progress_bar_on_request(tmp_path, capsys) -> None:
    load_sweep(dicom_test_file("examples_ybr_color.dcm"), show_progress=True)
    assert "decoding examples_ybr_color.dcm" in capsys.readouterr().err
    load_sweep(dicom_test_file("examples_ybr_color.dcm"), show_progress=False)
    assert capsys.readouterr().err == ""
