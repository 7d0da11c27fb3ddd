"""``neocus simulate``: write a phantom dataset (sweeps, stills, annotations, labels) in the neocus format."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neocus.cli.app import app, console
from neocus.errors import NeocusError


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
    from neocus.phantom.presets import get_preset

    get_preset(preset)  # unknown names fail here, with the choices
    size = parse_frame_size(frame_size) if frame_size else None
    if contact_sheets:
        from neocus.phantom.contact_sheet import write_contact_sheets

        paths = write_contact_sheets(out, seed=seed, frame_size=size)
        for p in paths:
            console.print(f"wrote {p}")
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
    if screen and stills_only:
        raise NeocusError("--screen wraps sweeps, but --stills-only writes none", where="--screen")
    check_output_dir(out)
    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("cases", total=cases)
        simulate_dataset(out, config, progress=lambda done, total: progress.update(task, completed=done))
    console.print(f"[green]wrote {out}[/] ({cases} case{'s' if cases != 1 else ''}, preset {preset}, seed {seed})")
