"""Inference: fold ensembling, TTA, the rule's trace in the output, and clear errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from diagnosis_testdata import make_bundle, synthetic_case, write_view_pngs

from neocus.cli import main
from neocus.diagnose import diagnose, load_bundle
from neocus.diagnose.infer import diagnose_case, ensemble_probs, load_case_images
from neocus.errors import InputFileError, NeocusError
from neocus.vocab import Decision, View


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def bundle(bundle_dir):
    return load_bundle(bundle_dir)


def test_fold_ensemble_is_the_mean_of_the_folds(bundle):
    case = synthetic_case(1, severe=True)
    both, img_both, grade_both = ensemble_probs(bundle, case, tta="none")
    singles = [ensemble_probs(bundle.select_folds([f]), case, tta="none") for f in (0, 1)]
    assert both == pytest.approx(np.mean([s[0] for s in singles]))
    assert np.allclose(img_both[View.TVV], np.mean([s[1][View.TVV] for s in singles], axis=0))
    assert np.allclose(grade_both, np.mean([s[2] for s in singles], axis=0))
    assert singles[0][0] != pytest.approx(singles[1][0])


def test_flip_tta_averages_the_mirrored_case(bundle):
    from neocus.diagnose.augment import mirror_case
    from neocus.diagnose.data import CaseExample

    one = bundle.select_folds([0])
    case = synthetic_case(2, severe=False)
    plain, img_plain, _ = ensemble_probs(one, case, tta="none")
    mirrored, img_mirror, _ = ensemble_probs(one, CaseExample("m", mirror_case(case.views)), tta="none")
    tta, img_tta, _ = ensemble_probs(one, case, tta="flip")
    assert tta == pytest.approx((plain + mirrored) / 2, abs=1e-6)
    # the mirrored case's LPSV is the original RPSV: TTA maps it back before averaging
    assert np.allclose(img_tta[View.RPSV], (img_plain[View.RPSV] + img_mirror[View.LPSV]) / 2, atol=1e-6)


def test_diagnosis_carries_the_rule_trace(bundle):
    d = diagnose_case(bundle, synthetic_case(3, severe=True))
    assert d.decision in (Decision.SEVERE, Decision.NON_SEVERE)
    assert d.trace.decision is d.decision and d.trace.n_views == 6
    assert d.folds == (0, 1) and d.tta == "flip"
    assert set(d.image_probs) == {v.value for v in View}
    assert sum(d.grade_probs) == pytest.approx(1.0)
    four = synthetic_case(4, severe=True, views=(View.AHV, View.TVV, View.BV))
    assert diagnose_case(bundle, four).decision is Decision.UNSUITABLE


def test_api_reads_a_case_folder_and_ncls_names(bundle, tmp_path):
    case = synthetic_case(5, severe=False)
    folder = write_view_pngs(tmp_path / "c1" / "views", case)
    assert diagnose([tmp_path / "c1"], bundle=bundle).trace.n_views == 6
    import shutil

    shutil.copy(folder / "AHV.png", tmp_path / "COR1.png")
    shutil.copy(folder / "MSV.png", tmp_path / "SAG1.png")
    _, views = load_case_images([tmp_path / "COR1.png", tmp_path / "SAG1.png"], size_hw=(32, 32))
    assert set(views) == {View.AHV, View.MSV}


def test_unreadable_view_image(tmp_path):
    bad = tmp_path / "TVV.png"
    bad.write_bytes(b"\x89PNG broken")
    with pytest.raises(InputFileError, match="cannot decode"):
        load_case_images([bad], size_hw=(32, 32))


def test_wrong_view_name(tmp_path):
    write_view_pngs(tmp_path, synthetic_case(6, severe=False, views=(View.AHV,)))
    (tmp_path / "AHV.png").rename(tmp_path / "coronal_front.png")
    with pytest.raises(InputFileError, match="not a standard view name"):
        load_case_images([tmp_path / "coronal_front.png"], size_hw=(32, 32))


def test_model_file_that_does_not_match_the_config(tmp_path, bundle_dir):
    import shutil

    shutil.copytree(bundle_dir, tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    cfg["model"]["backbone"] = "femto"
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputFileError, match="does not match the config"):
        load_bundle(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(json.dumps({**cfg, "model": {**cfg["model"], "backbone": "atto", "depth": 3}}))
    with pytest.raises(InputFileError, match="unknown field model.depth"):
        load_bundle(tmp_path / "m")
    with pytest.raises(NeocusError, match="no fold 7"):
        load_bundle(bundle_dir).select_folds([7])


def test_cli_diagnose_and_errors(bundle_dir, tmp_path, capsys):
    torch.set_num_threads(1)
    case_dir = write_view_pngs(tmp_path / "case7", synthetic_case(7, severe=True))
    out = tmp_path / "out"
    assert main(["diagnose", str(case_dir), "--model", str(bundle_dir), "--out", str(out), "--heatmap", "grad-cam"]) == 0
    doc = json.loads((out / "diagnosis.json").read_text())
    assert doc["trace"]["decision"] == doc["decision"] and len(doc["heatmaps"]) == 6
    assert all((out / h["file"]).is_file() for h in doc["heatmaps"].values())
    capsys.readouterr()
    assert main(["diagnose", str(case_dir), "--model", str(bundle_dir), "--out", str(out)]) != 0  # exists
    assert main(["diagnose", str(case_dir), "--model", str(tmp_path / "nomodel"), "--out", str(tmp_path / "o2")]) != 0
    assert main(["diagnose", str(case_dir), "--model", str(bundle_dir), "--out", str(tmp_path / "o4"), "--tta", "rotate"]) != 0
    (case_dir / "XYZ.png").write_bytes((case_dir / "TVV.png").read_bytes())
    assert main(["diagnose", str(case_dir), "--model", str(bundle_dir), "--out", str(tmp_path / "o3")]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no diagnosis model here" in err and "'XYZ' is not a standard view name" in err and "unknown tta 'rotate'" in err


def test_onnx_export_matches_torch(bundle, tmp_path):
    import warnings

    from neocus.diagnose.data import collate
    from neocus.diagnose.onnx_export import OnnxDiagnosis, export_onnx

    model = bundle.models[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = export_onnx(model, tmp_path / "fold0.onnx")
    assert not model.training
    b = collate([synthetic_case(8, severe=True).views, synthetic_case(9, severe=False, views=(View.AHV, View.BV, View.MSV, View.LPSV)).views])
    got = OnnxDiagnosis(path, threads=1).run(b.images.numpy(), b.views.numpy(), b.present.numpy(), b.metadata.numpy())
    with torch.no_grad():
        ref = model(b.images, b.views, b.present, b.metadata)
    assert np.allclose(got["severe_prob"], ref.severe_prob().numpy(), atol=1e-5)
    assert np.allclose(got["grade_probs"], ref.grade_probs().numpy(), atol=1e-5)
    assert np.allclose(got["image_probs"], torch.sigmoid(ref.image_logits).numpy(), atol=1e-5)
