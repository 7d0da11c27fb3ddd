"""The cerebellar hypoplasia call of ``fetal measure``: the ``hypoplasia`` block on a trans-cerebellar image
(the fused score's probability equals the logistic of its own features, the flag its threshold, the TCD
rule beside it, a heatmap), the classifier alone when no TCD can be measured, ``null`` with the reason
on another plane, without GA, pixel size or model; a corrupt model folder is one clear error; the CLI
writes the heatmap; the bundled model on a phantom image end to end."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
import torch
from test_fetal_fossa_measure import FOSSA, SKULL, _tc_image

from neocus.cli import main
from neocus.errors import InputFileError
from neocus.fetal.hypoplasia_measure import HEATMAP_NAME, HEATMAP_SIDE, load_hypoplasia_bundle
from neocus.fetal.hypoplasia_model import (HypoplasiaCalibration, HypoplasiaModel, HypoplasiaModelConfig, build_hypoplasia_net,
                                           save_hypoplasia_model)
from neocus.fetal.hypoplasia_score import FUSED_FEATURES, SCORE_NAME, Z_CLIP, HypoplasiaScore, save_hypoplasia_score
from neocus.fetal.measure import FetalImage, measure_fetal_head

TINY = HypoplasiaModelConfig(variant="attention", input_side=32, channels=(4, 8), dropout=0.0, ga_and_scale=True, median_tcd_px=8.0)
SCORE = HypoplasiaScore(coef=(-0.8, -0.1, 0.7), intercept=-1.2, threshold=0.3, features=FUSED_FEATURES, fitted_on="test")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hypo")
    torch.manual_seed(0)
    save_hypoplasia_model(HypoplasiaModel(net=build_hypoplasia_net(TINY), config=TINY,
                                          calibration=HypoplasiaCalibration(temperature=0.7, threshold=0.4)), folder)
    save_hypoplasia_score(SCORE, folder / SCORE_NAME)
    return folder


def _measure(image=None, **kwargs):
    args = {"ga_weeks": 22.0, "pixel_mm": 0.25, "plane": "trans_cerebellar", "fossa_model": FOSSA} | kwargs
    return measure_fetal_head(FetalImage(_tc_image() if image is None else image, None), SKULL, **args)[0]


def test_block_on_a_trans_cerebellar_image_is_the_fused_logistic_of_its_features(model_dir):
    result = _measure(hypoplasia_model=load_hypoplasia_bundle(model_dir))
    block = json.loads(json.dumps(result.to_dict()))["hypoplasia"]
    f = block["features"]
    assert f["tcd_z"] == pytest.approx(result.centiles["tcd"]["z"]) and f["cisterna_magna_z"] == pytest.approx(result.centiles["cisterna_magna"]["z"])
    assert f["classifier_logit"] == pytest.approx(block["classifier"]["logit"])
    clip = [max(-Z_CLIP, min(Z_CLIP, f[k])) for k in FUSED_FEATURES]
    by_hand = 1.0 / (1.0 + math.exp(-(-0.8 * clip[0] - 0.1 * clip[1] + 0.7 * clip[2] - 1.2)))
    assert block["probability"] == pytest.approx(by_hand, rel=1e-9) and block["method"] == "score+classifier"
    assert block["threshold"] == 0.3 and block["flag"] == (by_hand >= 0.3)
    cls = block["classifier"]  # the classifier's own calibrated probability at its temperature and threshold
    assert cls["probability"] == pytest.approx(1 / (1 + math.exp(-cls["logit"] / 0.7))) and cls["threshold"] == 0.4
    assert block["tcd_rule"]["call"] == (result.centiles["tcd"]["centile"] < 5.0) and block["tcd_rule"]["below_centile"] == 5.0
    assert block["heatmap"] == HEATMAP_NAME and result.hypoplasia_heatmap.shape == (HEATMAP_SIDE, HEATMAP_SIDE, 3)
    assert "hypoplasia" not in result.reasons


def test_no_tcd_falls_back_to_the_classifier_alone_and_says_so(model_dir):
    result = _measure(ga_weeks=41.0, hypoplasia_model=load_hypoplasia_bundle(model_dir))  # the TCD norm ends at 40 weeks: no z
    block = result.to_dict()["hypoplasia"]
    assert result.centiles["tcd"] is None and block["features"]["tcd_z"] is None
    assert block["method"] == "classifier" and block["probability"] == pytest.approx(block["classifier"]["probability"])
    assert block["flag"] == block["classifier"]["flag"] and block["threshold"] == 0.4
    assert "classifier alone" in block["reasons"]["hypoplasia_probability"]
    assert block["tcd_rule"]["call"] is None and block["tcd_rule"]["reason"]


@pytest.mark.parametrize("kwargs, needle", [
    ({"plane": "trans_thalamic"}, "plane given is trans_thalamic"),
    ({"plane": None}, "no plane"),
    ({"ga_weeks": None}, "no gestational age"),
    ({"pixel_mm": None}, "no pixel spacing"),
    ({"model": False}, "no hypoplasia model"),
])
def test_null_with_the_reason(model_dir, kwargs, needle):
    bundle = None if kwargs.pop("model", True) is False else load_hypoplasia_bundle(model_dir)
    result = _measure(hypoplasia_model=bundle, **kwargs)
    out = json.loads(json.dumps(result.to_dict()))
    assert out["hypoplasia"] is None and needle in out["reasons"]["hypoplasia"] and result.hypoplasia_heatmap is None


def test_corrupt_model_folder_is_a_clear_error(model_dir, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(model_dir, bad)
    (bad / SCORE_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(InputFileError, match="cannot read the hypoplasia score"):
        load_hypoplasia_bundle(bad)
    save_hypoplasia_score(HypoplasiaScore(coef=(-0.6, 0.0), intercept=-1.5, threshold=0.2), bad / SCORE_NAME)
    with pytest.raises(InputFileError, match="does not read the classifier's logit"):
        load_hypoplasia_bundle(bad)
    (bad / "weights.pt").write_bytes(b"garbage")
    with pytest.raises(InputFileError, match="hypoplasia model cannot be read"):
        load_hypoplasia_bundle(bad)
    cv2.imwrite(str(tmp_path / "tc.png"), _tc_image())
    code = main(["fetal", "measure", str(tmp_path / "tc.png"), "--plane", "trans-cerebellar", "--ga", "22", "--pixel-mm", "0.25",
                 "--hypoplasia-model", str(bad), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0 and "hypoplasia model cannot be read" in err and "Traceback" not in err and not (tmp_path / "out").exists()


def test_cli_writes_the_block_and_the_heatmap(model_dir, tmp_path):
    cv2.imwrite(str(tmp_path / "tc.png"), _tc_image())
    assert main(["fetal", "measure", str(tmp_path / "tc.png"), "--plane", "trans-cerebellar", "--ga", "22", "--pixel-mm", "0.25",
                 "--hypoplasia-model", str(model_dir), "--out", str(tmp_path / "out")]) == 0
    res = json.loads((tmp_path / "out" / "result.json").read_text())
    block = res["hypoplasia"]  # the bundled skull and posterior-fossa models on a drawn head: a call or null with the reason
    assert block is not None or res["reasons"]["hypoplasia"]
    if block is not None:
        assert 0.0 <= block["probability"] <= 1.0 and block["method"] in ("score+classifier", "classifier")
        assert cv2.imread(str(tmp_path / "out" / HEATMAP_NAME)).shape == (HEATMAP_SIDE, HEATMAP_SIDE, 3)


def test_bundled_model_on_a_phantom_trans_cerebellar_image():
    from neocus.fetal.cerebellum import default_cerebellum_dir, load_cerebellum_model
    from neocus.fetal.hypoplasia_model import default_hypoplasia_model_dir
    from neocus.fetal.phantom_render import simulate_fetal_image
    from neocus.fetal.skull_model import load_skull_model
    from neocus.vocab import FetalCondition, FetalPlane

    if not (default_hypoplasia_model_dir() / "config.json").is_file():
        pytest.skip("no hypoplasia model bundled")
    img = simulate_fetal_image(24.0, plane=FetalPlane.TRANS_CEREBELLAR, condition=FetalCondition.CEREBELLAR_HYPOPLASIA,
                               rng=np.random.default_rng(5))
    result, _ = measure_fetal_head(FetalImage(img.image, img.pixel_mm), load_skull_model(None), ga_weeks=24.0, plane="trans_cerebellar",
                                   fossa_model=load_cerebellum_model(default_cerebellum_dir()), hypoplasia_model=load_hypoplasia_bundle())
    block = result.to_dict()["hypoplasia"]
    assert block["method"] == "score+classifier" and 0.0 < block["probability"] < 1.0
    assert set(block["features"]) == set(FUSED_FEATURES) and block["tcd_rule"]["tcd_centile"] is not None


def test_overlay_prints_the_call(model_dir):
    from neocus.fetal.measure import draw_overlay

    img = _tc_image()
    with_call = draw_overlay(img, _measure(hypoplasia_model=load_hypoplasia_bundle(model_dir)))
    without = draw_overlay(img, _measure(hypoplasia_model=None))
    changed = np.any(with_call != without, axis=2)
    assert changed.any() and not changed[200:, :].any()  # one more text line, at the top left only
