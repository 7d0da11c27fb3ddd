"""Reading the evaluation CSVs, building the Table-2 report, per-condition counts, atomic writing."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pytest
from stats_eval_data import make_predictions, make_readers, write_csv

from neocus.errors import InputFileError, NeocusError
from neocus.stats import report as report_mod
from neocus.stats.agreement import cohens_kappa, fleiss_kappa
from neocus.stats.checks import DegenerateDataWarning
from neocus.stats.conditions import conditions_of
from neocus.stats.inputs import load_predictions, load_readers
from neocus.stats.proportions import binary_metrics
from neocus.stats.readers import delta_auc_test
from neocus.stats.report import build_report, model_calls, table2_rows, write_report
from neocus.stats.roc import roc_auc
from neocus.stats.thresholds import youden_threshold


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    pred = make_predictions(d / "pred.csv", n=120)
    readers = make_readers(d / "readers.csv", pred, groups={"junior": 3, "mid": 2})
    return pred, readers


@pytest.fixture(scope="module")
def built(files):
    pred = load_predictions(files[0])
    reads = load_readers(files[1], pred)
    return pred, reads, build_report(pred, reads, subgroups=["ga_group"], n_boot=200)


# ----------------------------------------------------------------------------------------- inputs


def test_load_predictions_columns(files):
    pred = load_predictions(files[0])
    assert pred.n == 120 and pred.prediction is None
    assert set(pred.findings) == {"normal", "ivh", "ependymal_cyst", "ventricular_dilation", "hydrocephalus", "pvl"}
    assert pred.ivh_grade is not None and set(pred.metadata) == {"ga_group", "probe"}
    assert pred.label.dtype == np.int8 and np.isfinite(pred.score).all()


def _pred_file(tmp_path, rows, header=("case_id", "label", "score")):
    return write_csv(tmp_path / "p.csv", list(header), rows)


@pytest.mark.parametrize(
    "header, rows, pattern",
    [
        (("case_id", "score"), [["a", 0.2]], r"missing column\(s\) label"),
        (("case_id", "label", "score"), [["a", 0, 0.2], ["b", 1, "nan"]], r"line 3, column 'score': not a finite number"),
        (("case_id", "label", "score"), [["a", 0, 0.2], ["b", 2, 0.9]], r"line 3, column 'label': must be 0 or 1"),
        (("case_id", "label", "score"), [["a", 0, 0.2], ["b", "", 0.9]], r"line 3, column 'label': empty value"),
        (("case_id", "label", "score"), [["a", 0, 0.2], ["a", 1, 0.9]], r"line 3, column 'case_id': duplicate case id \(first on line 2\)"),
        (("case_id", "label", "score"), [["a", 0, "high"]], r"line 2, column 'score': not a number"),
        (("case_id", "label", "score", "ivh_grade"), [["a", 0, 0.1, 5]], r"column 'ivh_grade': must be a Papile grade"),
        (("case_id", "label", "score", "pvl"), [["a", 0, 0.1, "yes"]], r"column 'pvl': not a number"),
        (("case_id", "label", "score", "prediction"), [["a", 0, 0.1, 0.4]], r"column 'prediction': must be 0 or 1"),
        (("case_id", "label", "score"), [], r"no data rows"),
    ],
)
def test_bad_predictions_name_file_line_and_column(tmp_path, header, rows, pattern):
    path = _pred_file(tmp_path, rows, header)
    with pytest.raises(InputFileError, match=pattern) as info:
        load_predictions(path)
    assert str(path) in info.value.message


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputFileError, match="file not found"):
        load_predictions(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputFileError, match="no header"):
        load_predictions(tmp_path / "empty.csv")
    (tmp_path / "extra.csv").write_text("case_id,label,score\na,0,0.1,9\n")
    with pytest.raises(InputFileError, match="line 2: more fields"):
        load_predictions(tmp_path / "extra.csv")


@pytest.mark.parametrize(
    "row, pattern",
    [
        (["R1", "junior", "zz", 1, 0], r"line 2, column 'case_id': unknown case id 'zz'"),
        (["R1", "junior", "c0000", "", 0], r"line 2, column 'call': empty value"),
        (["R1", "junior", "c0000", 1, 2], r"line 2, column 'with_ai': must be 0 or 1"),
        (["", "junior", "c0000", 1, 0], r"line 2, column 'reader_id': empty value"),
    ],
)
def test_bad_readers_name_file_line_and_column(tmp_path, files, row, pattern):
    pred = load_predictions(files[0])
    path = write_csv(tmp_path / "r.csv", ["reader_id", "group", "case_id", "call", "with_ai"], [row])
    with pytest.raises(InputFileError, match=pattern):
        load_readers(path, pred)


def test_readers_duplicates_group_changes_and_missing_columns(tmp_path, files):
    pred = load_predictions(files[0])
    header = ["reader_id", "group", "case_id", "call"]
    dup = write_csv(tmp_path / "d.csv", header, [["R1", "junior", "c0000", 1], ["R1", "junior", "c0000", 0]])
    with pytest.raises(InputFileError, match="line 3.*already read case 'c0000' \\(line 2\\)"):
        load_readers(dup, pred)
    moved = write_csv(tmp_path / "g.csv", header, [["R1", "junior", "c0000", 1], ["R1", "mid", "c0001", 0]])
    with pytest.raises(InputFileError, match="line 3, column 'group'"):
        load_readers(moved, pred)
    nocall = write_csv(tmp_path / "n.csv", header[:3], [["R1", "junior", "c0000"]])
    with pytest.raises(InputFileError, match=r"missing column\(s\) call"):
        load_readers(nocall, pred)
    neg = write_csv(tmp_path / "t.csv", header + ["time_s"], [["R1", "junior", "c0000", 1, -3]])
    with pytest.raises(InputFileError, match="time_s"):
        load_readers(neg, pred)


# ----------------------------------------------------------------------------------------- numbers


def test_model_row_equals_library_calls(built):
    pred, _, rep = built
    calls = (pred.score >= 0.5).astype(int)
    ref = binary_metrics(pred.label, calls, n_boot=200)
    assert rep.model.threshold == 0.5 and rep.model.metrics.confusion == ref.confusion
    assert rep.model.auc.auc == pytest.approx(roc_auc(pred.label, pred.score).auc)
    row = table2_rows(rep)[0]
    assert row.values["sensitivity"] == pytest.approx((ref.sensitivity.estimate, ref.sensitivity.ci.low, ref.sensitivity.ci.high))


def test_model_call_rules(files, tmp_path):
    pred = load_predictions(files[0])
    calls, t, rule = model_calls(pred, youden=True)
    assert t == youden_threshold(pred.label, pred.score).threshold and "Youden" in rule
    calls, t, _ = model_calls(pred, threshold=0.8)
    assert t == 0.8 and calls.sum() == int((pred.score >= 0.8).sum())
    with pytest.raises(NeocusError, match="not both"):
        model_calls(pred, threshold=0.3, youden=True)
    with_pred = load_predictions(make_predictions(tmp_path / "pp.csv", n=40, prediction=True))
    calls, t, rule = model_calls(with_pred)
    assert t is None and "prediction column" in rule and np.array_equal(calls, with_pred.prediction)


def test_reader_groups(built):
    pred, reads, rep = built
    labels = [g.label for g in rep.groups]
    assert labels == ["junior (without AI)", "junior (with AI)", "mid (without AI)"]
    junior0, junior1, mid = rep.groups
    members = [r for r in rep.readers if r.group == "junior" and not r.with_ai]
    assert junior0.summary.mean["auc"].estimate == pytest.approx(np.mean([r.auc.auc for r in members]))
    # P against the model: Wilcoxon on model AUC minus reader AUC (same cases)
    model_auc = rep.model.auc.auc
    assert junior0.vs_model.difference == pytest.approx(np.mean([model_auc - r.auc.auc for r in members]))
    # P*: the same readers with vs without AI
    with_ai = [r for r in rep.readers if r.group == "junior" and r.with_ai]
    with pytest.warns(DegenerateDataWarning, match="smallest attainable"):  # 3 readers only
        ref = delta_auc_test([r.auc.auc for r in with_ai], [r.auc.auc for r in members], alternative="greater")
    assert junior1.vs_without_ai.p_value == pytest.approx(ref.p_value)
    assert junior0.vs_without_ai is None and mid.vs_without_ai is None
    # Fleiss' kappa over the group's binary calls
    sel = (reads.group == "junior") & (reads.with_ai == 0)
    matrix = np.column_stack([reads.call[sel & (reads.reader_id == r)] for r in ("J1", "J2", "J3")])
    assert junior0.fleiss.kappa == pytest.approx(fleiss_kappa(matrix).kappa)
    # reading time: with AI faster (one-sided Welch), corrections counted on paired reads
    assert junior1.time_test is not None and junior1.time_test.alternative == "less" and junior1.time_test.p_value < 0.01
    c = junior1.corrections
    assert c.n_pairs == 3 * pred.n and c.wrong_without + c.right_without == c.n_pairs
    assert 0 <= c.corrected <= c.wrong_without and 0 <= c.broken <= c.right_without


def test_cohens_kappa_model_vs_each_reader(built):
    pred, reads, rep = built
    a = next(x for x in rep.agreements if x.reader_id == "M1")
    sel = reads.reader_id == "M1"
    ref = cohens_kappa((pred.score >= 0.5).astype(int)[reads.case_index[sel]], reads.call[sel].astype(int), categories=(0, 1))
    assert a.kappa.kappa == pytest.approx(ref.kappa) and a.group == "mid"


def test_condition_rows_partition_the_cases(built):
    pred, reads, rep = built
    rows = rep.conditions["model"]
    assert sum(r.n for r in rows) == pred.n  # each synthetic case has exactly one condition
    names = [r.condition for r in rows]
    assert names[0] == "normal" and names[-1] == "pvl"
    for r in rows:
        assert r.called_severe + r.called_non_severe == r.n
        assert r.correct == (r.called_severe if r.expected_severe else r.called_non_severe)
    # the conditions agree with the labels (built by the vocabulary rule)
    for cond in conditions_of(pred):
        assert set(pred.label[cond.mask].tolist()) <= {int(cond.expected_severe)}
    juniors = rep.conditions["junior (with AI)"]
    assert sum(r.n for r in juniors) == 3 * pred.n


def test_overlapping_findings_count_once_in_the_most_serious(tmp_path):
    header = ["case_id", "label", "score", "ivh", "ventricular_dilation", "pvl", "ivh_grade"]
    rows = [["a", 1, 0.9, 1, 1, 0, 3], ["b", 0, 0.2, 0, 1, 0, 0], ["c", 1, 0.6, 1, 0, 1, 2], ["d", 0, 0.1, 0, 0, 0, 0]]
    pred = load_predictions(write_csv(tmp_path / "o.csv", header, rows))
    got = {c.name: np.flatnonzero(c.mask).tolist() for c in conditions_of(pred)}
    assert got["ivh grade III"] == [0] and got["ventricular_dilation"] == [1]
    assert got["pvl"] == [2] and got["ivh grade II"] == [] and got["normal"] == [3]


def test_subgroups_and_ordinal_readers(tmp_path, files):
    pred = load_predictions(files[0])
    reads = load_readers(make_readers(tmp_path / "ord.csv", files[0], groups={"senior": 2}, ordinal=True, with_ai=False), pred)
    rep = build_report(pred, reads, subgroups=["probe", "ga_group"], n_boot=100)
    assert [s.column for s in rep.subgroups] == ["probe", "ga_group"]
    r = rep.readers[0]
    sel = reads.reader_id == r.reader_id
    from sklearn.metrics import roc_auc_score

    assert r.auc.auc == pytest.approx(roc_auc_score(pred.label[reads.case_index[sel]], reads.call[sel]))
    with pytest.raises(NeocusError, match="no metadata column 'site'"):
        build_report(pred, None, subgroups=["site"])


def test_single_class_predictions_error_names_the_file(tmp_path):
    path = write_csv(tmp_path / "one.csv", ["case_id", "label", "score"], [["a", 0, 0.1], ["b", 0, 0.7]])
    with pytest.raises(NeocusError, match="single class") as info:
        build_report(load_predictions(path))
    assert "one.csv" in info.value.message


def test_degenerate_warnings_are_collected(tmp_path):
    path = write_csv(tmp_path / "allpos.csv", ["case_id", "label", "score"], [[f"c{i}", i % 2, 0.9] for i in range(10)])
    rep = build_report(load_predictions(path), n_boot=50)
    assert any("predicted positive" in w for w in rep.warnings)
    assert rep.model.auc.auc == pytest.approx(0.5)


# ----------------------------------------------------------------------------------------- writing


def test_write_report_outputs(built, tmp_path):
    pred, _, rep = built
    out = tmp_path / "out"
    written = write_report(rep, out)
    names = sorted(p.name for p in written)
    assert names == ["conditions.csv", "conditions.png", "readers.csv", "report.json", "report.md", "roc.png", "subgroups.csv", "table2.csv"]
    assert sorted(p.name for p in out.iterdir()) == names  # nothing else (no temp files)
    data = json.loads((out / "report.json").read_text())
    assert data["n_cases"] == pred.n and data["model"]["auc"]["auc"] == pytest.approx(rep.model.auc.auc)
    assert len(data["table2"]) == 4 and data["groups"][1]["vs_without_ai"]["alternative"] == "greater"
    with (out / "table2.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["row"] for r in rows] == ["model", "junior (without AI)", "junior (with AI)", "mid (without AI)"]
    assert float(rows[0]["auc"]) == pytest.approx(rep.model.auc.auc)
    md = (out / "report.md").read_text()
    assert "## Table 2" in md and "Fig. 2b" in md and "ga_group" in md
    assert (out / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # outputs never carry case ids
    for p in out.iterdir():
        if p.suffix in (".md", ".csv", ".json"):
            assert not re.search(r"\bc0\d{3}\b", p.read_text()), p.name


def test_write_report_is_atomic(built, tmp_path, monkeypatch):
    _, _, rep = built
    out = tmp_path / "out"

    def boom(_report):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_mod, "roc_figure", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(rep, out)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    # an existing report survives a failed overwrite
    monkeypatch.undo()
    write_report(rep, out)
    before = (out / "report.md").read_text()
    monkeypatch.setattr(report_mod, "roc_figure", boom)
    with pytest.raises(RuntimeError):
        write_report(rep, out, force=True)
    assert (out / "report.md").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_report_refuses_non_empty_folder_and_replaces_only_a_report(built, tmp_path):
    _, _, rep = built
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(NeocusError, match="not empty"):
        write_report(rep, out)
    with pytest.raises(NeocusError, match="not an earlier evaluation report"):
        write_report(rep, out, force=True)  # force replaces an earlier report only, never another folder
    assert (out / "keep.txt").read_text() == "x"
    (out / "keep.txt").unlink()
    write_report(rep, out)
    (out / "extra.txt").write_text("y")
    write_report(rep, out, force=True)  # an earlier report (even with a stray file in it) is replaced whole
    assert not (out / "extra.txt").exists() and (out / "report.md").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    write_report(rep, empty)
    assert (empty / "table2.csv").exists()


def test_json_has_no_nan(tmp_path):
    path = write_csv(tmp_path / "allneg.csv", ["case_id", "label", "score"], [[f"c{i}", i % 2, 0.1] for i in range(8)])
    rep = build_report(load_predictions(path), n_boot=20)
    assert math.isnan(rep.model.metrics.ppv.estimate)
    text = report_mod.report_json(rep)
    def reject(name):
        raise AssertionError(f"{name} in JSON")

    data = json.loads(text, parse_constant=reject)
    assert data["model"]["metrics"]["ppv"]["estimate"] is None


def test_conflicting_label_and_condition_is_warned(tmp_path):
    header = ["case_id", "label", "score", "pvl", "ependymal_cyst"]
    rows = [["a", 0, 0.2, 1, 0], ["b", 1, 0.9, 1, 0], ["c", 0, 0.1, 0, 1], ["d", 0, 0.3, 0, 0]]
    rep = build_report(load_predictions(write_csv(tmp_path / "c.csv", header, rows)), n_boot=20)
    assert any("condition 'pvl' are labelled non-severe" in w for w in rep.warnings)
    assert not any("'ependymal_cyst'" in w for w in rep.warnings)


def test_reader_scale_is_decided_over_the_whole_file(tmp_path, files):
    pred = load_predictions(files[0])
    cases = list(pred.case_ids)
    # R1 used the 1-5 scale; R2 happened to use only "1" (definitely non-severe) on the same scale
    rows = [["R1", "senior", c, 5 if pred.label[i] else 2] for i, c in enumerate(cases)]
    rows += [["R2", "senior", c, 1] for c in cases]
    reads = load_readers(write_csv(tmp_path / "s.csv", ["reader_id", "group", "case_id", "call"], rows), pred)
    rep = build_report(pred, reads, n_boot=20)
    r2 = next(r for r in rep.readers if r.reader_id == "R2")
    assert r2.metrics.confusion.tp + r2.metrics.confusion.fp == 0  # all non-severe, not all severe
    odd = write_csv(tmp_path / "odd.csv", ["reader_id", "group", "case_id", "call"], [["R1", "g", cases[0], 0.3]])
    with pytest.raises(NeocusError, match="`positive_from`"):
        build_report(pred, load_readers(odd, pred), n_boot=20)


def test_undefined_subgroup_test_reads_n_a_not_nan(tmp_path):
    # both sites separate perfectly: AUC 1 with zero variance, so the test's degrees of freedom are undefined
    rows = [[f"{site}{i}", i % 2, 0.9 if i % 2 else 0.1, site] for site in ("a", "b") for i in range(8)]
    rep = build_report(load_predictions(write_csv(tmp_path / "p.csv", ["case_id", "label", "score", "site"], rows)), subgroups=["site"], n_boot=20)
    assert math.isnan(rep.subgroups[0].comparisons[0].test.df)
    text = report_mod.render_markdown(rep)
    assert "nan" not in text.lower()
    assert re.search(r"\| a vs b \| [^|]+ \| [^|]+ \| n/a \| ", text)
