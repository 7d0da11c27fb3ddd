"""``fetal measure`` on a trans-cerebellar plane: TCD and cisterna magna depth with centiles, flags and
calipers from the posterior-fossa model (a stand-in network that reads the drawn structures from their
grey levels, so the chain around the network is tested exactly); ``null`` with the reason when the plane
is not trans-cerebellar or not given, without pixel spacing or gestational age; the CLI with a tiny
model folder writes the overlay and refuses a bad plane in one line."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from fetal_testdata import bright_model
from neocus.cli import main
from neocus.errors import NeocusError
from neocus.fetal.cerebellum import CLASS_NAMES, CerebellumModel
from neocus.fetal.measure import FetalImage, draw_overlay, measure_fetal_head
from neocus.fetal.skull_model import SkullModelConfig, build_network, save_skull_model

SKULL = bright_model((272, 400))
# grey level of each class in the drawn image; the stand-in network cuts the image's own 0..max range at the midpoints
LEVELS = {"background": 0, "cistern": 60, "brain": 120, "cerebellum": 180, "skull": 250}


class _Levels(torch.nn.Module):
    """Class of each pixel from its grey level relative to the input's own minimum and maximum."""

    def forward(self, x):
        lo, hi = x.amin(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)
        v = (x - lo) / (hi - lo + 1e-6) * 250.0
        return torch.cat([-((v - LEVELS[name]) ** 2) / 100.0 for name in CLASS_NAMES], dim=1)


FOSSA = CerebellumModel(config=SkullModelConfig(features=(4, 4, 8, 8, 8, 4), input_shape_hw=(192, 192)), network=_Levels().eval(), path=None)


def _tc_image() -> np.ndarray:
    """An 800x540 head (skull ring, brain) whose midline is vertical, a cerebellum 80 px wide and a cistern
    24 px deep on the midline behind it."""
    img = np.zeros((540, 800), np.uint8)
    cv2.ellipse(img, ((400.0, 270.0), (300.0, 400.0), 0.0), LEVELS["skull"], -1)
    cv2.ellipse(img, ((400.0, 270.0), (280.0, 380.0), 0.0), LEVELS["brain"], -1)
    img[350:380, 360:440] = LEVELS["cerebellum"]
    img[380:404, 390:411] = LEVELS["cistern"]
    return img


def test_trans_cerebellar_plane_gives_tcd_and_cisterna_magna_with_centiles_and_calipers():
    img = _tc_image()
    result, _ = measure_fetal_head(FetalImage(img, None), SKULL, ga_weeks=22.0, pixel_mm=0.25, plane="trans_cerebellar", fossa_model=FOSSA)
    m = result.measurements
    assert m["tcd_mm"] == pytest.approx(80 * 0.25, abs=0.75) and m["cisterna_magna_mm"] == pytest.approx(24 * 0.25, abs=0.75)
    assert result.plane == "trans_cerebellar" and result.plane_source == "given"
    assert 0 <= result.centiles["tcd"]["centile"] <= 100 and result.flags["tcd"] in ("low", "normal", "high")
    assert result.centiles["cisterna_magna"]["exceeds_fixed_threshold"] is False
    (x0, y0), (x1, y1) = result.calipers["tcd"]
    assert abs(y0 - y1) < 2 and min(x0, x1) == pytest.approx(360, abs=3) and max(x0, x1) == pytest.approx(440, abs=3)
    out = json.loads(json.dumps(result.to_dict()))
    assert "fossa_classes" not in out and out["measurements"]["tcd_mm"] == pytest.approx(m["tcd_mm"])
    overlay = draw_overlay(img, result)
    magenta = (overlay[..., 0] == 255) & (overlay[..., 1] == 0) & (overlay[..., 2] == 255)
    assert magenta[340:390, 350:450].any()  # cerebellum outline and TCD caliper drawn


@pytest.mark.parametrize("plane, kwargs, key, needle", [
    (None, {}, "tcd_mm", "plane was not given"),
    ("trans_thalamic", {}, "tcd_mm", "plane given is trans_thalamic"),
    ("trans_cerebellar", {"pixel_mm": None}, "tcd_mm", "no pixel spacing"),
    ("trans_cerebellar", {"ga_weeks": None}, "tcd_centile", "no gestational age"),
])
def test_nulls_with_reasons(plane, kwargs, key, needle):
    args = {"ga_weeks": 22.0, "pixel_mm": 0.25, **kwargs}
    result, _ = measure_fetal_head(FetalImage(_tc_image(), None), SKULL, plane=plane, fossa_model=FOSSA, **args)
    assert needle in result.reasons[key]
    if key == "tcd_mm":
        assert result.measurements["tcd_mm"] is None and result.measurements["cisterna_magna_mm"] is None
    else:
        assert result.measurements["tcd_mm"] is not None and result.centiles["tcd"] is None
    with pytest.raises(NeocusError, match="unknown plane"):
        measure_fetal_head(FetalImage(_tc_image(), None), SKULL, plane="axial", fossa_model=FOSSA)


def test_cli_with_a_tiny_model_folder_writes_result_and_overlay(tmp_path, capsys):
    config = SkullModelConfig(features=(4, 4, 8, 8, 8, 4), input_shape_hw=(64, 64))
    torch.manual_seed(0)
    save_skull_model(build_network(config, out_channels=len(CLASS_NAMES)), config, tmp_path / "fossa")
    cv2.imwrite(str(tmp_path / "tc.png"), _tc_image())
    args = ["fetal", "measure", str(tmp_path / "tc.png"), "--pixel-mm", "0.25", "--ga", "22", "--fossa-model", str(tmp_path / "fossa")]
    assert main([*args, "--plane", "trans-cerebellar", "--out", str(tmp_path / "out")]) == 0
    res = json.loads((tmp_path / "out" / "result.json").read_text())
    assert res["plane"] == "trans_cerebellar" and res["plane_source"] == "given"
    for key in ("tcd_mm", "cisterna_magna_mm"):  # an untrained network: a value or null with its reason, never missing
        assert key in res["measurements"] and (res["measurements"][key] is not None or res["reasons"][key])
    assert cv2.imread(str(tmp_path / "out" / "overlay.png")).shape == (540, 800, 3)
    capsys.readouterr()
    assert main([*args, "--plane", "sagittal", "--out", str(tmp_path / "bad")]) != 0
    err = capsys.readouterr().err
    assert "--plane" in err and "trans_cerebellar" in err and "Traceback" not in err and not (tmp_path / "bad").exists()
