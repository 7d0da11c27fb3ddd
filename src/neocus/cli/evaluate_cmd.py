"""``neocus evaluate predictions PRED.csv [--readers READERS.csv] --out DIR``: a Table-2-style report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from neocus.cli.app import app, console, err_console, evaluate_app
from neocus.errors import NeocusError


@evaluate_app.command("predictions")
@app.command("evaluate-predictions", hidden=True)  # the earlier name, kept working
def evaluate_predictions(
    predictions: Path = typer.Argument(..., help="PRED.csv: case_id, label (0/1), score [, prediction, conditions, metadata]."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write the report into (created; must be new or empty)."),
    readers: Path | None = typer.Option(None, "--readers", help="READERS.csv: reader_id, group, case_id, call [, with_ai, time_s]."),
    threshold: float | None = typer.Option(None, "--threshold", help="Call a case severe when score >= this."),
    youden: bool = typer.Option(False, "--youden", help="Choose the threshold by Youden's index on these cases."),
    subgroup: list[str] = typer.Option([], "--subgroup", help="Metadata column to analyse by (repeatable), e.g. ga_group."),
    positive_from: float | None = typer.Option(
        None, "--reader-positive-from", help="Reader calls >= this count as severe (default 1 for 0/1 calls, 4 for a 1-5 scale)."
    ),
    level: float = typer.Option(0.95, "--level", help="Confidence level of the intervals."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap resamples for the F1 interval."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the bootstrap."),
    force: bool = typer.Option(False, "--force", help="Replace the --out folder if it exists and is not empty."),
) -> None:
    """Evaluate a model's predictions (and readers' calls) like the NCLS paper's Table 2 and Fig. 2b."""
    from neocus.stats.inputs import load_predictions, load_readers  # here, not at the top: scipy.stats costs every command ~1.5 s
    from neocus.stats.report import build_report, table2_rows, write_report

    if threshold is not None and youden:
        raise NeocusError("--threshold and --youden exclude each other", hint="give one of them (or neither)")
    if not 0.0 < level < 1.0:
        raise NeocusError(f"--level must be between 0 and 1, got {level}")
    if n_boot < 1:
        raise NeocusError(f"--n-boot must be at least 1, got {n_boot}")
    with err_console.status("reading inputs", spinner="dots"):
        pred = load_predictions(predictions)
        reads = load_readers(readers, pred) if readers is not None else None
    with err_console.status(f"evaluating {pred.n} cases" + (f" and {reads.n} reads" if reads else ""), spinner="dots"):
        report = build_report(
            pred, reads, threshold=threshold, youden=youden, subgroups=subgroup, positive_from=positive_from,
            level=level, n_boot=n_boot, seed=seed,
        )
    with err_console.status(f"writing {escape(str(out))}", spinner="dots"):
        written = write_report(report, out, force=force)
    table = Table(title=f"{pred.n} cases ({report.n_pos} severe)")
    for col in ("", "SEN", "SPE", "PPV", "NPV", "F1", "AUC", "P"):
        table.add_column(col)
    for row in table2_rows(report):
        cells = [f"{row.values[k][0]:.3f}" for k in ("sensitivity", "specificity", "ppv", "npv", "f1", "auc")]
        p = "-" if row.p_vs_model is None else f"{row.p_vs_model:.3g}"
        table.add_row(escape(row.name), *[c.replace("nan", "-") for c in cells], p)
    console.print(table)
    for msg in report.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(msg)}", highlight=False, soft_wrap=True)
    console.print(escape(f"wrote {len(written)} files to {out}: " + ", ".join(p.name for p in written)), highlight=False)
