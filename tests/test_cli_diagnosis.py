"""``neocus train diagnosis`` and ``neocus evaluate diagnosis`` end to end on a tiny dataset on disk."""

from __future__ import annotations

import json

import cv2
import pytest
import torch
from diagnosis_testdata import synthetic_cases, write_view_pngs
from io_testdata import NCLS_EXAMPLES as REAL

from neocus.cli import main
from neocus.data.dataset import case_dir, write_case, write_dataset_json
from neocus.data.schema import CaseLabels, CaseMetadata, CaseRecord, DatasetRecord, Provenance




@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    write_dataset_json(root, DatasetRecord(name="syn", provenance=Provenance(generator="tests")))
    for c in synthetic_cases(8):
        labels = CaseLabels.derive(c.grade, findings={v: sorted(vi.findings) for v, vi in c.views.items()})
        write_case(root, CaseRecord(case_id=c.case_id, sweeps={}, metadata=CaseMetadata(subject=c.group, ga_weeks=30.0), labels=labels))
        write_view_pngs(case_dir(root, c.case_id) / "views", c)
        if c.case_id != "syn0":  # phantom-dataset lesion masks (docs/phantom.md), absent for one case
            (case_dir(root, c.case_id) / "masks").mkdir()
            for v, vi in c.views.items():
                cv2.imwrite(str(case_dir(root, c.case_id) / "masks" / f"{v.value}_lesion.png"), vi.target_mask.astype("uint8"))
    return root


def test_train_then_evaluate(dataset, tmp_path, capsys):
    torch.set_num_threads(1)
    model = tmp_path / "model"
    args = ["train", "diagnosis", "--data", str(dataset), "--out", str(model), "--folds", "2", "--epochs", "1",
            "--batch-size", "4", "--image-size", "32", "--regmixup-alpha", "0", "--calibration", "isotonic"]
    assert main(args) == 0
    assert {"config.json", "fold0.pt", "fold1.pt", "calibration.json", "oof.csv", "folds.json"} <= {p.name for p in model.iterdir()}
    assert (model / "fold0" / "metrics.jsonl").is_file()
    assert main(args) != 0  # refuses to overwrite without --force
    assert "not empty" in capsys.readouterr().err
    out = tmp_path / "eval"
    assert main(["evaluate", "diagnosis", "--data", str(dataset), "--model", str(model), "--out", str(out), "--heatmap", "grad-cam"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    for key in ("auc", "sensitivity", "specificity", "papile_exact", "papile_kappa_quadratic", "heatmap_hit_rate", "ece"):
        assert key in m
    assert m["n_cases"] == 8 and m["n_severe"] == 4 and len(m["sensitivity"]["ci"]) == 2
    assert m["heatmap_hits"]["cases"] == 3  # severe cases with lesion masks (syn0 has none)
    assert 0.0 <= m["heatmap_hit_rate"] <= 1.0
    assert (out / "report" / "table2.csv").is_file() and (out / "reliability.png").is_file()
    assert (out / "predictions.csv").read_text().count("\n") == 9


def test_bad_sources(tmp_path, capsys):
    assert main(["train", "diagnosis", "--out", str(tmp_path / "m")]) != 0
    assert main(["train", "diagnosis", "--phantom", "nowhere", "--out", str(tmp_path / "m2"), "--cases", "1"]) != 0
    assert main(["evaluate", "diagnosis", "--phantom", "internal", "--model", str(tmp_path / "none"), "--out", str(tmp_path / "e")]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "either --data" in err and "unknown phantom preset" in err and "no diagnosis model" in err


@pytest.mark.real_data
def test_real_ncls_stills_load_with_roi():
    folder = REAL / "20221223027"
    if not folder.is_dir():
        pytest.skip("../shared/data/real/ncls-examples is absent")
    from neocus.diagnose.infer import load_case_images

    case_id, views = load_case_images([folder], size_hw=(96, 96), roi=True)
    assert case_id == "20221223027" and len(views) == 6
    for vi in views.values():
        assert vi.image.shape == (96, 96) and vi.image[:4, :4].max() == 0  # letterboxed corners are blank
