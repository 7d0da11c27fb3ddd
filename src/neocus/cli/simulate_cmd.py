"""``neocus simulate``: write a phantom dataset (sweeps, stills, annotations, labels) in the neocus format."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neocus.cli.app import app, console

if TYPE_CHECKING:
    from neocus.phantom.export import SimulationConfig


@app.command("simulate")
def simulate(
    out: Path = typer.Option(..., "--out", help="New dataset folder (must not exist or be empty)."),
    cases: int = typer.Option(10, "--cases", help="Number of cases."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed writes the same bytes."),
    preset: str = typer.Option("internal", "--preset", help="Scanner + population: internal, external, blind (or internal_microconvex)."),
    severe_fraction: float = typer.Option(None, "--severe-fraction", help="Share of severe case patterns (default: the population's)."),
    frame_size_wh: str = typer.Option(None, "--frame-size", help="Frame size WIDTHxHEIGHT, e.g. 640x480 (default: the preset's)."),
    sweep_frames: int = typer.Option(None, "--sweep-frames", help="About this many frames per sweep (default: a ~4 s freehand / ~3 s blind sweep)."),
    stills_only: bool = typer.Option(False, "--stills-only", help="Write the six standard-view stills and labels, no sweeps."),
    sweep_format: str = typer.Option("mixed", "--sweep-format", help="mixed (coronal MP4 + sagittal DICOM), mp4 or dicom."),
    screen: bool = typer.Option(False, "--screen", help="Wrap sweep frames in a scanner-screen capture (burned-in text, bars)."),
    workers: int = typer.Option(None, "--workers", help="Worker processes (default: all available cores; the output does not depend on it)."),
    contact_sheets: bool = typer.Option(False, "--contact-sheets", help="Instead of a dataset, write the contact-sheet PNGs into --out."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it holds an earlier neocus output (any other non-empty folder is refused)."),
) -> None:
    """Simulate neonatal cranial ultrasound cases with exact ground truth (synthetic data; fake patient tags)."""
    from neocus.phantom.export import SimulationConfig, check_output_dir, parse_frame_size, simulate_dataset

    size_wh = parse_frame_size(frame_size_wh) if frame_size_wh else None
    if contact_sheets:
        _contact_sheets(out, seed=seed, size_wh=size_wh, force=force)
        return
    workers = available_cores() if workers is None else workers
    config = SimulationConfig(
        cases=cases,
        seed=seed,
        preset=preset,
        severe_fraction=severe_fraction,
        frame_size_wh=size_wh,
        sweep_frames=sweep_frames,
        sweeps=not stills_only,
        sweep_format=sweep_format,
        screen=screen,
        workers=workers,
    )
    config.check()
    check_output_dir(out, replace=force)
    console.print(_plan(config), highlight=False)
    columns = (TextColumn("cases"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("cases", total=cases)
        simulate_dataset(out, config, progress=lambda done, total: progress.update(task, completed=done), replace=force)
    console.print(f"[green]wrote {escape(str(out))}[/] ({cases} case{'s' if cases != 1 else ''}, preset {preset}, seed {seed})")
    _print_summary(out)


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


# For the time estimate, CPU seconds on the project's machine (2 cores), measured on 29 Nov 2026 with
# /usr/bin/time on one-case runs and with benchmarks/bench_simulate_cli.py (docs/phantom.md, Throughput):
# a case's two sweeps of natural length (~230 frames rendered and written) take 80-86 CPU s at 640x480
# and grow about with the pixel count (14-18 s at 256x256, where this rule says 18); its six stills
# 1-3 s at 640x480; starting a worker process (imports) 1.7 s.
SWEEPS_CPU_S_PER_MEGAPIXEL = 83.0 / (640 * 480 / 1e6)
STILLS_CPU_S_PER_MEGAPIXEL = 2.0 / (640 * 480 / 1e6)
WORKER_START_CPU_S = 1.7
NATURAL_SWEEP_FRAMES = 115  # about, per sweep: a ~4 s freehand sweep


def rendered_size_wh(config: SimulationConfig) -> tuple[int, int]:
    """The frame size ``(width, height)`` the cases are rendered at (the preset's own when not given)."""
    from neocus.phantom.presets import get_preset

    h, w = config.out_size_hw() or get_preset(config.preset).default_out_size_hw
    return int(w), int(h)


def expected_seconds(config: SimulationConfig) -> float:
    """A rough wall time for ``config`` on free cores (other jobs on the machine make it longer)."""
    w, h = rendered_size_wh(config)
    megapixels = w * h / 1e6
    per_case = STILLS_CPU_S_PER_MEGAPIXEL * megapixels
    if config.sweeps:
        frames = config.sweep_frames or NATURAL_SWEEP_FRAMES
        per_case += SWEEPS_CPU_S_PER_MEGAPIXEL * megapixels * frames / NATURAL_SWEEP_FRAMES
    parallel = max(1, min(config.workers, config.cases, available_cores()))
    start = WORKER_START_CPU_S if parallel > 1 else 0.0
    return start + per_case * math.ceil(config.cases / parallel)


def _plan(config: SimulationConfig) -> str:
    """One line: what will be simulated, at which size, on how many workers, and about how long it takes."""
    w, h = rendered_size_wh(config)
    n = config.cases
    what = "stills only" if not config.sweeps else f"sweeps of {config.sweep_frames or 'natural length (~115)'} frames"
    seconds = expected_seconds(config)
    eta = f"{max(seconds, 1):.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
    used = min(config.workers, n)
    fast = "; --frame-size 256x256 is faster" if w * h > 256 * 256 else ""
    return (
        f"simulating {n} case{'s' if n != 1 else ''} at {w}x{h}, {what}, on {used} worker{'s' if used != 1 else ''}: "
        f"expected about {eta} on free cores{fast}"
    )


def _contact_sheets(out: Path, *, seed: int, size_wh: tuple[int, int] | None, force: bool) -> None:
    """Write the contact sheets into ``out``: a non-empty folder only with ``force`` (only the sheets are replaced)."""
    from neocus.phantom.contact_sheet import write_contact_sheets

    from neocus.atomic import check_output_dir as check_any_output_dir

    check_any_output_dir(out, force=force)  # only the sheets are replaced
    out.mkdir(parents=True, exist_ok=True)
    for p in write_contact_sheets(out, seed=seed, frame_size_wh=size_wh):
        console.print(f"wrote {escape(str(p))}")


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
