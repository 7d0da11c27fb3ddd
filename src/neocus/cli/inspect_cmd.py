"""``neocus inspect FILE [--json] [--overlay PNG]``: what neocus reads from a sweep, and where its image is."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from neocus.cli.app import app, console, err_console
from neocus.io import Sweep, load_sweep
from neocus.io.overlay import check_overlay_path, save_roi_overlay
from neocus.io.roi import Roi, detect_sweep_roi


def inspection(sweep: Sweep, roi: Roi) -> dict[str, object]:
    """The JSON-ready facts ``neocus inspect`` reports (no header fields beyond format and timing)."""
    m = sweep.meta
    # without a frame rate the timestamps are frame indices: the duration is not known
    duration = None if m.fps is None else (float(m.timestamps_s[-1]) if len(m.timestamps_s) else 0.0)
    return {
        "file": Path(m.source).name,  # the name only: folders may be named after patients
        "format": m.format,
        "frames": sweep.n_frames,
        "height": sweep.height,
        "width": sweep.width,
        "fps": None if m.fps is None else round(float(m.fps), 4),
        "duration_s": None if duration is None else round(duration, 4),
        "spacing_mm": None if m.spacing_mm is None else [round(float(v), 6) for v in m.spacing_mm],
        "modality": m.modality,
        "photometric": m.photometric,
        "transfer_syntax": m.transfer_syntax,
        "roi": roi.summary(),
        "ignored_files": list(m.ignored_files),
    }


@app.command("inspect")
def inspect(
    file: Path = typer.Argument(..., help="A sweep or still: MP4/AVI/MOV, DICOM, PNG/JPEG, or a folder of frames."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (frames, height, width, fps, spacing_mm, roi...)."),
    overlay: Path | None = typer.Option(None, "--overlay", help="Save the detected ROI drawn on a representative frame (PNG)."),
) -> None:
    """Print frames, size, fps, spacing and the detected ultrasound ROI of FILE."""
    if overlay is not None:
        check_overlay_path(overlay)  # before a long decode
    sweep = load_sweep(file)  # a progress bar on stderr for long decodes (when it is a terminal)
    with err_console.status("finding the imaging region", spinner="dots"):
        roi = detect_sweep_roi(sweep)
    if overlay is not None:
        save_roi_overlay(sweep.frames, roi, overlay)
    facts = inspection(sweep, roi)
    if as_json:
        typer.echo(json.dumps(facts))
        return
    table = Table(title=escape(str(file)), show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    fps = facts["fps"]
    spacing = facts["spacing_mm"]
    rows = [
        ("format", f"{facts['format']}" + (f" ({facts['photometric']}, {facts['transfer_syntax']})" if facts["transfer_syntax"] else "")),
        ("frames", str(facts["frames"])),
        ("size", f"{facts['width']} x {facts['height']} (width x height)"),
        ("fps", "unknown" if fps is None else f"{fps:g}"),
        ("duration", "unknown" if facts["duration_s"] is None else f"{facts['duration_s']:.2f} s"),
        ("spacing", "unknown" if spacing is None else f"{spacing[0]:.4g} x {spacing[1]:.4g} mm (row x column)"),
        ("ROI", f"x={roi.crop.x} y={roi.crop.y} w={roi.crop.w} h={roi.crop.h}, {roi.shape.value}"),
        ("ROI found by", f"{roi.method.value} (confidence {roi.confidence:.2f}); imaging pixels {roi.mask.mean():.0%} of the crop"),
    ]
    for key, value in rows:
        table.add_row(key, escape(value))
    console.print(table)
    for note in roi.notes:
        console.print(f"  - {escape(note)}", highlight=False)
    if ignored := sweep.meta.ignored_files:
        console.print(f"ignored (not PNG/JPEG frames): {escape(', '.join(ignored))}", highlight=False)
    if overlay is not None:
        console.print(f"wrote ROI overlay to {escape(str(overlay))}", highlight=False)
