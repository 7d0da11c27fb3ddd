"""``neocus screen``, ``neocus demo`` and ``neocus evaluate pipeline``: the whole pipeline for a user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neocus.cli.app import app, console, err_console, evaluate_app, parse_device

EXIT_UNSUITABLE = 6  # a single case screened, but no decision (too few usable views, no readable input)
EXIT_FAILED_CASES = 1  # a batch in which at least one case failed

MODELS_HELP = "Models folder holding detector/model.pt and diagnosis/ (default: the bundled models/)."
HEATMAP_HELP = "finer-cam, grad-cam or none."


DEVICE_HELP = "cpu or cuda (a CUDA GPU where torch sees one; an ONNX detector stays on the CPU)."


def _load(models: Path | None, threads: int | None, device: str = "cpu"):  # noqa: ANN202
    from neocus.screen import load_models

    device = parse_device(device)
    if threads:
        import torch

        torch.set_num_threads(threads)
    with err_console.status("loading the models", spinner="dots"):
        return load_models(models, detector_threads=threads, device=device)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int, dict[str, Any]], None]]:
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task("", total=None)

        def update(done: int, total: int, row: dict[str, Any]) -> None:
            text = row.get("decision") or row["status"]
            progress.update(task, completed=done, total=total, description=escape(f"{row['case_id']}: {text}"))
            if row["status"] == "failed":
                err_console.print(f"[yellow]{escape(row['case_id'])} failed:[/] {escape(row['reason'])}", highlight=False, soft_wrap=True)

        yield update


def _print_case(result, out: Path) -> None:  # noqa: ANN001
    for name, v in result.views.items():
        text = f"{v.input} frame {v.frame} ({v.status})" if v.input else f"missing: {v.reason}"
        console.print(f"{name:5s} {escape(text)}", highlight=False)
    for e in result.errors:
        err_console.print(f"[red]error:[/] {escape(e)}", highlight=False, soft_wrap=True)
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    prob = f" (P severe {result.severe_prob:.3f}, Papile grade {result.papile_grade})" if result.severe_prob is not None else ""
    console.print(f"[bold]{result.decision.value}[/]{prob}: {escape(result.reason)}", highlight=False)
    console.print(f"report: {escape(str(out / 'report.html'))}", highlight=False)


@app.command("screen")
def screen_cmd(
    inputs: list[Path] = typer.Argument(..., help="A case folder, sweep files (MP4 / DICOM cine) or view stills; or one dataset / folder of case folders (a batch)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (one case: result.json, report.html, PNGs; a batch: cases/, summary.csv, summary.html)."),
    models: Path | None = typer.Option(None, "--models", help=MODELS_HELP),
    heatmap: str = typer.Option("finer-cam", "--heatmap", help=HEATMAP_HELP),
    tta: str | None = typer.Option(None, "--tta", help="Override the diagnosis model's test-time augmentation: none or flip."),
    threads: int = typer.Option(1, "--threads", help="CPU threads for the models (1: steady on a shared machine; see docs/screen.md)."),
    device: str = typer.Option("cpu", "--device", help=DEVICE_HELP),
    force: bool = typer.Option(False, "--force", help="Replace --out if it holds an earlier screen output (a batch folder is otherwise resumed)."),
) -> None:
    """Screen a case (or every case of a dataset / folder): views, severe / non-severe / unsuitable, report."""
    from neocus.atomic import check_output_dir
    from neocus.screen import screen, write_case
    from neocus.screen.batch import batch_tasks, screen_batch
    from neocus.screen.output import RESULT_FILE

    tasks = batch_tasks(inputs[0]) if len(inputs) == 1 else None
    options = {"heatmap": heatmap, "tta": tta}
    if tasks is not None:
        loaded = _load(models, threads, device)
        with _progress(f"screening {len(tasks)} cases") as update:
            batch = screen_batch(tasks, out, models=loaded, force=force, progress=update, **options)
        done, resumed, failed = batch.count("done"), batch.count("resumed"), batch.count("failed")
        console.print(f"{done} screened, {resumed} already done, {failed} failed; summary: {escape(str(out / 'summary.html'))}", highlight=False)
        if failed:
            raise typer.Exit(EXIT_FAILED_CASES)
        return
    check_output_dir(out, force=force, marker=RESULT_FILE, kind="an earlier neocus screen output")
    loaded = _load(models, threads, device)
    with err_console.status("screening", spinner="dots"):
        result = write_case(screen(inputs, models=loaded, **options), out, force=force)
    _print_case(result, out)
    if not result.decided:
        raise typer.Exit(EXIT_UNSUITABLE)


@app.command("demo")
def demo_cmd(
    out: Path = typer.Option(Path("neocus-demo"), "--out", "-o", help="Output folder (the simulated case and its screen)."),
    normal: bool = typer.Option(False, "--normal", help="Simulate a normal case instead of a severe one."),
    models: Path | None = typer.Option(None, "--models", help=MODELS_HELP),
    force: bool = typer.Option(False, "--force", help="Replace --out if it holds an earlier demo."),
    device: str = typer.Option("cpu", "--device", help=DEVICE_HELP),
) -> None:
    """Simulate one small phantom case (severe, or --normal) and screen it; prints where the report is."""
    from neocus.screen.demo import run_demo

    loaded = _load(models, 1, device)
    with err_console.status("simulating a phantom case and screening it", spinner="dots"):
        run = run_demo(out, models=loaded, normal=normal, force=force)
    console.print(f"simulated a phantom case labelled {'severe' if run.expected_severe else 'non-severe'}: "
                  f"{escape(str(run.case_folder))}", highlight=False)
    _print_case(run.result, run.screen_folder)


@evaluate_app.command("pipeline")
def evaluate_pipeline_cmd(
    data: Path = typer.Option(..., "--data", help="Dataset with sweeps and labels (e.g. written by neocus simulate)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for cases/, metrics.json, predictions.csv, report/ (a rerun resumes it)."),
    models: Path | None = typer.Option(None, "--models", help=MODELS_HELP),
    heatmap: str = typer.Option("none", "--heatmap", help=HEATMAP_HELP),
    threads: int = typer.Option(1, "--threads", help="CPU threads for the models (1: steady on a shared machine; see docs/screen.md)."),
    device: str = typer.Option("cpu", "--device", help=DEVICE_HELP),
    force: bool = typer.Option(False, "--force", help="Start over in --out if it holds an earlier run."),
) -> None:
    """Screen every case of a labelled dataset; AUC, sensitivity, specificity, view hit rate, unsuitable rate, timings."""
    from neocus.screen.evaluate import evaluate_pipeline

    loaded = _load(models, threads, device)
    with _progress("screening") as update:
        m = evaluate_pipeline(data, out, models=loaded, force=force, progress=update, heatmap=heatmap)

    def fmt(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}"

    console.print(f"{m['n_screened']} cases screened ({m['n_decided']} decided, {m['n_failed']} failed): AUC {fmt(m['auc'])} "
                  f"SEN {fmt(m['sensitivity'])} SPE {fmt(m['specificity'])} view hit rate {fmt(m['view_hit_rate'])} "
                  f"unsuitable {fmt(m['unsuitable_rate'])}, {fmt(m['seconds_per_case'])} s per case", highlight=False)
    console.print(f"wrote {escape(str(out / 'metrics.json'))}", highlight=False)
