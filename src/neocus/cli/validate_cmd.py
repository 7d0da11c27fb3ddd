"""``neocus validate DATASET``: check a dataset folder and list every problem (file, field, message)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.markup import escape
from rich.table import Table

from neocus.cli.app import app, console, err_console
from neocus.data.validate import validate_dataset
from neocus.errors import DatasetError

EXIT_PROBLEMS = 1


@app.command("validate")
def validate(
    dataset: Path = typer.Argument(..., help="Dataset folder (holding dataset.json and cases/)."),
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON instead of a table."),
    no_probe: bool = typer.Option(False, "--no-probe", help="Do not open sweep files (only check that they exist)."),
) -> None:
    """Check DATASET against the neocus dataset format; exit 0 when clean, 1 when problems were found."""
    if not dataset.is_dir():
        what = "not a folder" if dataset.exists() else "dataset folder not found"
        raise DatasetError(what, where=dataset, hint="give the folder that holds dataset.json and cases/")
    with Progress(
        TextColumn("validating"), BarColumn(), MofNCompleteColumn(), TextColumn("cases"), TimeElapsedColumn(),
        console=err_console, transient=True, disable=as_json or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("cases", total=None)
        problems = validate_dataset(
            dataset, probe_sweeps=not no_probe, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    if as_json:
        payload = {"dataset": str(dataset), "ok": not problems, "problems": [p.to_dict() for p in problems]}
        typer.echo(json.dumps(payload, indent=2))
    elif not problems:
        console.print(f"[green]{escape(str(dataset))}: valid[/] (no problems)")
    else:
        table = Table(title=f"{escape(str(dataset))}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", show_lines=False)
        table.add_column("file", overflow="fold")
        table.add_column("field", overflow="fold")
        table.add_column("problem", overflow="fold")
        for p in problems:
            table.add_row(escape(p.file), escape(p.field or "-"), escape(p.message))
        console.print(table)
    if problems:
        raise typer.Exit(EXIT_PROBLEMS)

