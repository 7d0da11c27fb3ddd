"""neocus.hie training, resume, cross-validation outputs, inference on the input grid and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from hie_testdata import synthetic_arrays, write_bonbid_dataset, write_case, write_dicom_series_input
from neocus.cli import main
from neocus.errors import InputFileError
from neocus.hie import load_case, load_model, segment
from neocus.hie.models import ModelConfig, build_loss, build_network
from neocus.hie.segment import write_outputs
from neocus.hie.train import TrainOptions, cross_validate, load_samples, train_fold

TINY = ModelConfig(features=(4, 8, 16), patch=(16, 16))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_bonbid_dataset(tmp_path_factory.mktemp("hie") / "ds", n=4, empty=(3,))


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run") / "model"
    result = cross_validate(dataset, out, config=TINY, options=TrainOptions(folds=2, epochs=2, steps_per_epoch=2, batch_size=4, val_every=1), seed=0)
    return out, result


def test_short_training_loss_falls(dataset, tmp_path):
    torch.set_num_threads(1)
    samples = load_samples(dataset, TINY)
    _, res = train_fold(samples[:3], [], tmp_path / "f", config=TINY, options=TrainOptions(epochs=8, steps_per_epoch=3, batch_size=4, lr=1e-2), seed=3)
    rows = (tmp_path / "f" / "log.csv").read_text().splitlines()[1:]
    losses = [float(r.split(",")[1]) for r in rows]
    assert len(losses) == 8
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])


def test_resume_continues_from_the_checkpoint_and_matches(dataset, tmp_path):
    torch.set_num_threads(1)
    samples = load_samples(dataset, TINY)
    opts = dict(steps_per_epoch=2, batch_size=2, val_every=99)
    straight, _ = train_fold(samples[:3], [], tmp_path / "a", config=TINY, options=TrainOptions(epochs=3, **opts), seed=5)

    def stop_after_two(message):
        if message.startswith("epoch 2/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # interrupted after epoch 2 (its checkpoint is written)
        train_fold(samples[:3], [], tmp_path / "b", config=TINY, options=TrainOptions(epochs=3, **opts), progress=stop_after_two, seed=5)
    resumed, res = train_fold(samples[:3], [], tmp_path / "b", config=TINY, options=TrainOptions(epochs=3, **opts), seed=5)
    assert res.resumed_from_epoch == 2
    assert len((tmp_path / "b" / "log.csv").read_text().splitlines()) == 4
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)


def test_cross_validation_writes_a_model_folder(trained, dataset):
    out, result = trained
    assert sorted(p.name for p in out.glob("fold_*.pt")) == ["fold_0.pt", "fold_1.pt"]
    folds = json.loads((out / "folds.json").read_text())["folds"]
    assert sorted(c for f in folds for c in f) == [f"MGHNICU_{i}" for i in range(100, 104)]
    metrics = json.loads((out / "cv_metrics.json").read_text())
    assert {"dice", "masd", "nsd", "hd95", "sensitivity", "specificity", "detection_rate"} <= set(metrics)
    assert len(metrics["cases"]) == 4 and len(metrics["post_processing_per_fold"]) == 2
    assert (out / "curves.png").stat().st_size > 1000 and (out / "oof" / "MGHNICU_103.npy").is_file()
    # a second call resumes: nothing is retrained, the same figures come back
    again = cross_validate(dataset, out, config=TINY, options=TrainOptions(folds=2, epochs=2, steps_per_epoch=2, batch_size=4), seed=0)
    assert again.dice == pytest.approx(result.dice)


@pytest.mark.parametrize("suffix", [".nii.gz", ".mha"])
def test_segment_writes_the_mask_on_the_input_grid(trained, tmp_path, suffix):
    out, _ = trained
    adc, zadc, _ = write_case(tmp_path / "in", suffix=suffix, shape_kji=(7, 30, 34), seed=9)
    case = load_case(adc, zadc=zadc)
    model = load_model(out)
    result = segment(case, model=model)
    assert result.mask.shape == (7, 30, 34) and result.mask.dtype == np.uint8
    written = write_outputs(case, result, adc, tmp_path / "seg")
    assert written[0].name == "lesion_mask" + suffix
    ref, got = sitk.ReadImage(str(adc)), sitk.ReadImage(str(written[0]))
    assert got.GetSize() == ref.GetSize()
    np.testing.assert_allclose(got.GetSpacing(), ref.GetSpacing(), rtol=1e-6)
    np.testing.assert_allclose(got.GetOrigin(), ref.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(got.GetDirection(), ref.GetDirection(), atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(got), result.mask)
    info = json.loads((tmp_path / "seg" / "result.json").read_text())
    assert info["lesion_ml"] == pytest.approx(result.mask.sum() * 4.0 * 1.5 * 1.5 / 1000)
    assert info["n_components"] == result.n_components and "case" not in json.dumps(info)
    alone = segment(load_case(adc), model=model)  # ADC alone still works
    assert alone.mask.shape == result.mask.shape and not alone.used_zadc


def test_dicom_series_in_dicom_series_out(trained, tmp_path):
    from neocus.hie.reading import grid_differences, read_volume

    out, _ = trained
    adc, _, _ = synthetic_arrays((6, 24, 24), seed=2)
    folder = write_dicom_series_input(adc, tmp_path / "series")
    case = load_case(folder)
    result = segment(case, model=load_model(out))
    written = write_outputs(case, result, folder, tmp_path / "seg")
    assert written[0].name == "lesion_mask" and len(list(written[0].glob("*.dcm"))) == 6
    back = read_volume(written[0])
    assert grid_differences(case.adc, back) == []
    np.testing.assert_array_equal(back.array, result.mask)


def test_cli_segment_and_evaluate(trained, dataset, tmp_path, capsys):
    out, _ = trained
    adc, zadc, _ = write_case(tmp_path / "in", seed=4)
    assert main(["hie", "segment", str(adc), "--zadc", str(zadc), "--model", str(out), "--out", str(tmp_path / "s")]) == 0
    assert {p.name for p in (tmp_path / "s").iterdir()} == {"lesion_mask.mha", "montage.png", "result.json"}
    assert main(["hie", "segment", str(adc), "--model", str(out), "--out", str(tmp_path / "s")]) != 0  # refuses to overwrite
    assert "exists and is not empty" in capsys.readouterr().err
    assert main(["hie", "evaluate", "--data", str(dataset), "--model", str(out), "--out", str(tmp_path / "e")]) == 0
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert 0.0 <= metrics["dice"] <= 1.0 and metrics["n_patients"] == 4
    assert (tmp_path / "e" / "cases.csv").read_text().count("\n") == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hie", "segment", "MISSING.mha", "--out", "o"], "no such file"),
        (["hie", "train", "--data", ".", "--out", "o", "--model-kind", "vnet"], "unknown model 'vnet'"),
        (["hie", "train", "--data", ".", "--out", "o", "--loss", "l2"], "unknown loss"),
        (["hie", "train", "--data", ".", "--out", "o", "--patch", "16"], "--patch"),
        (["hie", "train", "--data", ".", "--out", "o", "--loss-region", "edge"], "unknown loss region 'edge'"),
        (["hie", "train", "--data", ".", "--out", "o", "--loss-region", "zlow", "--loss", "dice"], "zlow loss region needs"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    code = main(args)
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err


def test_broken_model_folder_is_a_clear_error(trained, tmp_path):
    out, _ = trained
    broken = tmp_path / "m"
    broken.mkdir()
    (broken / "config.json").write_text((out / "config.json").read_text())
    (broken / "fold_0.pt").write_bytes(b"not weights")
    with pytest.raises(InputFileError, match="cannot load the weights"):
        load_model(broken)
    with pytest.raises(InputFileError, match="not a neocus HIE model folder"):
        load_model(tmp_path)


def test_each_network_and_loss_runs_one_step():
    torch.set_num_threads(1)
    for cfg in (TINY, ModelConfig(model="dynunet25d", features=(4, 8, 16, 32), patch=(16, 16)), ModelConfig(model="unet3d", features=(4, 8, 16), patch=(4, 16, 16))):
        net = build_network(cfg)
        x = torch.randn(2, cfg.in_channels, *cfg.patch)
        y = torch.zeros(2, 1, *cfg.patch, dtype=torch.long)
        y[:, :, ..., 4:8, 4:8] = 1
        out = net(x)
        assert out.shape[-len(cfg.patch) :] == cfg.patch
        for loss in ("dice", "ce", "dicece", "dicefocal", "tversky"):
            value = build_loss(loss)(out if out.dim() == x.dim() else out[:, 0], y)
            assert torch.isfinite(value)


def test_out_of_fold_rejudging_with_and_without_zadc(trained, dataset):
    from neocus.hie.evaluate import evaluate_out_of_fold

    out, result = trained
    with_z = evaluate_out_of_fold(out, dataset, use_zadc=True)
    alone = evaluate_out_of_fold(out, dataset, use_zadc=False)
    assert with_z.n_patients == alone.n_patients == 4
    assert [c.case_id for c in with_z.cases] == [f"MGHNICU_{i}" for i in range(100, 104)]
    assert with_z.dice.mean == pytest.approx(result.dice, abs=0.15)  # same models, brain-masked and float32 maps here


def test_training_refuses_a_dataset_without_any_lesion(tmp_path):
    from neocus.errors import DatasetError

    root = write_bonbid_dataset(tmp_path / "ds", n=2, empty=(0, 1))
    with pytest.raises(DatasetError, match="no case has any lesion voxel"):
        load_samples(root, TINY)


def test_warm_start_continues_each_fold_from_the_earlier_run(trained, dataset, tmp_path):
    from neocus.errors import DatasetError
    from neocus.hie.train import _init_paths

    torch.set_num_threads(1)
    out, _ = trained
    folds = json.loads((out / "folds.json").read_text())["folds"]
    # fold k starts from fold k's full-precision checkpoint: with no step taken, its weights are those
    net, _ = train_fold([], [], tmp_path / "zero", config=TINY, options=TrainOptions(epochs=0), seed=1, init_weights=_init_paths(out, folds)[1])
    earlier = torch.load(out / "fold_1" / "checkpoint.pt", weights_only=False)["model"]
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, earlier[k], msg=k)
    warm = cross_validate(dataset, tmp_path / "warm", config=TINY, options=TrainOptions(folds=2, epochs=1, steps_per_epoch=1, batch_size=2, init_from=out), seed=0)
    assert json.loads((tmp_path / "warm" / "folds.json").read_text())["folds"] == folds
    assert np.isfinite(warm.dice)
    # new draws: the warm run's augmentation seed continues after the earlier run's epochs
    assert torch.load(tmp_path / "warm" / "fold_0" / "checkpoint.pt", weights_only=False)["draw_offset"] == 2
    with pytest.raises(DatasetError, match="holds out other patients"):
        _init_paths(out, [folds[0][:1] + folds[1], folds[0][1:]])
    with pytest.raises(DatasetError, match="cannot start from these weights"):
        train_fold([], [], tmp_path / "other", config=ModelConfig(features=(4, 8, 32), patch=(16, 16)), options=TrainOptions(epochs=0), seed=1, init_weights=_init_paths(out, folds)[0])


def test_flip_tta_is_the_mean_of_the_plain_and_the_mirrored_prediction(trained, dataset):
    import dataclasses

    from neocus.hie.infer import predict_proba

    out, _ = trained
    model = load_model(out)
    image = load_samples(dataset, TINY)[0].image
    flipped = np.ascontiguousarray(image[..., ::-1])
    plain = predict_proba(model.networks, image, model.config)
    mirrored = predict_proba(model.networks, flipped, model.config)[..., ::-1]
    tta = dataclasses.replace(model.config, tta_flip=True)
    np.testing.assert_allclose(predict_proba(model.networks, image, tta), 0.5 * (plain + mirrored), atol=1e-5)
    np.testing.assert_allclose(predict_proba(model.networks, flipped, tta)[..., ::-1], predict_proba(model.networks, image, tta), atol=1e-5)
    assert ModelConfig.from_json(tta.to_json()).tta_flip is True
