"""``neocus inspect``: facts and ROI as a table or JSON, the overlay PNG, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from io_testdata import dicom_test_file, ncls_file
from test_io_roi import TRAPEZOID, box_of, put_label, screen

from neocus.cli import main
from neocus.io import write_video


def _inspect_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main(["inspect", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def screen_mp4(tmp_path_factory) -> Path:
    frames, _ = screen(TRAPEZOID, 16, seed=3)
    put_label(frames, "LOGIQ", (95, 62))
    return write_video(tmp_path_factory.mktemp("inspect") / "screen.mp4", frames, fps=25.0)


def test_json_of_a_synthetic_screen_video(capsys, screen_mp4):
    out = _inspect_json(capsys, str(screen_mp4))
    assert {"frames", "height", "width", "fps", "spacing_mm", "roi", "format"} <= out.keys()
    assert (out["frames"], out["height"], out["width"]) == (16, 360, 560)
    assert out["fps"] == pytest.approx(25.0) and out["spacing_mm"] is None and out["format"] == "video"
    roi = out["roi"]
    x, y, w, h = box_of(TRAPEZOID)
    assert abs(roi["x"] - x) <= 4 and abs(roi["y"] - y) <= 4
    assert abs(roi["x"] + roi["w"] - (x + w)) <= 4 and abs(roi["y"] + roi["h"] - (y + h)) <= 4
    assert roi["shape"] == "trapezoid" and roi["method"] == "temporal"


@pytest.mark.real_data
def test_json_of_the_real_coronal_sweep(capsys):
    path = ncls_file("20221223027", "coronal_sweep.mp4")
    out = _inspect_json(capsys, str(path))
    assert (out["frames"], out["height"], out["width"]) == (118, 898, 1442)
    assert out["fps"] == pytest.approx(28.0, abs=0.5)
    roi = out["roi"]
    assert set(roi) >= {"x", "y", "w", "h", "shape"}
    assert 40 <= roi["y"] <= 47 and 190 <= roi["x"] <= 230 and 1210 <= roi["x"] + roi["w"] <= 1260
    assert roi["x"] >= 60 and roi["x"] + roi["w"] <= 1380 and roi["y"] >= 30  # bar, scale, text outside
    assert roi["shape"] == "trapezoid"


def test_json_of_a_dicom_carries_spacing_and_the_region(capsys):
    out = _inspect_json(capsys, dicom_test_file("color3d_jpeg_baseline.dcm"))
    assert (out["frames"], out["height"], out["width"]) == (120, 480, 640)
    assert out["format"] == "dicom" and out["fps"] == pytest.approx(30.0, abs=0.1)
    assert out["spacing_mm"] == pytest.approx([0.5105, 0.5105], abs=1e-3)
    assert {k: out["roi"][k] for k in "xywh"} == {"x": 84, "y": 31, "w": 512, "h": 384}
    assert out["roi"]["method"] == "dicom_region"
    # no patient identifiers leave through inspect
    text = json.dumps(out).lower()
    assert "patient" not in text and "birth" not in text


def test_table_and_overlay(capsys, screen_mp4, tmp_path):
    png = tmp_path / "roi.png"
    capsys.readouterr()
    assert main(["inspect", str(screen_mp4), "--overlay", str(png)]) == 0
    out = capsys.readouterr().out
    for word in ("frames", "fps", "spacing", "ROI", "trapezoid", "560 x 360"):
        assert word in out
    picture = cv2.imread(str(png), cv2.IMREAD_COLOR)
    assert picture.shape == (360, 560, 3)
    # the crop is drawn in green on the representative frame
    x, y, _, h = box_of(TRAPEZOID)
    edge = picture[y + h // 2, max(0, x - 3) : x + 4]
    assert (edge[:, 1].astype(int) - edge[:, 2]).max() > 100
    assert not list(tmp_path.glob(".*")), "no temporary file is left behind"


def test_overlay_must_be_png_and_leaves_nothing(capsys, screen_mp4, tmp_path):
    target = tmp_path / "roi.jpg"
    assert main(["inspect", str(screen_mp4), "--overlay", str(target)]) != 0
    err = capsys.readouterr().err
    assert "PNG" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"this is not a video\n" * 20, b""], ids=["text", "empty"])
def test_bad_input_is_one_line_and_non_zero(capsys, tmp_path, content):
    bad = tmp_path / "sweep.mp4"
    bad.write_bytes(content)
    png = tmp_path / "o.png"
    code = main(["inspect", str(bad), "--json", "--overlay", str(png)])
    captured = capsys.readouterr()
    assert code != 0
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "sweep.mp4" in lines[0] and "Traceback" not in captured.err
    assert captured.out == "" and not png.exists()


def test_missing_file(capsys, tmp_path):
    assert main(["inspect", str(tmp_path / "nope.dcm")]) != 0
    assert "no such file" in capsys.readouterr().err


def test_still_png(capsys, tmp_path):
    frames, _ = screen(TRAPEZOID, 1, seed=5)
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), frames[0])
    out = _inspect_json(capsys, str(path))
    assert out["frames"] == 1 and out["fps"] is None and out["roi"]["method"] == "still"
    assert np.isclose(out["roi"]["y"], 40, atol=3)


def test_a_case_folder_of_views_is_refused_in_one_line(capsys, tmp_path):
    for name in ("COR1.png", "COR2.png", "COR3.png", "SAG1.png", "SAG2.png", "SAG3.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((24, 32), np.uint8))
    (tmp_path / "sweep.mp4").write_bytes(b"x")
    (tmp_path / "result.txt").write_text("severe")
    assert main(["inspect", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not one sweep" in err and "COR1.png" in err and "SAG1.png" in err


def test_a_frame_folder_names_what_it_ignored_and_has_no_duration(capsys, tmp_path):
    frames, _ = screen(TRAPEZOID, 4, seed=2)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"frame{i:03d}.png"), frame)
    (tmp_path / "sweep.mp4").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("n")
    out = _inspect_json(capsys, str(tmp_path))
    assert out["frames"] == 4 and out["fps"] is None and out["duration_s"] is None
    assert out["ignored_files"] == ["notes.txt", "sweep.mp4"]
    assert main(["inspect", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "ignored (not PNG/JPEG frames): notes.txt, sweep.mp4" in text and "unknown" in text
