"""``neocus train detector``, ``neocus evaluate detector`` and ``neocus export detector``."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neocus.cli.app import console, err_console, evaluate_app, export_app, train_app
from neocus.errors import NeocusError

ALL_PRESETS = ["internal", "internal_microconvex", "external", "blind"]
EVAL_PRESETS = ["internal", "external", "blind"]


@contextmanager
def _bar(label: str, total: int):  # noqa: ANN202
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}")]
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(label, total=total, info="")
        yield lambda n=1, info="": progress.update(task, advance=n, info=info)


def _phantom_pool(presets: list[str], n: int, seed: int, cache: Path | None, *, train: bool) -> dict[str, list]:
    from neocus.detect.data import TRAIN_TAG, PhantomRecipe, phantom_eval_set, render_pool

    if n < 1:
        raise NeocusError(f"the number of phantom frames must be at least 1, got {n}", where="phantom_frames")
    if train:
        with _bar("rendering phantom frames (cached)", n) as step:
            return {"phantom": render_pool(PhantomRecipe(presets, tag=TRAIN_TAG, seed=seed), n, cache_dir=cache, progress=step)}
    out = {}
    for p in presets:
        with _bar(f"rendering held-out {p} frames (cached)", n) as step:
            out[p] = phantom_eval_set(p, n, seed=seed, cache_dir=cache, progress=step)
    return out


@train_app.command("detector")
def train_detector_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: model.pt, last.pt (resumable), metrics.jsonl, loss.png, config.json."),
    data: Path | None = typer.Option(None, "--data", help="A neocus dataset with box annotations. Without it: the phantom recipe."),
    config: str = typer.Option("default", "--config", help="Config name (paper, default, tiny) or a .json file."),
    steps: int = typer.Option(2000, "--steps", help="Total optimiser steps (a resumed run continues to this number)."),
    phantom_frames: int = typer.Option(1200, "--phantom-frames", help="Phantom recipe: frames rendered once and cached, augmented on the fly."),
    preset: list[str] = typer.Option(ALL_PRESETS, "--preset", help="Phantom recipe: scanner presets to draw from (repeatable)."),
    cache: Path | None = typer.Option(None, "--cache", help="Folder for the rendered phantom frames (default: OUT/frame-cache)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the phantom frames, the batches and the initial weights."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last.pt."),
    force: bool = typer.Option(False, "--force", help="Start again in an --out that holds an earlier run."),
) -> None:
    """Train the rotated-box structure detector (RT-DETR family) on a dataset or on the phantom."""
    import torch

    from neocus.detect.config import load_config
    from neocus.detect.data import dataset_samples
    from neocus.atomic import check_output_dir
    from neocus.detect.train import train_detector

    cfg = load_config(config)
    if steps < 1:
        raise NeocusError(f"--steps must be at least 1, got {steps}")
    if device not in ("cpu", "cuda") or (device == "cuda" and not torch.cuda.is_available()):
        raise NeocusError(f"device {device!r} is not available here", hint="use --device cpu")
    if not resume:
        check_output_dir(out, force=force, marker="config.json")
    elif not (out / "last.pt").is_file():
        raise NeocusError("nothing to resume (no last.pt)", where=out, hint="start the run without --resume")
    if data is not None:
        with err_console.status(f"reading annotated frames of {escape(str(data))}", spinner="dots"):
            pool = dataset_samples(data)
        info = {"source": "dataset", "path": str(data), "frames": len(pool)}
    else:
        pool = _phantom_pool(list(preset), phantom_frames, seed, cache or out / "frame-cache", train=True)["phantom"]
        info = {"source": "phantom", "presets": list(preset), "frames": phantom_frames, "seed": seed}
    with _bar(f"training {cfg.name}", steps) as step:
        last = [0]

        def report(done: int, row: dict) -> None:
            step(done - last[0], f"loss {row['loss']:.3f}")
            last[0] = done

        result = train_detector(pool, cfg, out_dir=out, steps=steps, resume=resume, device=device, seed=seed, data_info=info, progress=report)
    console.print(f"loss {result.first_loss:.3f} -> {result.final_loss:.3f} in {result.seconds:.0f} s; model: {escape(str(result.model_path))}", highlight=False)


@evaluate_app.command("detector")
def evaluate_detector_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Folder for metrics.json and the PR-curve PNGs (must be new or empty)."),
    data: Path | None = typer.Option(None, "--data", help="A neocus dataset with box annotations. Without it: held-out phantom sets."),
    model: Path | None = typer.Option(None, "--model", help="model.pt or .onnx (default: the bundled default model)."),
    phantom_frames: int = typer.Option(100, "--phantom-frames", help="Held-out phantom frames per preset."),
    preset: list[str] = typer.Option(EVAL_PRESETS, "--preset", help="Held-out phantom presets (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out phantom sets (a namespace never used in training)."),
    cache: Path | None = typer.Option(None, "--cache", help="Folder for rendered phantom frames (default: none)."),
    raw_boxes: bool = typer.Option(False, "--raw-boxes", help="Score against the truth boxes as given, thin ones not widened to the detector's convention."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it holds an earlier evaluation."),
) -> None:
    """Rotated mAP@0.5 and mAP@0.5:0.95 (exact polygon IoU, COCO 101-point) and per-class AP."""
    from neocus.detect.data import MIN_SHORT_SIDE, dataset_samples
    from neocus.detect.infer import Detector
    from neocus.atomic import check_output_dir
    from neocus.detect.report import evaluate_sets, write_evaluation

    check_output_dir(out, force=force, marker="metrics.json")
    backend = "onnx" if model is not None and model.suffix == ".onnx" else "torch"
    detector = Detector(model, backend=backend, score_threshold=0.001, max_detections=100)
    if data is not None:
        with err_console.status(f"reading annotated frames of {escape(str(data))}", spinner="dots"):
            sets = {"dataset": dataset_samples(data)}
    else:
        sets = _phantom_pool(list(preset), phantom_frames, seed, cache, train=False)
    with _bar("detecting", sum(len(v) for v in sets.values())) as step:
        run = evaluate_sets(detector, sets, min_short_side=0.0 if raw_boxes else MIN_SHORT_SIDE, progress=step)
    info = {"model": str(model) if model else "bundled default", "data": str(data) if data else "phantom", "seed": seed,
            "min_short_side": 0.0 if raw_boxes else MIN_SHORT_SIDE}
    write_evaluation(run, out, info=info, force=force)
    for name, m in run.sets.items():
        console.print(f"{escape(name)}: mAP50 {m.map50:.3f}  mAP50:95 {m.map50_95:.3f}  ({m.n_frames} frames, {m.n_true} boxes)", highlight=False)
    console.print(f"all: mAP50 {run.overall.map50:.3f}  mAP50:95 {run.overall.map50_95:.3f}; wrote {escape(str(out / 'metrics.json'))}", highlight=False)


@export_app.command("detector")
def export_detector_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="The .onnx file to write."),
    model: Path | None = typer.Option(None, "--model", help="model.pt (default: the bundled default model)."),
    int8: bool = typer.Option(False, "--int8", help="Also write a static INT8 (QDQ) copy beside it (<name>.int8.onnx), calibrated on phantom training frames."),
    cache: Path | None = typer.Option(None, "--cache", help="Folder of rendered phantom frames for the INT8 calibration (default: none)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
) -> None:
    """Export the detector to ONNX and check onnxruntime against torch on random frames."""
    from neocus.detect.checkpoint import load_model
    from neocus.detect.data import calibration_frames
    from neocus.detect.export import PARITY_BOX_TOL_PX, PARITY_SCORE_TOL, check_parity, export_onnx, quantize_static_int8

    if out.suffix != ".onnx":
        raise NeocusError("the output must end in .onnx", where=out, hint="e.g. --out detector.onnx")
    if out.exists() and not force:
        raise NeocusError("file exists", where=out, hint="choose another name or allow replacing it")
    with err_console.status("exporting", spinner="dots"):
        path = export_onnx(model, out_path=out)
        parity = check_parity(model, onnx_path=path)
    console.print(json.dumps(parity.to_dict()), highlight=False)
    if not parity.within_tolerance:
        raise NeocusError(f"onnxruntime differs from torch beyond {PARITY_BOX_TOL_PX} px / {PARITY_SCORE_TOL}", where=path,
                          hint="report this; the file was written for inspection")
    if int8:
        with err_console.status("calibrating and quantising to INT8", spinner="dots"):
            calib = calibration_frames(load_model(model).config.model.input_size, n=32, cache_dir=cache)
            q = quantize_static_int8(path, calib, out_path=out.with_suffix(".int8.onnx"))
        console.print(f"wrote {escape(str(q))} (INT8; check its mAP with `neocus evaluate detector --model`)", highlight=False)
    console.print(f"wrote {escape(str(path))}", highlight=False)
