"""Compact fold weights (float16, int8 per channel): round trip, loading, the export command."""

from __future__ import annotations

import pytest
import torch
from diagnosis_testdata import make_bundle, synthetic_case

from neocus.cli import main
from neocus.diagnose.bundle import load_bundle
from neocus.diagnose.data import collate
from neocus.diagnose.storage import SCALE_SUFFIX, WeightStorage, compact_state, expand_state


def _net_state():
    from neocus.diagnose.config import ModelConfig
    from neocus.diagnose.model import DiagnosisNet

    torch.manual_seed(0)
    return DiagnosisNet(ModelConfig(image_size_hw=(32, 32), layer_scale_init=0.5)).state_dict()


@pytest.mark.parametrize("storage, tol", [("float32", 0.0), ("float16", 1e-3), ("int8", 1e-2)])
def test_round_trip_is_close(storage, tol):
    state = _net_state()
    packed = compact_state(state, storage=WeightStorage(storage))
    back = expand_state(packed)
    assert set(back) == set(state)
    for k, v in state.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        if v.is_floating_point():
            assert float((back[k] - v).abs().max()) <= tol * max(1.0, float(v.abs().max())), k
    if storage == "int8":
        assert packed["backbone.stages.3.blocks.0.mlp.fc1.weight"].dtype == torch.int8
        assert "backbone.stages.3.blocks.0.mlp.fc1.weight" + SCALE_SUFFIX in packed
        assert packed["backbone.stages.3.blocks.0.mlp.fc1.bias"].dtype == torch.float16


def test_export_int8_bundle_loads_and_predicts_alike(tmp_path, capsys):
    torch.set_num_threads(1)
    src = make_bundle(tmp_path / "trained", folds=(0, 1))
    out = tmp_path / "shipped"
    assert main(["export", "diagnosis", "--model", str(src), "--out", str(out), "--weights", "int8"]) == 0
    assert (out / "fold0.pt").stat().st_size < 0.4 * (src / "fold0.pt").stat().st_size
    a, b = load_bundle(src), load_bundle(out)
    batch = collate([synthetic_case(3, severe=True).views])
    with torch.no_grad():
        for ma, mb in zip(a.models, b.models):
            pa = ma(batch.images, batch.views, batch.present).severe_prob()
            pb = mb(batch.images, batch.views, batch.present).severe_prob()
            assert torch.allclose(pa, pb, atol=0.02)
    assert main(["export", "diagnosis", "--model", str(src), "--out", str(out)]) != 0  # exists: needs --force
    assert main(["export", "diagnosis", "--model", str(src), "--out", str(out), "--weights", "int4"]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "not empty" in err and "int4" in err
