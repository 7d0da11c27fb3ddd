"""Fetal plane recognition on real images: reading the fetal-brain layout, the patient-grouped stratified
folds (no patient in two folds), a short training on real-like images whose loss falls and resumes,
initialisation from another model, out-of-fold figures, the logistic baselines, and the CLI."""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

from neocus.cli import main
from neocus.errors import InputFileError, NeocusError
from neocus.fetal.plane_cv import network_features, out_of_fold_logistic, summarise_planes, thumbnail_features
from neocus.fetal.plane_data import PLANES
from neocus.fetal.plane_model import PlaneModel, PlaneModelConfig, build_plane_net, load_plane_model, save_plane_model
from neocus.fetal.plane_real import RealTrainOptions, augment_real, patient_stratified_folds, read_real_planes, train_plane_real
from neocus.vocab import FPDB_BRAIN_PLANE

TINY = PlaneModelConfig(input_side=32, channels=(4, 8), dropout=0.0)
FPDB = {v: k for k, v in FPDB_BRAIN_PLANE.items()}


def _plane_image(k: int, rng: np.random.Generator, side: int = 80) -> np.ndarray:
    """A head-like ring whose inside tells the plane, whatever the flips: empty, a disc, a ring or a cross."""
    img = np.clip(rng.normal(30, 10, (side, side)), 0, 255).astype(np.uint8)
    c = side // 2
    cv2.circle(img, (c, c), side // 3, 200, 3)
    if k == 1:
        cv2.circle(img, (c, c), side // 8, 255, -1)
    elif k == 2:
        cv2.circle(img, (c, c), side // 6, 255, 3)
    elif k == 3:
        cv2.line(img, (c - side // 5, c), (c + side // 5, c), 255, 4)
        cv2.line(img, (c, c - side // 5), (c, c + side // 5), 255, 4)
    return img


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A fetal-brain-like folder: 10 patients, 2-3 images each, every plane, plus one abnormal image without a plane."""
    root = tmp_path_factory.mktemp("fetal-brain")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(28):
        k = i % 4
        name = f"images/Patient{i // 3:05d}_Plane3_{i}.jpg"
        cv2.imwrite(str(root / name), _plane_image(k, rng))
        rows.append({"file": name, "class": "normal", "case_group": f"Patient{i // 3:05d}", "brain_plane_fpdb": FPDB[PLANES[k]]})
    cv2.imwrite(str(root / "images/abnormal.jpg"), _plane_image(0, rng))
    rows.append({"file": "images/abnormal.jpg", "class": "m-magna", "case_group": "m-magna-1", "brain_plane_fpdb": ""})
    with open(root / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root


def test_read_real_planes_keeps_the_labelled_images(folder):
    data = read_real_planes(folder, side=32)
    assert data.images.shape == (28, 32, 32) and data.images.dtype == np.uint8
    assert data.planes.tolist() == [0, 1, 2, 3] * 7
    assert "images/abnormal.jpg" not in data.files and data.groups[0] == "Patient00000"
    sub = data.subset(np.array([1, 5]))
    assert sub.planes.tolist() == [1, 1] and sub.files == (data.files[1], data.files[5])


def test_read_real_planes_errors(tmp_path, folder):
    with pytest.raises(InputFileError, match="no labels.csv"):
        read_real_planes(tmp_path)
    (tmp_path / "labels.csv").write_text("file,case_group,brain_plane_fpdb\nimages/a.jpg,P1,Sagittal\n")
    with pytest.raises(InputFileError, match="unknown plane 'Sagittal'"):
        read_real_planes(tmp_path)
    (tmp_path / "labels.csv").write_text("file,class\nimages/a.jpg,normal\n")
    with pytest.raises(InputFileError, match="lacks the column"):
        read_real_planes(tmp_path)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_folds_keep_each_patient_in_one_fold_and_spread_the_planes(seed):
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"P{i}" for i in range(20)], 3)
    planes = np.concatenate([rng.permutation([0, 0, 1, 2, 3] * 12)[:60]])
    folds = patient_stratified_folds(planes, groups, n_folds=5, seed=seed)
    assert set(folds.tolist()) == set(range(5))
    for g in set(groups.tolist()):
        assert len(set(folds[groups == g].tolist())) == 1  # no patient crosses folds
    for k in range(4):  # every plane reaches at least 3 of the 5 folds (stratified)
        assert len(set(folds[planes == k].tolist())) >= 3
    assert np.array_equal(folds, patient_stratified_folds(planes, groups, n_folds=5, seed=seed))
    with pytest.raises(NeocusError, match="21 folds for 20 patients"):
        patient_stratified_folds(planes, groups, n_folds=21)


@pytest.mark.real_data
def test_folds_on_the_real_labels_are_patient_disjoint_and_cover_every_plane():
    """The real fetal-brain labels (no image read): 20 patients, every plane in 4 of 5 folds or more."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "fetal" / "fetal-brain" / "labels.csv"
    if not path.is_file():
        pytest.skip(f"real fetal-brain labels not found at {path}")
    with open(path, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["brain_plane_fpdb"]]
    planes = np.array([PLANES.index(FPDB_BRAIN_PLANE[r["brain_plane_fpdb"]]) for r in rows])
    groups = np.array([r["case_group"] for r in rows])
    folds = patient_stratified_folds(planes, groups, n_folds=5, seed=0)
    assert all(len(set(folds[groups == g].tolist())) == 1 for g in set(groups.tolist()))
    assert all(len(set(folds[planes == k].tolist())) >= 4 for k in range(4))


def test_augment_real_is_standardised_seeded_and_random(folder):
    data = read_real_planes(folder, side=32)
    a = augment_real(data.images[:4], heavy=True, rng=np.random.default_rng(1))
    b = augment_real(data.images[:4], heavy=True, rng=np.random.default_rng(1))
    c = augment_real(data.images[:4], rng=np.random.default_rng(2))
    assert a.shape == (4, 1, 32, 32) and np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.allclose(a.mean(axis=(1, 2, 3)), 0, atol=1e-4) and np.allclose(a.std(axis=(1, 2, 3)), 1, atol=1e-3)


def test_short_real_training_loss_falls_resumes_and_starts_from_a_model(folder, tmp_path):
    data = read_real_planes(folder, side=32)
    opts = RealTrainOptions(epochs=12, batch_size=8, lr=1e-2, label_smoothing=0.0)
    out = tmp_path / "run"
    _, first = train_plane_real(data, out, config=TINY, options=RealTrainOptions(**{**opts.__dict__, "epochs": 6}), seed=0)
    assert first.epochs_done == 6 and first.resumed_from_epoch == 0
    model, second = train_plane_real(data, out, config=TINY, options=opts, seed=0)
    assert second.resumed_from_epoch == 6 and second.epochs_done == 12
    losses = [json.loads(x)["loss"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(losses) == 12 and np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    loaded = load_plane_model(out)
    assert loaded.config == TINY
    # from a model: its weights are the start (zero epochs of training leave them as they are)
    start, _ = train_plane_real(data, config=TINY, options=RealTrainOptions(epochs=0), init=out, seed=3)
    for (k, v), w in zip(start.net.state_dict().items(), loaded.net.state_dict().values()):
        assert np.allclose(v.numpy(), w.numpy(), atol=1e-2), k
    with pytest.raises(NeocusError, match="network or input differs"):
        train_plane_real(data, config=PlaneModelConfig(input_side=32, channels=(4,), dropout=0.0), options=opts, init=out)
    with pytest.raises(NeocusError, match="another network"):
        train_plane_real(data, out, config=PlaneModelConfig(input_side=32, channels=(4, 16), dropout=0.0), options=opts)
    with pytest.raises(NeocusError, match="the network reads 48"):
        train_plane_real(data, config=PlaneModelConfig(input_side=48, channels=(4,), dropout=0.0), options=opts)


def test_summary_counts_and_intervals():
    y_true = np.array([0] * 6 + [1] * 2 + [2] * 2 + [3] * 2)
    y_pred = np.array([0] * 5 + [1] + [1, 1] + [2, 0] + [3, 2])
    groups = np.array([f"P{i // 2}" for i in range(12)])
    s = summarise_planes(y_true, y_pred, groups, n_boot=300, rng=np.random.default_rng(0))
    assert s.accuracy.count == 9 and s.accuracy.total == 12
    assert s.balanced_accuracy == pytest.approx((5 / 6 + 1 + 0.5 + 0.5) / 4)
    assert s.recall["trans_thalamic"].count == 5 and s.recall["other"].total == 2
    assert s.confusion[0] == [5, 1, 0, 0] and sum(map(sum, s.confusion)) == 12
    assert s.balanced_accuracy_ci.low <= s.balanced_accuracy <= s.balanced_accuracy_ci.high
    assert s.accuracy.ci.low < 0.75 < s.accuracy.ci.high and s.n_patients == 6


def test_logistic_baselines_out_of_fold(folder):
    data = read_real_planes(folder, side=32)
    folds = patient_stratified_folds(data.planes, data.groups, n_folds=5, seed=0)
    feats = thumbnail_features(data.images)
    assert feats.shape == (28, 16 * 16 + 16)
    prob = out_of_fold_logistic(feats, data.planes, folds)
    assert prob.shape == (28, 4) and np.allclose(prob.sum(1), 1)
    assert (prob.argmax(1) == data.planes).mean() > 0.5  # the inside pattern is learnable from the thumbnails
    model = PlaneModel(net=build_plane_net(TINY).eval(), config=TINY)
    assert network_features(data.images, model).shape == (28, 8)


def test_cli_real_training_with_cross_validation(folder, tmp_path, capsys):
    out = tmp_path / "plane"
    args = ["fetal", "train", "plane", "--real", str(folder), "--out", str(out), "--folds", "3", "--epochs", "2"]
    assert main(args) == 0
    cv = json.loads((out / "cv.json").read_text())
    assert cv["n_images"] == 28 and cv["folds"] == 3 and len(cv["confusion"]) == 4
    assert (out / "weights.pt").is_file() and load_plane_model(out).config.input_side == 96
    capsys.readouterr()
    assert main(["fetal", "train", "plane", "--out", str(tmp_path / "x"), "--folds", "3"]) != 0
    err = capsys.readouterr().err
    assert "--real" in err and "Traceback" not in err
    assert main(["fetal", "train", "plane", "--real", str(tmp_path / "nowhere"), "--out", str(tmp_path / "y")]) != 0
    assert "labels.csv" in capsys.readouterr().err


def test_saved_tiny_model_round_trip(tmp_path):
    model = PlaneModel(net=build_plane_net(TINY).eval(), config=TINY)
    save_plane_model(model, tmp_path)
    assert load_plane_model(tmp_path).config == TINY


def test_logistic_head_is_a_plane_model_matching_the_logistic_regression(folder, tmp_path):
    from neocus.fetal.plane_cv import fit_logistic_head, out_of_fold_head

    data = read_real_planes(folder, side=32)
    base = PlaneModel(net=build_plane_net(TINY).eval(), config=TINY)
    head = fit_logistic_head(data, base)
    for k, v in base.net.state_dict().items():  # the body is frozen, only the last layer changes
        assert np.array_equal(v.numpy(), head.net.state_dict()[k].numpy()) != k.startswith(f"{len(base.net) - 1}.")
    # the folded layer gives the logistic regression's own probabilities on the (flip-averaged) features
    import torch
    from neocus.fetal.plane_cv import _logistic

    feats = network_features(data.images, base)
    clf = _logistic(0.1).fit(feats, data.planes)
    with torch.no_grad():
        prob = torch.softmax(head.net[-1](torch.from_numpy(feats)), 1).numpy()
    assert np.allclose(prob, clf.predict_proba(feats), atol=1e-4)
    save_plane_model(head, tmp_path / "head")
    assert load_plane_model(tmp_path / "head").config == TINY
    folds = patient_stratified_folds(data.planes, data.groups, n_folds=3, seed=0)
    assert out_of_fold_head(data, folds, model=base).shape == (28, 4)
    with pytest.raises(NeocusError, match="of the 4 planes"):
        fit_logistic_head(data.subset(np.flatnonzero(data.planes < 3)), base)


def test_cli_head_only_needs_init_and_writes_a_model(folder, tmp_path, capsys):
    init = tmp_path / "init"
    save_plane_model(PlaneModel(net=build_plane_net(PlaneModelConfig(input_side=32, channels=(4, 8))).eval(),
                                config=PlaneModelConfig(input_side=32, channels=(4, 8))), init)
    out = tmp_path / "head"
    assert main(["fetal", "train", "plane", "--real", str(folder), "--init", str(init), "--head-only", "--folds", "3", "--out", str(out)]) == 0
    cv = json.loads((out / "cv.json").read_text())
    assert cv["head_only"] is True and cv["n_images"] == 28
    assert load_plane_model(out).config.input_side == 32
    capsys.readouterr()
    assert main(["fetal", "train", "plane", "--real", str(folder), "--head-only", "--out", str(tmp_path / "z")]) != 0
    assert "--init" in capsys.readouterr().err
