"""``neocus views``, ``neocus fit views`` and ``neocus evaluate views``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.markup import escape

from neocus.atomic import atomic_write_folder, atomic_write_text
from neocus.cli.app import app, console, evaluate_app, fit_app
from neocus.errors import NeocusError


def _detections(sweep, annotations: Path | None, *, model: Path | None, degrade_boxes: bool, seed: int):  # noqa: ANN001,ANN202
    """Per-frame detections: from an annotation JSONL (ground truth, optionally degraded) or the detector."""
    from neocus.data.dataset import read_annotations
    from neocus.views import Degradation, degrade, truth_from_annotations
    from neocus.views.oracle import NO_DEGRADATION

    if annotations is None:
        from neocus.detect import Detector

        return tuple(Detector(model).detect_sweep(sweep))
    truth = truth_from_annotations(read_annotations(annotations), n_frames=sweep.n_frames)
    deg = Degradation() if degrade_boxes else NO_DEGRADATION
    h, w = sweep.frames.shape[1:]
    return degrade(truth, size_wh=(w, h), degradation=deg, rng=np.random.default_rng(seed))


def _cases(data: list[Path], *, seed: int, detector: Path | None) -> list:
    """Ground-truth cases of the datasets, with oracle-degraded boxes or ``detector``'s output (progress shown)."""
    from rich.progress import track

    from neocus.data.dataset import Dataset
    from neocus.views.truthdata import truth_cases

    if detector is None:
        return [c for d in data for c in truth_cases(d, seed=seed)]
    from neocus.detect import Detector

    det = Detector(detector)
    datasets = [Dataset.load(d) for d in data]
    total = sum(len(ds.cases) for ds in datasets)
    gen = (c for ds in datasets for c in truth_cases(ds, detector=det, seed=seed))
    return list(track(gen, total=total, description="detecting in the sweeps", console=console))


@app.command("views")
def views(
    sweeps: list[Path] = typer.Argument(..., help="Sweep files (video, DICOM cine, frame folder) or one still image."),
    out: Path = typer.Option(..., "--out", help="Output folder (views.json, chosen PNGs, sweep plots)."),
    detections: list[Path] = typer.Option(None, "--detections", help="Per sweep, in order: an annotation JSONL to use instead of the detector (e.g. the phantom's ground truth)."),
    degrade_boxes: bool = typer.Option(False, "--degrade", help="Spoil --detections boxes like a detector (drops, jitter, false positives)."),
    model: Path = typer.Option(None, "--model", help="Detector model (model.pt or .onnx; default: the bundled one)."),
    config: Path = typer.Option(None, "--config", help="Views config JSON (default: the bundled weights)."),
    seed: int = typer.Option(0, "--seed", help="Seed of --degrade."),
    force: bool = typer.Option(False, "--force", help="Replace the --out folder if it exists and is not empty."),
) -> None:
    """Choose the standard views (AHV, TVV, BV, MSV, RPSV, LPSV) from sweeps; a still is classified."""
    from neocus.io import load_sweep
    from neocus.io.roi import crop_to_imaging_region
    from neocus.views import SweepDetections, classify_still, exam_views, load_config, sweep_views
    from neocus.views.output import png_bytes, sweep_plot_png, views_json

    if detections and len(detections) != len(sweeps):
        raise NeocusError(f"{len(detections)} detection files for {len(sweeps)} sweeps", where="detections",
                          hint="give one `detections` file per sweep, in the same order")
    cfg = load_config(config)
    files: dict[str, bytes] = {}
    results, loaded = [], {}
    for i, path in enumerate(sweeps):
        sweep = load_sweep(path)
        dets = _detections(sweep, detections[i] if detections else None, model=model, degrade_boxes=degrade_boxes, seed=seed + i)
        if sweep.n_frames == 1 and len(sweeps) == 1:
            still = classify_still(dets[0].detections if dets else (), config=cfg)
            files["still.json"] = (json.dumps(still.to_dict(), indent=2) + "\n").encode()
            atomic_write_folder(files, out, force=force)
            console.print(f"{escape(str(path))}: {still.view.value if still.view else 'no standard view'} (score {still.score:.2f})"
                          + (f" - {escape(still.reason)}" if still.reason else ""))
            return
        sv = sweep_views(SweepDetections(path.name, dets, sweep.n_frames, sweep.meta.fps), config=cfg)
        results.append(sv)
        loaded[path.name] = sweep
        files[f"sweep_{i}_{path.stem}.png"] = sweep_plot_png(sv)
    exam = exam_views(results)
    cropped: dict[str, np.ndarray] = {}
    for v, c in exam.views.items():
        if c is not None:
            if c.sweep not in cropped:
                cropped[c.sweep] = crop_to_imaging_region(loaded[c.sweep]).sweep.frames
            files[f"{v.value}.png"] = png_bytes(cropped[c.sweep][c.frame])
    files["views.json"] = views_json(exam).encode()
    atomic_write_folder(files, out, force=force)
    for v, c in exam.views.items():
        text = f"{c.sweep} frame {c.frame} (confidence {c.confidence:.2f})" if c else f"missing: {exam.missing[v]}"
        console.print(f"{v.value:5s} {escape(text)}")
    console.print(f"[bold]{'unsuitable: ' + escape(exam.reason) if exam.unsuitable else f'{exam.usable} usable views'}[/]")


