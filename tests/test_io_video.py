"""load_sweep on videos: the real NCLS sweeps, frame counts that lie, fast luma path vs BGR -> grey."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from io_testdata import ncls_file

from neocus.io import load_sweep
from neocus.io.video import read_video


def _write_avi(path, frames: np.ndarray, fps: float) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (frames.shape[2], frames.shape[1]), isColor=True)
    assert writer.isOpened()
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    writer.release()


def _moving_pattern(n: int = 12, h: int = 96, w: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([(127 + 100 * np.sin((xx + 4 * t) / 9.0) * np.cos(yy / 13.0)).astype(np.uint8) for t in range(n)])


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("exam", "name", "n_frames", "fps"),
    [("20221223027", "coronal_sweep.mp4", 118, 28.0), ("20221231069", "parasagittal_sweep.mp4", 108, 26.0)],
)
def test_real_ncls_sweeps(exam: str, name: str, n_frames: int, fps: float) -> None:
    sweep = load_sweep(ncls_file(exam, name), show_progress=False)
    assert sweep.frames.shape == (n_frames, 898, 1442) and sweep.frames.dtype == np.uint8
    assert sweep.meta.fps == fps and sweep.meta.format == "video" and sweep.meta.spacing_mm is None
    assert sweep.meta.timestamps_s[0] == 0 and sweep.meta.timestamps_s[-1] == pytest.approx((n_frames - 1) / fps)
    assert sweep.meta.photometric == "YUV" and sweep.meta.kept_tags["grey_from"] == "luma plane"  # the fast path
    # the sector (between x ~200 and ~1250, below y ~43) holds the anatomy; the right margin is dark
    sector = sweep.frames[::10, 100:800, 300:1150].astype(np.float32)
    assert sector.mean() > 20 and sector.std() > 15


@pytest.mark.real_data
def test_fast_luma_matches_bgr_to_grey_on_the_real_sweep() -> None:
    path = ncls_file("20221223027", "coronal_sweep.mp4")
    fast = read_video(path, show_progress=False)
    slow = read_video(path, show_progress=False, fast_grey=False)
    assert slow.meta.kept_tags["grey_from"] == "BGR"
    diff = np.abs(fast.frames[::6].astype(np.int16) - slow.frames[::6].astype(np.int16))  # 20 frames suffice
    assert diff.mean() < 0.5 and diff.max() <= 3
    assert np.array_equal(fast.meta.timestamps_s, slow.meta.timestamps_s)


def test_avi_mjpeg_is_sniffed_and_decoded(tmp_path) -> None:
    frames = _moving_pattern()
    path = tmp_path / "sweep.bin"  # no telling extension: the content decides
    path_avi = tmp_path / "sweep.avi"
    _write_avi(path_avi, frames, 20.0)
    path_avi.rename(path)
    sweep = load_sweep(path, show_progress=False)
    assert sweep.frames.shape == frames.shape
    assert sweep.meta.fps == 20.0
    assert sweep.meta.timestamps_s == pytest.approx(np.arange(12) / 20.0)
    assert np.abs(sweep.frames.astype(int) - frames).mean() < 3  # MJPEG is lossy
