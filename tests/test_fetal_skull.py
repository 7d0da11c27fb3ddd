"""Skull model: letterbox geometry, split by file number, model folder round trip and corrupt files, the
head mask from a probability map, a short training run whose loss falls, resume, and evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fetal_testdata import bright_model, make_hc18_folder
from neocus.errors import InputFileError, NeocusError
from neocus.fetal.hc18 import read_hc18
from neocus.fetal.skull_model import (
    SkullModelConfig,
    build_network,
    letterbox,
    load_skull_model,
    mask_input,
    network_input,
    predict_skull_probability,
    save_skull_model,
    skull_mask_from_probability,
)
from neocus.fetal.skull_train import SkullTrainOptions, split_by_number, train_skull

TINY = SkullModelConfig(net="basicunet", features=(4, 4, 8, 8, 16, 4), input_shape_hw=(48, 64))


def test_letterbox_keeps_aspect_and_centres():
    box = letterbox((540, 800), input_shape_hw=(176, 256))
    assert box.scale == pytest.approx(0.32)
    assert box.resized_shape_hw == (173, 256)
    assert box.offset_xy == (0, 1)
    tall = letterbox((400, 100), input_shape_hw=(176, 256))
    assert tall.resized_shape_hw == (176, 44) and tall.offset_xy == ((256 - 44) // 2, 0)


def test_network_input_is_standardised_and_mask_follows_the_image():
    img = np.zeros((540, 800), np.uint8)
    img[100:300, 200:500] = 200
    x, box = network_input(img, input_shape_hw=(176, 256))
    assert x.shape == (176, 256) and x.dtype == np.float32
    assert abs(float(x.mean())) < 1e-4 and float(x.std()) == pytest.approx(1.0, abs=1e-3)
    m = mask_input(img > 0, box)
    ys, xs = np.nonzero(m)
    assert xs.min() == pytest.approx(200 * 0.32, abs=1.5) and ys.min() == pytest.approx(100 * 0.32 + 1, abs=1.5)
    assert (x[m] > 0).all()


def test_config_refuses_bad_sizes_and_widths():
    with pytest.raises(NeocusError, match="multiples of 16"):
        SkullModelConfig(input_shape_hw=(170, 256))
    with pytest.raises(NeocusError, match="feature widths"):
        SkullModelConfig(net="basicunet", features=(8, 16, 32))
    with pytest.raises(NeocusError, match="net"):
        SkullModelConfig(net="resnet")


@pytest.mark.parametrize("config", [TINY, SkullModelConfig(net="attentionunet", features=(4, 8, 16), input_shape_hw=(48, 64))])
def test_networks_give_two_channels_at_input_size(config):
    out = build_network(config)(torch.zeros(2, 1, *config.input_shape_hw))
    assert tuple(out.shape) == (2, 2, *config.input_shape_hw)


def test_split_by_number_is_disjoint_seeded_and_covers_all(tmp_path):
    items = read_hc18(make_hc18_folder(tmp_path / "d", n=10)).items
    s = split_by_number(items, test_fraction=0.2, validation_fraction=0.1, seed=3)
    assert len(s.test) == 2 and len(s.validation) == 1 and len(s.train) == 7
    assert set(s.train) | set(s.validation) | set(s.test) == {it.name for it in items}
    assert not (set(s.train) & set(s.test)) and not (set(s.validation) & set(s.test))
    assert split_by_number(items, test_fraction=0.2, validation_fraction=0.1, seed=3) == s
    assert split_by_number(items, test_fraction=0.2, validation_fraction=0.1, seed=4).test != s.test


def test_model_folder_round_trip_and_bad_files(tmp_path):
    net = build_network(TINY)
    save_skull_model(net, TINY, tmp_path / "m")
    model = load_skull_model(tmp_path / "m")
    assert model.config == TINY
    x = torch.randn(1, 1, 48, 64)
    with torch.inference_mode():
        assert torch.allclose(model.network(x), net.eval()(x), atol=0.05)  # float16 weights
    (tmp_path / "m" / "weights.pt").write_bytes(b"not a torch file")
    with pytest.raises(InputFileError, match="cannot be loaded"):
        load_skull_model(tmp_path / "m")
    (tmp_path / "m" / "config.json").unlink()
    with pytest.raises(InputFileError, match="missing"):
        load_skull_model(tmp_path / "m")


def test_mask_from_probability_keeps_largest_region_with_holes_filled():
    prob = np.zeros((60, 80), np.float32)
    prob[10:40, 10:50] = 0.9
    prob[20:25, 20:25] = 0.1  # hole
    prob[50:55, 70:75] = 0.95  # small second region
    mask = skull_mask_from_probability(prob)
    assert mask[22, 22] and not mask[52, 72] and mask.sum() == 30 * 40
    assert not skull_mask_from_probability(np.zeros((10, 10), np.float32)).any()


def test_evaluation_of_an_exact_model_gives_small_errors(tmp_path):
    from neocus.fetal.skull_eval import evaluate_hc18, write_evaluation

    root = make_hc18_folder(tmp_path / "d", n=4, shape_hw=(240, 352))
    result = evaluate_hc18(root, bright_model((240, 352)))
    assert result.n_images == 4 and result.n_failed == 0 and result.n_failing_head_check == 0
    assert result.hc_mae_mm < 1.0 and result.hc_mae_passing_head_check_mm == pytest.approx(result.hc_mae_mm) and result.skull_dice > 0.98 and result.hausdorff_mm < 1.0
    out = write_evaluation(result, tmp_path / "ev")
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"hc_mae_mm", "hc_mean_difference_mm", "skull_dice", "hausdorff_mm"} <= set(metrics)
    assert len((out / "images.csv").read_text().splitlines()) == 5
    with pytest.raises(NeocusError, match="not empty"):
        write_evaluation(result, tmp_path / "ev")


def test_short_training_loss_falls_and_resumes(tmp_path):
    torch.set_num_threads(1)
    root = make_hc18_folder(tmp_path / "d", n=12)
    out = tmp_path / "run"
    first = train_skull(root, out, config=TINY, options=SkullTrainOptions(epochs=2, batch_size=4, lr=1e-2), seed=1)
    assert first.epochs_done == 2 and first.resumed_from_epoch == 0
    split = json.loads((out / "split.json").read_text())
    assert len(split["split"]["test"]) == 2
    # Another network in the same folder is another training: refused, the folder is left as it was.
    with pytest.raises(NeocusError, match="another"):
        train_skull(root, out, config=SkullModelConfig(net="basicunet", features=(4, 4, 8, 8, 16, 8), input_shape_hw=(48, 64)),
                    options=SkullTrainOptions(epochs=2, batch_size=4, lr=1e-2), seed=1)
    again = train_skull(root, out, config=TINY, options=SkullTrainOptions(epochs=2, batch_size=4, lr=1e-2), seed=1)
    assert again.epochs_done == 0 and again.resumed_from_epoch == 2
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    longer = train_skull(root, tmp_path / "run6", config=TINY, options=SkullTrainOptions(epochs=6, batch_size=4, lr=1e-2), seed=1)
    assert longer.losses[-1] < longer.losses[0]
    model = load_skull_model(tmp_path / "run6")
    prob = predict_skull_probability(np.zeros((120, 176), np.uint8), model)
    assert prob.shape == (120, 176)


def test_cli_train_resumes_and_refuses_a_foreign_folder(tmp_path, capsys):
    from neocus.cli import main

    torch.set_num_threads(1)
    root = make_hc18_folder(tmp_path / "d", n=10)
    args = ["fetal", "train", "skull", "--data", str(root), "--out", str(tmp_path / "run"), "--epochs", "1", "--batch", "4"]
    assert main(args) == 0
    assert {"config.json", "weights.pt", "split.json", "metrics.jsonl", "checkpoint.pt"} <= {p.name for p in (tmp_path / "run").iterdir()}
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr()
    assert "resuming" in out.err and "0 epochs" in out.out
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert main([*args[:6], str(tmp_path / "other"), *args[7:]]) != 0
    assert "not a neocus skull training" in capsys.readouterr().err
    assert main([*args, "--net", "resnet"]) != 0
    assert "resnet" in capsys.readouterr().err


def test_head_measurements_take_the_model_edge_offset_off_in_image_pixels():
    from neocus.fetal.ellipse import Ellipse, ramanujan_perimeter
    from neocus.fetal.skull_model import head_measurements, network_identity

    e = Ellipse((400.0, 270.0), 200.0, 150.0, 20.0, 0.0)
    yy, xx = np.mgrid[0:540, 0:800].astype(np.float64)
    t = np.deg2rad(20.0)
    u, v = (xx - 400) * np.cos(t) + (yy - 270) * np.sin(t), -(xx - 400) * np.sin(t) + (yy - 270) * np.cos(t)
    prob = (1.0 / (1.0 + np.exp((np.sqrt((u / 200) ** 2 + (v / 150) ** 2) - 1.0) * 60.0))).astype(np.float32)
    config = SkullModelConfig(edge_offset_input_px=0.64)  # letterbox scale 0.32 at 540x800: 2 image pixels
    m = head_measurements(prob, prob > 0.5, config, pixel_mm=0.1)
    assert m.edge_offset_px == pytest.approx(2.0)
    assert m.ellipses.outer.semi_major_px == pytest.approx(e.semi_major_px, abs=0.05)
    assert m.hc_mm == pytest.approx(ramanujan_perimeter(198.0, 148.0) * 0.1, abs=0.01)
    assert network_identity(config) == SkullModelConfig()
    with pytest.raises(NeocusError, match="edge offset"):
        SkullModelConfig(edge_offset_input_px=float("nan"))


def test_annotation_edge_offset_of_drawn_masks_is_their_iso_line(tmp_path):
    from neocus.fetal.skull_train import annotation_edge_offset

    items = read_hc18(make_hc18_folder(tmp_path / "d", n=4, shape_hw=(240, 352))).items
    scale = letterbox((240, 352), input_shape_hw=(176, 256)).scale
    # the CSV gives the drawn ellipse itself; the masks' iso-line runs about half a pixel outside it
    assert annotation_edge_offset(items, input_shape_hw=(176, 256)) / scale == pytest.approx(0.5, abs=0.3)


def test_training_records_the_annotation_offset_and_warm_starts(tmp_path):
    from neocus.fetal.skull_model import read_model_folder

    root = make_hc18_folder(tmp_path / "d", n=10)
    init = tmp_path / "init"
    torch.manual_seed(5)
    save_skull_model(build_network(TINY), TINY, init)
    opts = SkullTrainOptions(epochs=1, batch_size=4, lr=1e-12, init_dir=init)
    train_skull(root, tmp_path / "warm", config=TINY, options=opts, seed=1)
    cfg, warm = read_model_folder(tmp_path / "warm")
    assert cfg.edge_offset_input_px > 0  # recorded from the training masks
    _, start = read_model_folder(init)
    for k, v in start.state_dict().items():  # lr ~ 0: the weights are still the initial ones
        assert torch.allclose(warm.state_dict()[k], v, atol=1e-3), k
    with pytest.raises(NeocusError, match="phantom images or warm start"):
        train_skull(root, tmp_path / "warm", config=TINY, options=SkullTrainOptions(epochs=1, batch_size=4), seed=1)
    other = SkullModelConfig(net="basicunet", features=(8, 4, 8, 8, 16, 4), input_shape_hw=(48, 64))
    save_skull_model(build_network(other), other, tmp_path / "wide")
    with pytest.raises(NeocusError, match="same network"):
        train_skull(root, tmp_path / "bad", config=TINY, options=SkullTrainOptions(epochs=1, batch_size=4, init_dir=tmp_path / "wide"), seed=1)
    with pytest.raises(InputFileError):
        train_skull(root, tmp_path / "bad2", config=TINY, options=SkullTrainOptions(epochs=1, batch_size=4, init_dir=tmp_path / "none"), seed=1)
    # a larger input of the same network starts from the same weights (fully convolutional), with its own offset
    larger = SkullModelConfig(net="basicunet", features=TINY.features, input_shape_hw=(64, 96))
    train_skull(root, tmp_path / "big", config=larger, options=opts, seed=1)
    big_cfg, big = read_model_folder(tmp_path / "big")
    assert big_cfg.input_shape_hw == (64, 96)
    ratio = letterbox((120, 176), input_shape_hw=(64, 96)).scale / letterbox((120, 176), input_shape_hw=TINY.input_shape_hw).scale
    assert big_cfg.edge_offset_input_px == pytest.approx(cfg.edge_offset_input_px * ratio, rel=0.15)
    for k, v in start.state_dict().items():
        assert torch.allclose(big.state_dict()[k], v, atol=1e-3), k


def test_phantom_training_renders_once_and_resumes(tmp_path, monkeypatch):
    import neocus.fetal.skull_phantom as sp

    root = make_hc18_folder(tmp_path / "d", n=10)
    opts = SkullTrainOptions(epochs=1, batch_size=4, lr=1e-2, phantom_images=8)
    first = train_skull(root, tmp_path / "pre", config=TINY, options=opts, seed=2)
    assert first.epochs_done == 1 and (tmp_path / "pre" / "phantom_pool.npz").is_file() and np.isfinite(first.losses).all()
    assert json.loads((tmp_path / "pre" / "config.json").read_text())["edge_offset_input_px"] == 0.0
    monkeypatch.setattr(sp, "render_skull_pool", lambda *a, **k: pytest.fail("the pool is rendered again"))
    longer = SkullTrainOptions(epochs=2, batch_size=4, lr=1e-2, phantom_images=8)
    assert train_skull(root, tmp_path / "pre", config=TINY, options=longer, seed=2).resumed_from_epoch == 1
    with pytest.raises(NeocusError, match="phantom images"):
        train_skull(root, tmp_path / "pre", config=TINY, options=SkullTrainOptions(epochs=2, batch_size=4, phantom_images=12), seed=2)
    with pytest.raises(NeocusError, match="phantom images"):
        SkullTrainOptions(batch_size=8, phantom_images=3)


def test_cli_train_phantom_and_init_errors_are_one_line(tmp_path, capsys):
    from neocus.cli import main

    root = make_hc18_folder(tmp_path / "d", n=10)
    base = ["fetal", "train", "skull", "--data", str(root), "--epochs", "1", "--batch", "4"]
    assert main([*base, "--out", str(tmp_path / "a"), "--phantom", "2"]) != 0
    err = capsys.readouterr().err
    assert "phantom images" in err and "Traceback" not in err
    assert main([*base, "--out", str(tmp_path / "b"), "--init", str(tmp_path / "nowhere")]) != 0
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err
    for bad in ("224by320", "200x320"):
        assert main([*base, "--out", str(tmp_path / "c"), "--input-hw", bad]) != 0
        err = capsys.readouterr().err
        assert "input" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
