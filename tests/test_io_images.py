"""Stills and folders of frames: PNG / JPEG, colour and 16-bit, natural order, the real NCLS views."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from io_testdata import ncls_file

from neocus.errors import InputFileError
from neocus.io import load_sweep, probe


def _rgb_image(h: int = 40, w: int = 60) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # RGB


def test_colour_png_becomes_bt601_luma(tmp_path: Path) -> None:
    rgb = _rgb_image()
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    sweep = load_sweep(path)
    expected = np.rint(rgb.astype(np.float64) @ [0.299, 0.587, 0.114])
    assert sweep.frames.shape == (1, 40, 60)
    assert np.abs(sweep.frames[0] - expected).max() <= 1
    assert sweep.meta.format == "image" and sweep.meta.photometric == "RGB" and sweep.meta.fps is None


def test_16_bit_and_alpha_png(tmp_path: Path) -> None:
    grey16 = (np.arange(40 * 60, dtype=np.uint32).reshape(40, 60) * 27).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), grey16)
    sweep = load_sweep(tmp_path / "deep.png")
    assert np.abs(sweep.frames[0].astype(int) - np.rint(grey16 / 257.0)).max() <= 1
    bgra = np.dstack([cv2.cvtColor(_rgb_image(), cv2.COLOR_RGB2BGR), np.full((40, 60), 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "alpha.png"), bgra)
    sweep = load_sweep(tmp_path / "alpha.png")
    assert sweep.meta.photometric == "RGBA"
    assert np.abs(sweep.frames[0].astype(int) - cv2.cvtColor(bgra[..., :3], cv2.COLOR_BGR2GRAY)).max() == 0


def test_jpeg_named_png_is_read_by_content(tmp_path: Path) -> None:
    path = tmp_path / "really_a_jpeg.png"
    _ok, data = cv2.imencode(".jpg", cv2.cvtColor(_rgb_image(), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    path.write_bytes(data.tobytes())
    sweep = load_sweep(path)
    assert sweep.frames.shape == (1, 40, 60)


def test_folder_of_frames_in_natural_order(tmp_path: Path) -> None:
    for i in (10, 2, 1):  # written out of order; names sort as 1, 2, 10
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), np.full((20, 30), i * 10, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden.png").write_bytes(b"ignored too")
    (tmp_path / "sub").mkdir()
    sweep = load_sweep(tmp_path, show_progress=False)
    assert sweep.meta.format == "image_folder"
    assert sweep.frames[:, 0, 0].tolist() == [10, 20, 100]
    assert sweep.meta.timestamps_s.tolist() == [0.0, 1.0, 2.0]  # no frame rate: frame indices
    assert sweep.meta.ignored_files == ("notes.txt", "sub/")  # named, not read; hidden files left out


def _views_folder(folder: Path, names: list[str]) -> Path:
    for k, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((20, 30), k * 20, np.uint8))
    return folder


def test_stills_of_different_series_are_not_read_as_a_sweep(tmp_path: Path) -> None:
    folder = _views_folder(tmp_path, ["COR1.png", "COR2.png", "COR3.png", "SAG1.png", "SAG2.png", "SAG3.png"])
    (folder / "sweep.mp4").write_bytes(b"not read")
    with pytest.raises(InputFileError, match="not one sweep: their names follow 2 patterns: COR1.png... \\(3\\), SAG1.png... \\(3\\)") as err:
        load_sweep(folder)
    assert "one still at a time" in err.value.hint
    with pytest.raises(InputFileError, match="not one sweep"):
        probe(folder)  # headers only: the same rule
    assert load_sweep(folder / "SAG2.png").frames.shape == (1, 20, 30)  # one at a time is fine


def test_stills_without_numbers_are_not_frames(tmp_path: Path) -> None:
    _views_folder(tmp_path, ["left.png", "right.jpg"])
    with pytest.raises(InputFileError, match="not one sweep"):
        load_sweep(tmp_path)
    one = tmp_path / "one"
    one.mkdir()
    _views_folder(one, ["only.png"])
    assert load_sweep(one, show_progress=False).frames.shape == (1, 20, 30)  # a folder of one still


def test_folder_with_mixed_sizes_is_refused(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a1.png"), np.zeros((20, 30), np.uint8))
    cv2.imwrite(str(tmp_path / "a2.png"), np.zeros((21, 30), np.uint8))
    with pytest.raises(InputFileError, match="a2.png is 30x21, a1.png is 30x20"):
        load_sweep(tmp_path)


@pytest.mark.real_data
def test_real_ncls_views_folder() -> None:
    folder = ncls_file("20221231069")
    # COR1..3 and SAG1..2 PNGs (1442x898 GE screens) are five views, not one sweep
    with pytest.raises(InputFileError, match="2 patterns: COR1.png... \\(3\\), SAG1.png... \\(2\\)"):
        load_sweep(folder, show_progress=False)
    still = load_sweep(ncls_file("20221231069", "COR1.png"))
    assert still.frames.shape == (1, 898, 1442)
    assert still.meta.photometric == "RGB"
