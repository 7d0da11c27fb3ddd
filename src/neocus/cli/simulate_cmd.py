"""``neocus simulate``: write a phantom dataset (sweeps, stills, annotations, labels) in the neocus format."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neocus.cli.app import app, console


@app.command("simulate")
def simulate(
    out: Path = typer.Option(..., "--out", help="New dataset folder (must not exist or be empty)."),
    cases: int = typer.Option(10, "--cases", help="Number of cases."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed writes the same bytes."),
    preset: str = typer.Option("internal", "--preset", help="Scanner + population: internal, external, blind (or internal_microconvex)."),
    severe_fraction: float = typer.Option(None, "--severe-fraction", help="Share of severe case patterns (default: the population's)."),
    frame_size: str = typer.Option(None, "--frame-size", help="Frame size WIDTHxHEIGHT, e.g. 640x480 (default: the preset's)."),
    sweep_frames: int = typer.Option(None, "--sweep-frames", help="About this many frames per sweep (default: a ~4 s freehand / ~3 s blind sweep)."),
    stills_only: bool = typer.Option(False, "--stills-only", help="Write the six standard-view stills and labels, no sweeps."),
    sweep_format: str = typer.Option("mixed", "--sweep-format", help="mixed (coronal MP4 + sagittal DICOM), mp4 or dicom."),
    screen: bool = typer.Option(False, "--screen", help="Wrap sweep frames in a scanner-screen capture (burned-in text, bars)."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (the output does not depend on it)."),
    contact_sheets: bool = typer.Option(False, "--contact-sheets", help="Instead of a dataset, write the contact-sheet PNGs into --out."),
) -> None:
    """Simulate neonatal cranial ultrasound cases with exact ground truth (synthetic data; fake patient tags)."""
    from neocus.phantom.export import SimulationConfig, check_output_dir, parse_frame_size, simulate_dataset

    size = parse_frame_size(frame_size) if frame_size else None
    if contact_sheets:
        from neocus.phantom.contact_sheet import write_contact_sheets

        paths = write_contact_sheets(out, seed=seed, frame_size=size)
        for p in paths:
            console.print(f"wrote {escape(str(p))}")
        return
    config = SimulationConfig(
        cases=cases,
        seed=seed,
        preset=preset,
        severe_fraction=severe_fraction,
        frame_size=size,
        sweep_frames=sweep_frames,
        sweeps=not stills_only,
        sweep_format=sweep_format,
        screen=screen,
        workers=workers,
    )
    config.check()
    check_output_dir(out)
    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("cases", total=cases)
        simulate_dataset(out, config, progress=lambda done, total: progress.update(task, completed=done))
    console.print(f"[green]wrote {escape(str(out))}[/] ({cases} case{'s' if cases != 1 else ''}, preset {preset}, seed {seed})")
    _print_summary(out)


def _print_summary(out: Path) -> None:
    """Labels and views of what was written (labels follow the built subjects, so they can differ from targets)."""
    from collections import Counter

    from rich.table import Table

    from neocus.data import Dataset

    ds = Dataset.load(out)
    tiers = Counter(e.record.labels.tier.value for e in ds if e.record.labels and e.record.labels.tier)
    severe = sum(1 for e in ds if e.record.labels and e.record.labels.severe == 1)
    views = [len(e.view_images()) for e in ds]
    found = [len(e.record.labels.view_frames) if e.record.labels else 0 for e in ds]
    table = Table(show_header=False, box=None)
    table.add_row("severe cases", f"{severe} of {len(ds)}")
    table.add_row("3-tier", ", ".join(f"{k} {v}" for k, v in sorted(tiers.items())))
    table.add_row("stills per case", f"{min(views)}-{max(views)} (mean {sum(views) / len(views):.1f})")
    if any(e.record.sweeps for e in ds):
        table.add_row("views found in sweeps", f"{min(found)}-{max(found)} of 6 (mean {sum(found) / len(found):.1f})")
    console.print(table)
