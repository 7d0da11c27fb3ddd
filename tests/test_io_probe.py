"""``neocus.io.probe``: the facts of a sweep's header agree with what load_sweep decodes, without decoding.

Bad input is refused by probe in load_sweep's words wherever the problem shows before decoding: every
case of test_io_bad_input.py checks that (its ``_error`` helper), and that probe passes the damage only
decoding finds (corrupt video packets or JPEG frames, a PNG cut inside its image data).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from io_testdata import dicom_test_file, ncls_file

import neocus.io.dicom
import neocus.io.dicom_pixels
import neocus.io.images
from neocus.errors import InputFileError
from neocus.io import (
    Kind,
    Sweep,
    SweepInfo,
    load_sweep,
    probe,
    write_dicom_cine,
    write_video,
)

REAL_SWEEPS = [("20221223027", "coronal_sweep.mp4", 118), ("20221231069", "parasagittal_sweep.mp4", 108)]
# pydicom's ultrasound files (pydicom-data's where marked) and one MR read with allow_any_modality
DICOM_FILES = [
    "examples_ybr_color.dcm",  # JPEG baseline cine; its ultrasound region belongs to a twice larger frame
    "examples_palette.dcm",
    "examples_rgb_color.dcm",
    "examples_jpeg2k.dcm",
    "US1_J2KI.dcm",  # pydicom-data
    "US1_UNCR.dcm",  # pydicom-data
    "OBXXXX1A_rle_2frame.dcm",  # pydicom-data
    "color3d_jpeg_baseline.dcm",  # pydicom-data: 120 frames with a fitting region
    "MR_small.dcm",  # PixelSpacing
]


def assert_agrees(info: SweepInfo, sweep: Sweep) -> None:
    """Everything probe reports is what load_sweep found by decoding."""
    meta = sweep.meta
    assert (info.frames, info.height, info.width) == (sweep.n_frames, sweep.height, sweep.width)
    assert (info.source, info.format, info.modality) == (meta.source, meta.format, meta.modality)
    assert info.fps == meta.fps  # exactly: the same header values, read the same way
    assert info.spacing_mm == meta.spacing_mm


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to decode pixels -- a video frame, a DICOM frame, a still -- fails the test."""
    real_capture = cv2.VideoCapture

    class HeaderOnlyCapture:
        def __init__(self, *args: object) -> None:
            self._cap = real_capture(*args)

        def __getattr__(self, name: str) -> object:
            if name in ("read", "grab", "retrieve"):
                raise AssertionError(f"probe decoded a video frame (VideoCapture.{name})")
            return getattr(self._cap, name)

    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("probe decoded pixels")

    monkeypatch.setattr(cv2, "VideoCapture", HeaderOnlyCapture)
    monkeypatch.setattr(cv2, "imdecode", forbidden)
    monkeypatch.setattr(neocus.io.dicom, "_decode_frames", forbidden)  # where the reader calls it
    for name in ("iter_pixels", "generate_frames"):  # where the decoder calls them
        monkeypatch.setattr(neocus.io.dicom_pixels, name, forbidden)
    monkeypatch.setattr(neocus.io.images, "_decode_still", forbidden)


