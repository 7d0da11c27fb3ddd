"""Clear one-line errors: unknown config, dataset without annotations, missing / corrupt model file."""

import pytest

from neocus.cli import main
from neocus.data import CaseRecord, DatasetRecord, Provenance, write_case, write_dataset_json
from neocus.detect.checkpoint import bundled_model_dirs
from neocus.detect.config import config_from_dict, load_config
from neocus.errors import NeocusError
from neocus.vocab import Plane


def _run(capsys, *args):
    rc = main(list(args))
    err = capsys.readouterr().err
    return rc, err


def test_unknown_config(tmp_path, capsys):
    rc, err = _run(capsys, "train", "detector", "--config", "huge", "--out", str(tmp_path / "o"))
    assert rc != 0 and "unknown detector config 'huge'" in err and "default" in err and "Traceback" not in err
    with pytest.raises(NeocusError, match="unknown field"):
        config_from_dict({"model": {"layers": 3}})
    with pytest.raises(NeocusError, match="multiple of 32"):
        config_from_dict({"model": {"input_size": 100}})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(NeocusError, match="not a readable JSON"):
        load_config(bad)


def test_bundled_configs_load():
    assert load_config("paper").model.backbone == "resnet50d" and load_config("paper").model.input_size == 640
    assert load_config("default").model.input_size <= 320


def test_dataset_without_annotations(tmp_path, capsys):
    ds = tmp_path / "ds"
    write_dataset_json(ds, DatasetRecord(name="x", provenance=Provenance(generator="test")))
    folder = write_case(ds, CaseRecord(case_id="c1", sweeps={"cor.png": Plane.CORONAL}))
    (folder / "cor.png").write_bytes(b"")
    rc, err = _run(capsys, "train", "detector", "--data", str(ds), "--config", "tiny", "--out", str(tmp_path / "o"), "--steps", "1")
    assert rc != 0 and "no frame has box annotations" in err and "Traceback" not in err


def test_missing_and_corrupt_model(tmp_path, capsys):
    rc, err = _run(capsys, "evaluate", "detector", "--model", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "e"))
    assert rc != 0 and "no such model file" in err
    (tmp_path / "bad.pt").write_text("corrupt")
    rc, err = _run(capsys, "export", "detector", "--model", str(tmp_path / "bad.pt"), "--out", str(tmp_path / "d.onnx"))
    assert rc != 0 and "cannot read the model file" in err and "Traceback" not in err
    bundled = [d for d in bundled_model_dirs() if (d / "default.pt").is_file()]
    if not bundled:  # a checkout without the weights: the default must say so, not crash
        rc, err = _run(capsys, "evaluate", "detector", "--out", str(tmp_path / "e2"))
        assert rc != 0 and "no bundled detector model" in err


def test_the_bundled_default_model_loads_without_a_path():
    import numpy as np

    from neocus.detect import Detector

    if not any((d / "default.pt").is_file() for d in bundled_model_dirs()):
        pytest.skip("no bundled detector weights in this checkout")
    det = Detector()
    assert det.config == load_config("default") and det.info.get("stored") == "float16"
    assert all(p.dtype.is_floating_point and p.dtype.itemsize == 4 for p in det.model.parameters())
    (frame,) = det.detect_frames(np.zeros((200, 260), np.uint8))
    assert frame.frame == 0


def test_output_folder_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    rc, err = _run(capsys, "train", "detector", "--config", "tiny", "--out", str(out), "--steps", "1")
    assert rc != 0 and "not empty" in err
    rc, err = _run(capsys, "train", "detector", "--config", "tiny", "--out", str(out), "--steps", "1", "--force")
    assert rc != 0 and "not a neocus output" in err and (out / "precious.txt").exists()