@fit_app.command("views")
def fit_views(
    data: list[Path] = typer.Option(..., "--data", help="Phantom dataset(s) with ground truth (neocus simulate)."),
    out: Path = typer.Option(..., "--out", help="Config JSON to write (use it with --config)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the oracle degradation of the boxes."),
    detector: Path = typer.Option(None, "--detector", help="Fit/judge on this detector model's output on the sweeps (e.g. models/detector/default.pt) instead of oracle-degraded ground-truth boxes."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
) -> None:
    """Fit the view-scoring weights on phantom sweeps (oracle-degraded ground-truth boxes, or a detector's output)."""
    from neocus.views.config import config_json
    from neocus.views.fit import fit_weights

    if out.exists() and not force:
        raise NeocusError("file exists", where=out, hint="choose a new file or pass `force`")
    cases = _cases(data, seed=seed, detector=detector)
    cfg, report = fit_weights(cases)
    source = f"detector {detector.name} output" if detector else f"oracle-degraded boxes, seed {seed}"
    about = f"fitted by `neocus fit views` on {len(cases)} cases of {', '.join(str(d) for d in data)} ({source})"
    atomic_write_text(out, json.dumps(config_json(cfg, about=about), indent=2) + "\n")
    console.print(f"wrote {escape(str(out))}: {report.n_frames} frames; training accuracy "
                  + ", ".join(f"{v.value} {a:.3f}" for v, a in report.train_accuracy.items()))


@evaluate_app.command("views")
def evaluate_views(
    data: list[Path] = typer.Option(..., "--data", help="Phantom dataset(s) with ground truth (neocus simulate)."),
    out: Path = typer.Option(..., "--out", help="Output folder (metrics.json, outcomes.json)."),
    config: Path = typer.Option(None, "--config", help="Views config JSON (default: the bundled weights)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the oracle degradation of the boxes."),
    oracle_side: bool = typer.Option(False, "--oracle-side", help="Give each sagittal sweep its true direction (measures what the unknown side costs)."),
    detector: Path = typer.Option(None, "--detector", help="Fit/judge on this detector model's output on the sweeps (e.g. models/detector/default.pt) instead of oracle-degraded ground-truth boxes."),
    force: bool = typer.Option(False, "--force", help="Replace the --out folder if it exists and is not empty."),
) -> None:
    """Hit rate etc. of the chosen views against phantom ground truth, per preset (oracle-degraded boxes, or a detector's output)."""
    from neocus.results import rounded
    from neocus.views import load_config
    from neocus.views.evaluate import DETECTOR_NOTE, NOTE, evaluate_cases

    cfg = load_config(config)
    cases = _cases(data, seed=seed, detector=detector)
    note = f"{DETECTOR_NOTE} ({detector.name})" if detector else NOTE
    metrics, outcomes = evaluate_cases(cases, config=cfg, oracle_side=oracle_side, note=note)
    atomic_write_folder({"metrics.json": (json.dumps(rounded(metrics, 4), indent=2) + "\n").encode(),
                  "outcomes.json": (json.dumps(rounded(outcomes, 4), indent=1) + "\n").encode()}, out, force=force)
    for preset, m in metrics.per_preset.items():
        console.print(f"{escape(preset)}: hit rate {m.hit_rate if m.hit_rate is None else round(m.hit_rate, 3)} "
                      f"({m.n_views_present} views in {m.n_cases} cases), unsuitable {m.unsuitable_rate:.2f}")
    console.print(f"[bold]hit rate {metrics.hit_rate if metrics.hit_rate is None else round(metrics.hit_rate, 3)}[/] ({metrics.note})")