def _pattern(n: int = 12, h: int = 48, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([(127 + 100 * np.sin((xx + 4 * t) / 9.0) * np.cos(yy / 13.0)).astype(np.uint8) for t in range(n)])


# ----------------------------------------------------------------------------------------------------
# agreement with load_sweep


@pytest.mark.real_data
@pytest.mark.parametrize(("exam", "video", "n"), REAL_SWEEPS)
def test_real_sweeps_agree_with_load_sweep(exam: str, video: str, n: int) -> None:
    path = ncls_file(exam, video)
    info = probe(path)
    assert (info.kind, info.frames, info.height, info.width) == (Kind.VIDEO_MP4, n, 898, 1442)
    assert_agrees(info, load_sweep(path, show_progress=False))


@pytest.mark.parametrize("name", DICOM_FILES)
def test_pydicom_files_agree_with_load_sweep(name: str) -> None:
    path = dicom_test_file(name)
    info = probe(path, allow_any_modality=True)
    assert info.kind is Kind.DICOM
    assert_agrees(info, load_sweep(path, allow_any_modality=True))


def test_resized_cine_has_no_spacing_and_a_fitting_region_has() -> None:
    assert probe(dicom_test_file("examples_ybr_color.dcm")).spacing_mm is None
    assert probe(dicom_test_file("color3d_jpeg_baseline.dcm")).spacing_mm == pytest.approx((0.5104970559477806,) * 2)


def test_written_sweeps_stills_and_folders_agree_with_load_sweep(tmp_path: Path) -> None:
    frames = _pattern()
    mp4 = write_video(tmp_path / "sweep.mp4", frames, 25.0)
    avi = write_video(tmp_path / "sweep.avi", frames, 12.5, fourcc="MJPG")
    dcm = write_dicom_cine(tmp_path / "cine.dcm", frames, 28.0, spacing_mm=(0.1, 0.2))
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames[:5]):
        cv2.imwrite(str(folder / f"f{i}.{'png' if i % 2 else 'jpg'}"), frame)
    expected = {mp4: (Kind.VIDEO_MP4, 12), avi: (Kind.VIDEO_AVI, 12), dcm: (Kind.DICOM, 12), folder: (Kind.IMAGE_FOLDER, 5),
                folder / "f1.png": (Kind.PNG, 1), folder / "f0.jpg": (Kind.JPEG, 1)}
    for path, (kind, n) in expected.items():
        info = probe(path)
        assert (info.kind, info.frames, info.height, info.width) == (kind, n, 48, 64), path
        assert_agrees(info, load_sweep(path, show_progress=False))
    assert probe(dcm).spacing_mm == pytest.approx((0.1, 0.2)) and probe(dcm).fps == pytest.approx(28.0)
    assert probe(mp4).fps == pytest.approx(25.0)


# ----------------------------------------------------------------------------------------------------
# header only


def test_probe_decodes_nothing(tmp_path: Path, no_decoding: None) -> None:
    frames = _pattern(4)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i}.png"), frame)
    dcm = write_dicom_cine(tmp_path / "cine.dcm", frames, 10.0)
    expected = {dcm: 4, folder: 4, folder / "0.png": 1, Path(dicom_test_file("examples_ybr_color.dcm")): 30, write_video(tmp_path / "v.mp4", frames, 10.0): 4}
    assert {path: probe(path).frames for path in expected} == expected
    with pytest.raises(AssertionError, match="decoded"):  # the fixture does catch a decode
        load_sweep(dcm)


@pytest.mark.real_data
def test_probe_of_the_real_sweep_reads_no_frame(no_decoding: None) -> None:
    info = probe(ncls_file("20221223027", "coronal_sweep.mp4"))
    assert (info.frames, info.fps) == (118, 28.0)


def test_video_without_listed_count_is_checked_on_its_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "zero.avi"  # an AVI container with no frames lists a count of 0
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (80, 64), True).release()
    with pytest.raises(InputFileError) as probed:
        probe(path)
    with pytest.raises(InputFileError) as loaded:
        load_sweep(path)
    assert probed.value.message == loaded.value.message and "no frames" in probed.value.what


def test_folder_frames_of_two_sizes_are_refused_from_their_headers(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a1.png"), np.zeros((8, 8), np.uint8))
    cv2.imwrite(str(tmp_path / "a2.jpg"), np.zeros((8, 9), np.uint8))
    with pytest.raises(InputFileError) as loaded:
        load_sweep(tmp_path)
    with pytest.raises(InputFileError) as probed:
        probe(tmp_path)
    assert probed.value.message == loaded.value.message and probed.value.what == "a2.jpg is 9x8, a1.png is 8x8"
