"""``fetal measure`` with the plane model: the plane recognised (with its probabilities) when none is given,
TCD and cisterna magna measured only on a recognised or given trans-cerebellar plane, null with the reason
otherwise, ``--plane`` overriding the model; the CLI with a tiny plane model folder."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from test_fetal_fossa_measure import FOSSA, SKULL, _tc_image

from neocus.cli import main
from neocus.fetal.measure import FetalImage, measure_fetal_head
from neocus.fetal.plane_data import PLANES
from neocus.fetal.plane_model import PlaneModel, PlaneModelConfig, build_plane_net, save_plane_model
from neocus.vocab import FetalPlane

TINY = PlaneModelConfig(input_side=32, channels=(4, 8), dropout=0.0)


def fixed_plane_model(plane: FetalPlane) -> PlaneModel:
    """A plane network that says ``plane`` (probability about 0.98) whatever the image."""
    net = build_plane_net(TINY).eval()
    with torch.no_grad():
        net[-1].weight.zero_()
        net[-1].bias.copy_(torch.tensor([5.0 if p is plane else 0.0 for p in PLANES]))
    return PlaneModel(net=net, config=TINY)


def _measure(**kwargs):
    return measure_fetal_head(FetalImage(_tc_image(), None), SKULL, ga_weeks=22.0, pixel_mm=0.25, fossa_model=FOSSA, **kwargs)[0]


def test_recognised_trans_cerebellar_plane_gives_tcd_with_probabilities():
    result = _measure(plane_model=fixed_plane_model(FetalPlane.TRANS_CEREBELLAR))
    assert result.plane == "trans_cerebellar" and result.plane_source == "recognised"
    probs = result.plane_probabilities
    assert set(probs) == {p.value for p in PLANES} and sum(probs.values()) == pytest.approx(1.0) and probs["trans_cerebellar"] > 0.9
    assert result.measurements["tcd_mm"] == pytest.approx(80 * 0.25, abs=0.75)
    out = result.to_dict()
    assert out["plane_probabilities"]["trans_cerebellar"] > 0.9 and "plane" not in out["reasons"]
    assert len(out["warnings"]) == 2 and "recognised, not given" in out["warnings"][0]  # the reader is told to check it
    assert "phantom only" in out["warnings"][1]  # and that the TCD comes from a phantom-trained model


def test_recognised_other_plane_gives_null_tcd_with_the_reason():
    result = _measure(plane_model=fixed_plane_model(FetalPlane.TRANS_THALAMIC))
    assert result.plane == "trans_thalamic" and result.plane_source == "recognised"
    for key in ("tcd_mm", "cisterna_magna_mm"):
        assert result.measurements[key] is None
        assert result.reasons[key] == "measured only on a trans-cerebellar plane; the plane recognised is trans_thalamic"
    assert result.measurements["hc_mm"] is not None  # the head is still measured


def test_given_plane_overrides_the_model():
    result = _measure(plane="trans_cerebellar", plane_model=fixed_plane_model(FetalPlane.OTHER))
    assert result.plane == "trans_cerebellar" and result.plane_source == "given" and result.plane_probabilities is None
    from neocus.fetal.measure import PHANTOM_FOSSA_WARNING

    assert result.measurements["tcd_mm"] is not None and result.warnings == (PHANTOM_FOSSA_WARNING,)  # given: no plane warning
    result = _measure(plane="other", plane_model=fixed_plane_model(FetalPlane.TRANS_CEREBELLAR))
    assert result.plane == "other" and result.measurements["tcd_mm"] is None
    assert result.warnings == ()  # no posterior-fossa figure made: no phantom warning
    assert "the plane given is other" in result.reasons["tcd_mm"]


def test_no_plane_and_no_model_is_null_with_reasons():
    result = _measure()
    assert result.plane is None and result.plane_source is None and result.plane_probabilities is None
    assert "no plane model" in result.reasons["plane"] and "plane was not given" in result.reasons["tcd_mm"]


def test_cli_recognises_the_plane_and_the_flag_overrides_it(tmp_path, capsys):
    save_plane_model(fixed_plane_model(FetalPlane.TRANS_VENTRICULAR), tmp_path / "plane")
    cv2.imwrite(str(tmp_path / "img.png"), _tc_image())
    args = ["fetal", "measure", str(tmp_path / "img.png"), "--pixel-mm", "0.25", "--ga", "22", "--plane-model", str(tmp_path / "plane")]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    res = json.loads((tmp_path / "a" / "result.json").read_text())
    assert res["plane"] == "trans_ventricular" and res["plane_source"] == "recognised"
    assert res["plane_probabilities"]["trans_ventricular"] > 0.9
    assert res["measurements"]["tcd_mm"] is None and "recognised is trans_ventricular" in res["reasons"]["tcd_mm"]
    printed = capsys.readouterr()
    assert "plane trans_ventricular (recognised" in printed.out and "recognised, not given" in printed.err
    assert main([*args, "--plane", "other", "--out", str(tmp_path / "b")]) == 0
    res = json.loads((tmp_path / "b" / "result.json").read_text())
    assert res["plane"] == "other" and res["plane_source"] == "given" and res["plane_probabilities"] is None
    (tmp_path / "broken").mkdir()
    assert main([*args[:-1], str(tmp_path / "broken"), "--out", str(tmp_path / "c")]) != 0
    err = capsys.readouterr().err
    assert "plane model" in err and "Traceback" not in err and not (tmp_path / "c").exists()


def test_plane_probabilities_are_rounded_floats_in_json(tmp_path):
    result = _measure(plane_model=fixed_plane_model(FetalPlane.OTHER))
    text = json.dumps(result.to_dict())
    assert np.isclose(sum(json.loads(text)["plane_probabilities"].values()), 1.0)


def test_overlay_names_the_plane_and_its_source():
    from neocus.fetal.measure import _draw_fossa

    result = _measure(plane_model=fixed_plane_model(FetalPlane.TRANS_THALAMIC))
    img = cv2.cvtColor(_tc_image(), cv2.COLOR_GRAY2BGR)
    assert _draw_fossa(img, result)[0].startswith("plane trans-thalamic (recognised 0.9")
    assert _draw_fossa(img, _measure(plane="other"))[0] == "plane other (given)"
    assert _draw_fossa(img, _measure()) == []
