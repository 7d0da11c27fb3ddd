"""``neocus evaluate-predictions``: end to end on small synthetic files, and user mistakes."""

from __future__ import annotations

import json

import pytest
from stats_eval_data import make_predictions, make_readers, write_csv

from neocus.cli import main
from neocus.errors import NeocusError


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    pred = make_predictions(d / "pred.csv", n=100, seed=3)
    readers = make_readers(d / "readers.csv", pred, groups={"junior": 3}, seed=4)
    return pred, readers


def test_evaluate_with_readers_and_subgroups(inputs, tmp_path, capsys):
    pred, readers = inputs
    out = tmp_path / "report"
    rc = main([
        "evaluate-predictions", str(pred), "--readers", str(readers), "--out", str(out),
        "--youden", "--subgroup", "ga_group", "--subgroup", "probe", "--n-boot", "200",
    ])
    assert rc == 0
    printed = capsys.readouterr()
    assert "wrote 8 files" in printed.out and "junior (with AI)" in printed.out
    data = json.loads((out / "report.json").read_text())
    assert "Youden" in data["model"]["threshold_rule"]
    assert [s["column"] for s in data["subgroups"]] == ["ga_group", "probe"]
    assert len(data["readers"]) == 6


def test_evaluate_predictions_only_with_threshold(inputs, tmp_path, capsys):
    pred, _ = inputs
    out = tmp_path / "r"
    assert main(["evaluate-predictions", str(pred), "--out", str(out), "--threshold", "0.7", "--n-boot", "50"]) == 0
    data = json.loads((out / "report.json").read_text())
    assert data["model"]["threshold"] == 0.7 and data["readers"] == []
    assert sorted(p.name for p in out.iterdir()) == ["conditions.csv", "conditions.png", "report.json", "report.md", "roc.png", "table2.csv"]
    # a second run into the same folder needs --force
    capsys.readouterr()
    assert main(["evaluate-predictions", str(pred), "--out", str(out), "--n-boot", "50"]) != 0
    assert "choose a new folder or pass --force" in capsys.readouterr().err  # the flag, not the parameter
    assert main(["evaluate-predictions", str(pred), "--out", str(out), "--n-boot", "50", "--force"]) == 0
    assert json.loads((out / "report.json").read_text())["model"]["threshold"] == 0.5


def test_bad_csv_is_one_line_error_and_no_output(tmp_path, capsys):
    bad = write_csv(tmp_path / "bad.csv", ["case_id", "label", "score"], [["a", 0, 0.1], ["b", 1, "NaN"]])
    out = tmp_path / "out"
    rc = main(["evaluate-predictions", str(bad), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc != 0
    assert "bad.csv" in err and "line 3" in err and "'score'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_unknown_reader_case_and_conflicting_options(inputs, tmp_path, capsys):
    pred, _ = inputs
    readers = write_csv(tmp_path / "r.csv", ["reader_id", "group", "case_id", "call"], [["R1", "junior", "x999", 1]])
    assert main(["evaluate-predictions", str(pred), "--readers", str(readers), "--out", str(tmp_path / "o")]) != 0
    assert "unknown case id 'x999'" in capsys.readouterr().err
    assert main(["evaluate-predictions", str(pred), "--out", str(tmp_path / "o"), "--threshold", "0.5", "--youden"]) != 0
    assert "exclude each other" in capsys.readouterr().err
    assert main(["evaluate-predictions", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o")]) != 0
    assert "file not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_errors_name_the_flag_not_the_parameter():
    """Library errors name parameters (``where`` or a name in backquotes); the CLI prints the flags."""
    from neocus.cli import error_line

    err = NeocusError("calls are neither 0/1 nor 1-5", where="r.csv", hint="give `positive_from`")
    assert error_line(err) == "r.csv: calls are neither 0/1 nor 1-5 (give --reader-positive-from)"
    assert error_line(NeocusError("must be at least 1, got 0", where="cases")) == "--cases: must be at least 1, got 0"
    assert error_line(NeocusError("odd", where="`no_such_option`")) == "`no_such_option`: odd"
