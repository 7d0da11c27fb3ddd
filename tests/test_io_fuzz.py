"""Damaged files of every kind: load_sweep returns a Sweep or raises InputFileError -- never anything else."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from io_testdata import dicom_test_file

from neocus.errors import InputFileError
from neocus.io import load_sweep, write_dicom_cine, write_video


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("fuzz_sources")
    frames = (np.random.default_rng(0).random((6, 32, 48)) * 255).astype(np.uint8)
    return {
        "dicom": write_dicom_cine(tmp / "a.dcm", frames, 10.0, spacing_mm=(0.2, 0.2)).read_bytes(),
        "mp4": write_video(tmp / "a.mp4", frames, 10.0).read_bytes(),
        "png": cv2.imencode(".png", frames[0])[1].tobytes(),
        "jpeg": cv2.imencode(".jpg", frames[0])[1].tobytes(),
        "jpeg_dicom": Path(dicom_test_file("examples_ybr_color.dcm")).read_bytes(),
        "palette_dicom": Path(dicom_test_file("examples_palette.dcm")).read_bytes(),
    }


@pytest.mark.parametrize("kind", ["dicom", "mp4", "png", "jpeg", "jpeg_dicom", "palette_dicom"])
def test_damaged_files_fail_cleanly(sources: dict[str, bytes], kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(sum(map(ord, kind)))
    original = sources[kind]
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(25):
        data = bytearray(original)
        damage = i % 3
        if damage == 0:  # cut anywhere
            data = data[: int(rng.integers(1, len(data)))]
        elif damage == 1:  # random byte errors anywhere
            for _ in range(int(rng.integers(1, 20))):
                data[int(rng.integers(len(data)))] = int(rng.integers(256))
        else:  # a damaged header
            at = int(rng.integers(0, min(len(data), 2000)))
            data[at : at + 4] = bytes(rng.integers(0, 256, 4).tolist())
        path = tmp_path / f"damaged_{i}"
        path.write_bytes(bytes(data))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning reaches the user either
            try:
                sweep = load_sweep(path, show_progress=False)
            except InputFileError as err:
                assert err.where == str(path) and "\n" not in err.message
                outcomes["refused"] += 1
                continue
        assert sweep.frames.dtype == np.uint8 and sweep.frames.ndim == 3
        outcomes["loaded"] += 1
    assert outcomes["refused"] >= 8  # every cut file at least
