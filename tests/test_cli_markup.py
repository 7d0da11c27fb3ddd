"""User strings (file names, field values) reach the console as typed: rich must not read them as markup."""

from __future__ import annotations

from pathlib import Path

from neocus.cli import main


def test_error_message_keeps_square_brackets(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "scan [copy].mp4"
    bad.write_text("not a video")
    assert main(["inspect", str(bad)]) != 0
    err = capsys.readouterr().err
    assert "scan [copy].mp4: not a readable image" in err and len(err.strip().splitlines()) == 1


def test_validate_table_with_a_closing_tag_as_a_name(capsys, tmp_path: Path) -> None:
    dataset = tmp_path / "[" / "bold]coronal.mp4"  # '[/bold]' with no opening tag: MarkupError if parsed
    dataset.mkdir(parents=True)
    assert main(["validate", str(dataset)]) == 1  # problems found, table printed
    out = capsys.readouterr().out
    assert "[/bold]coronal.mp4: 2 problems" in out


def test_validate_json_is_untouched_by_escaping(capsys, tmp_path: Path) -> None:
    dataset = tmp_path / "[red]x"
    dataset.mkdir()
    assert main(["validate", "--json", str(dataset)]) == 1
    assert '"dataset": "' + str(dataset) + '"' in capsys.readouterr().out


def test_evaluate_table_shows_reader_groups_as_written(capsys, tmp_path: Path) -> None:
    pred = tmp_path / "pred.csv"
    pred.write_text("case_id,label,score\nc1,1,0.9\nc2,0,0.2\nc3,1,0.7\nc4,0,0.4\nc5,1,0.3\nc6,0,0.6\n")
    readers = tmp_path / "readers.csv"
    calls = {"c1": 1, "c2": 0, "c3": 1, "c4": 0, "c5": 0, "c6": 1}
    readers.write_text("reader_id,group,case_id,call\n" + "".join(f"r1,[/bold]g,{c},{v}\n" for c, v in calls.items()))
    assert main(["evaluate", "predictions", str(pred), "--readers", str(readers), "--out", str(tmp_path / "out"), "--n-boot", "20"]) == 0
    assert "[/bold]g (without AI)" in capsys.readouterr().out


def test_validate_table_with_a_markup_sweep_name(capsys, tmp_path: Path) -> None:
    from fuzz_seeds import dataset_files

    root = tmp_path / "ds"
    for rel, data in dataset_files().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    case = root / "cases" / "a01" / "case.json"
    case.write_text(case.read_text().replace('"coronal.mp4"', '"[/bold]coronal.mp4"'))  # the sweep name
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert "[/bold]coronal.mp4" in out
