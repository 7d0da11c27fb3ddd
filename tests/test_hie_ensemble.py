"""neocus.hie ensembles: a model folder of several members (members/<name>/), its mean probability,
old single-member folders, refused members, and `neocus hie ensemble` from finished runs."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch

from hie_testdata import write_bonbid_dataset, write_case
from neocus.cli import main
from neocus.errors import DatasetError, InputFileError
from neocus.hie import load_case, load_model, model_proba, predict_proba, segment
from neocus.hie.ensemble import build_ensemble
from neocus.hie.evaluate import evaluate_out_of_fold
from neocus.hie.models import ModelConfig, build_network
from neocus.hie.train import TrainOptions, cross_validate

TINY = ModelConfig(features=(4, 8, 16), patch=(16, 16))
LAST_BIAS = "model.2.1.conv.unit0.conv.bias"  # the U-Net's last convolution (residual unit, identity skip)


def constant_net(config: ModelConfig, p: float) -> dict[str, torch.Tensor]:
    """Weights of a network whose lesion probability is ``p`` everywhere: every parameter zero but
    the last bias, (0, logit p), so the softmax gives p."""
    state = {k: torch.zeros_like(v) for k, v in build_network(config).state_dict().items()}
    state[LAST_BIAS] = torch.tensor([0.0, math.log(p / (1 - p))])
    return state


def write_member(folder, config: ModelConfig, probs: list[float]) -> None:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config.to_json()))
    for k, p in enumerate(probs):
        torch.save(constant_net(config, p), folder / f"fold_{k}.pt")


def test_two_members_average_their_members_probabilities(tmp_path):
    # member a: two fold networks at 0.2 and 0.4 (its mean 0.3); member b: one at 0.9.
    # The ensemble is the mean of the members, (0.3 + 0.9) / 2 = 0.6, not the mean of the three networks (0.5).
    write_member(tmp_path / "m" / "members" / "a", TINY, [0.2, 0.4])
    write_member(tmp_path / "m" / "members" / "b", TINY, [0.9])
    model = load_model(tmp_path / "m")
    assert [m.name for m in model.members] == ["a", "b"] and len(model.networks) == 3
    image = np.random.default_rng(0).normal(size=(3, 5, 24, 24)).astype(np.float32)
    np.testing.assert_allclose(predict_proba(model.members[0].networks, image, TINY), 0.3, atol=1e-5)
    np.testing.assert_allclose(model_proba(model, image), 0.6, atol=1e-5)
    adc, zadc, _ = write_case(tmp_path / "in", shape_kji=(5, 24, 24), seed=1)
    case = load_case(adc, zadc=zadc)
    result = segment(case, model=model)  # segment uses the ensemble's mean
    brain = case.adc.array > 0
    np.testing.assert_allclose(result.probability[brain], 0.6, atol=1e-5)
    assert (result.probability[~brain] == 0).all()


def test_a_single_member_folder_still_loads_and_predicts_as_before(tmp_path):
    write_member(tmp_path / "old", TINY, [0.2, 0.7])  # config.json + fold_*.pt at the top: the old layout
    model = load_model(tmp_path / "old")
    assert len(model.members) == 1 and model.members[0].name == "" and model.config == TINY
    image = np.zeros((3, 4, 20, 20), dtype=np.float32)
    np.testing.assert_allclose(model_proba(model, image), predict_proba(model.networks, image, TINY), atol=0)
    np.testing.assert_allclose(model_proba(model, image), 0.45, atol=1e-5)


def test_members_with_other_channels_or_a_mixed_layout_are_refused(tmp_path):
    write_member(tmp_path / "m" / "members" / "a", TINY, [0.3])
    write_member(tmp_path / "m" / "members" / "b", ModelConfig(features=(4, 8, 16), patch=(16, 16), channels=("adc", "zadc")), [0.3])
    with pytest.raises(InputFileError, match=r"member b takes channels adc,zadc.*must share their input channels") as info:
        load_model(tmp_path / "m")
    assert info.value.where == str(tmp_path / "m" / "members")
    shutil.rmtree(tmp_path / "m" / "members" / "b")
    write_member(tmp_path / "m" / "members" / "b", TINY, [0.3])
    (tmp_path / "m" / "config.json").write_text(json.dumps(TINY.to_json()))
    with pytest.raises(InputFileError, match="both config.json and members/"):
        load_model(tmp_path / "m")
    (tmp_path / "e" / "members").mkdir(parents=True)
    with pytest.raises(InputFileError, match="empty members/"):
        load_model(tmp_path / "e")
    (tmp_path / "x" / "members" / "a").mkdir(parents=True)
    with pytest.raises(InputFileError, match="no config.json"):
        load_model(tmp_path / "x")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("ens")
    data = write_bonbid_dataset(root / "ds", n=4, empty=(3,))
    options = TrainOptions(folds=2, epochs=1, steps_per_epoch=2, batch_size=4, val_every=99)
    runs = []
    for loss in ("dicece", "dicefocal"):
        cross_validate(data, root / loss, config=ModelConfig(features=(4, 8, 16), patch=(16, 16), loss=loss), options=options, seed=0)
        runs.append(root / loss)
    return data, runs


def test_build_ensemble_from_runs(two_runs, tmp_path):
    data, runs = two_runs
    out = tmp_path / "ens"
    result = build_ensemble(runs, data, out)
    assert result.members == ("dicece", "dicefocal") and 0.0 <= result.dice <= 1.0
    a, b, mean = (np.load(d / "oof" / "MGHNICU_101.npy").astype(np.float32) for d in (*runs, out))
    np.testing.assert_allclose(mean, (a + b) / 2, atol=2e-3)  # float16 storage
    assert sorted(p.name for p in (out / "members" / "dicefocal").iterdir()) == ["config.json", "fold_0.pt", "fold_1.pt"]
    assert {"postprocess.json", "cv_metrics.json", "cv_cases.csv", "folds.json", "members.json"} <= {p.name for p in out.iterdir()}
    model = load_model(out)
    assert len(model.members) == 2 and model.post.fitted_on == 4
    report = evaluate_out_of_fold(out, data)  # each patient by every member's fold model that never saw it
    assert report.dice.mean == pytest.approx(result.dice, abs=0.02)
    with pytest.raises(Exception, match="not empty"):
        build_ensemble(runs, data, out)


def test_build_ensemble_refuses_other_folds_and_the_cli_says_so_in_one_line(two_runs, tmp_path, capsys):
    data, runs = two_runs
    other = tmp_path / "other"
    shutil.copytree(runs[1], other)
    folds = json.loads((other / "folds.json").read_text())
    folds["folds"] = [folds["folds"][1], folds["folds"][0]]
    (other / "folds.json").write_text(json.dumps(folds))
    with pytest.raises(DatasetError, match="holds out other patients"):
        build_ensemble([runs[0], other], data, tmp_path / "e1")
    assert main(["hie", "ensemble", str(runs[0]), str(other), "--data", str(data), "--out", str(tmp_path / "e2")]) != 0
    err = capsys.readouterr().err
    assert "holds out other patients" in err and "Traceback" not in err
    assert main(["hie", "ensemble", str(runs[0]), "--data", str(data), "--out", str(tmp_path / "e3")]) != 0
    assert "at least two runs" in capsys.readouterr().err
