"""``neocus hie train|segment|evaluate``: HIE lesion segmentation on neonatal diffusion MRI."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.markup import escape

from neocus.cli.app import _group, console, err_console, parse_device
from neocus.errors import NeocusError

hie_app = _group("hie", "HIE lesion segmentation on neonatal diffusion MRI (ADC, Z-ADC); research software, not a clinical device.")

_FLAGS = {"loss region": "--loss-region", "channel": "--channels", "model": "--model-kind", "loss": "--loss", "patch": "--patch", "level": "--level", "folds": "--folds", "device": "--device"}


def _flagged(exc: NeocusError) -> NeocusError:
    """Library errors name parameters; on the console they name the flag."""
    if exc.where in _FLAGS:
        exc.where = _FLAGS[exc.where]
        exc.args = (exc.message,)
    return exc


def _patch(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise NeocusError(f"--patch must be integers separated by commas, got {text!r}", hint="e.g. 128,128 (2.5-D) or 16,96,96 (3-D)") from None
    if any(v < 8 for v in values):
        raise NeocusError(f"--patch sizes must be at least 8, got {text!r}")
    return values


@hie_app.command("train")
def train(
    data: Path = typer.Option(..., "--data", help="Dataset folder: BONBID layout (ADC_ss/, Z_ADC/, LABEL/) or cases.csv."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (a model folder; re-running the same command resumes)."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds (by patient)."),
    model_kind: str = typer.Option("unet25d", "--model-kind", help="unet25d, dynunet25d or unet3d."),
    loss: str = typer.Option("dicece", "--loss", help="dice, ce, dicece, dicefocal or tversky."),
    loss_region: str = typer.Option("all", "--loss-region", help="Where the loss is computed: all, or zlow (the post-processing gate, dilated 2 voxels in-plane; dicece and the zlow channel only)."),
    channels: str = typer.Option("adc,zadc,zlow", "--channels", help="Input channels: adc, zadc, zlow (Z-ADC < -2), comma-separated, adc first."),
    patch: str = typer.Option("", "--patch", help="Training patch: H,W (2.5-D, default 128,128) or Z,H,W (3-D, default 16,96,96)."),
    epochs: int = typer.Option(30, "--epochs", help="Epochs per fold."),
    steps: int = typer.Option(10, "--steps", help="Optimiser steps per epoch."),
    batch: int = typer.Option(0, "--batch", help="Patches per step (default 8 for 2.5-D, 2 for 3-D)."),
    lr: float = typer.Option(2e-3, "--lr", help="Learning rate (AdamW, cosine decay)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds, weights and augmentation."),
    init: Path | None = typer.Option(None, "--init", help="Warm start: each fold continues from that fold's model of an earlier run on the same data, folds and seed."),
    tta: bool = typer.Option(False, "--tta", help="Inference (out-of-fold maps and the saved model): also predict the left-right mirrored input and average."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    force: bool = typer.Option(False, "--force", help="Delete a previous neocus training output in --out and start again."),
) -> None:
    """Cross-validate a segmentation model by patient; writes a model folder with the fold models,
    out-of-fold post-processing and the cross-validation metrics."""
    from neocus.hie.models import ModelConfig, ModelKind
    from neocus.hie.train import TrainOptions, cross_validate

    device = parse_device(device)
    if epochs < 1 or steps < 1 or batch < 0 or lr <= 0:
        raise NeocusError("--epochs, --steps and --lr must be positive and --batch non-negative")
    if out.exists() and any(out.iterdir()):
        if not (out / "folds.json").is_file():
            raise NeocusError("the output folder exists and is not a neocus HIE training output", where=out, hint="choose a new folder")
        if force:
            shutil.rmtree(out)
        else:
            err_console.print(f"resuming the run in {escape(str(out))}", highlight=False)
    try:
        is3d = model_kind == ModelKind.UNET3D.value
        config = ModelConfig(
            model=model_kind, loss=loss, channels=tuple(c.strip() for c in channels.split(",")),
            patch=_patch(patch) if patch else ((16, 96, 96) if is3d else (128, 128)), zadc_dropout=0.0 if (channels == "adc" or is3d) else 0.2, tta_flip=tta, loss_region=loss_region,
        )
    except NeocusError as exc:
        raise _flagged(exc) from None
    except ValueError as exc:
        raise NeocusError(str(exc), where="--patch / --channels / --loss-region", hint="2.5-D models take H,W, unet3d Z,H,W; channels start with adc; --loss-region zlow needs --loss dicece and the zlow channel") from None
    options = TrainOptions(folds=folds, epochs=epochs, steps_per_epoch=steps, batch_size=batch or (2 if is3d else 8), lr=lr, device=device, init_from=init)
    with err_console.status("training", spinner="dots") as status:
        try:
            result = cross_validate(data, out, config=config, options=options, progress=lambda m: status.update(escape(m)), seed=seed)
        except NeocusError as exc:
            raise _flagged(exc) from None
    for f in result.folds:
        console.print(f"fold {f.fold + 1}: {len(f.held_out)} held out, {f.train_seconds:.0f} s", highlight=False)
    console.print(
        f"out-of-fold mean Dice {result.dice:.3f}; post-processing threshold {result.post.threshold:.2f}, "
        f"min component {result.post.min_component_mm3:g} mm3; wrote {escape(str(out))}",
        highlight=False,
    )


@hie_app.command("ensemble")
def ensemble_cmd(
    runs: list[Path] = typer.Argument(..., help="Two or more finished training outputs on the same data, folds and channels."),
    data: Path = typer.Option(..., "--data", help="The dataset folder the runs were trained on."),
    out: Path = typer.Option(..., "--out", "-o", help="Output model folder (members/<run name>/, postprocess.json, out-of-fold metrics)."),
    force: bool = typer.Option(False, "--force", help="Replace a previous ensemble folder in --out."),
) -> None:
    """Equal-weight ensemble of cross-validation runs as one model folder; its post-processing is
    fitted on the mean of the runs' out-of-fold maps, and its out-of-fold metrics are written."""
    from neocus.hie.ensemble import build_ensemble

    with err_console.status("building the ensemble", spinner="dots") as status:
        result = build_ensemble(runs, data, out, force=force, progress=lambda m: status.update(escape(m)))
    console.print(
        f"{len(result.members)} members ({escape(', '.join(result.members))}); out-of-fold mean Dice {result.dice:.3f}; "
        f"post-processing threshold {result.post.threshold:.2f}, min component {result.post.min_component_mm3:g} mm3; wrote {escape(str(out))}",
        highlight=False,
    )


@hie_app.command("segment")
def segment_cmd(
    adc: Path = typer.Argument(..., help="ADC volume (MHA, NIfTI, NRRD or a DICOM series folder)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: mask, montage.png, result.json."),
    zadc: Path | None = typer.Option(None, "--zadc", help="ADC z-score map on the same grid (improves accuracy)."),
    model: Path | None = typer.Option(None, "--model", help="Model folder (default: the bundled models/hie)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    force: bool = typer.Option(False, "--force", help="Replace a previous neocus output in --out."),
) -> None:
    """Segment HIE lesions of one patient; the mask is written on the input grid, in the input's format."""
    from neocus.hie.segment import segment_files

    device = parse_device(device)
    with err_console.status("segmenting", spinner="dots"):
        result, written = segment_files(adc, zadc=zadc, out_dir=out, model_dir=model, device=device, force=force)
    if not result.used_zadc:
        err_console.print("[yellow]warning:[/] no Z-ADC map given: on ADC alone the bundled model is not useful (out-of-fold Dice 0.06; see docs/hie.md)", highlight=False)
    console.print(f"lesion {result.lesion_ml:.2f} ml in {result.n_components} components ({result.seconds:.1f} s)", highlight=False)
    console.print("wrote " + ", ".join(escape(p.name) for p in written) + f" to {escape(str(out))}", highlight=False)


@hie_app.command("evaluate")
def evaluate_cmd(
    data: Path = typer.Option(..., "--data", help="Labelled dataset folder (BONBID layout or cases.csv)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: metrics.json, cases.csv."),
    model: Path | None = typer.Option(None, "--model", help="Model folder (default: the bundled models/hie)."),
    level: float = typer.Option(0.95, "--level", help="Confidence level of the intervals over patients."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    force: bool = typer.Option(False, "--force", help="Replace a previous neocus output in --out."),
) -> None:
    """Judge a model on labelled patients: Dice, MASD, NSD, HD95, sensitivity, specificity, detection."""
    from neocus.hie.evaluate import METRICS_NAME, evaluate_dataset, write_evaluation
    from neocus.hie.infer import load_model
    from neocus.atomic import check_output_dir

    device = parse_device(device)
    check_output_dir(out, force=force, marker=METRICS_NAME)  # before the long work
    with err_console.status("evaluating", spinner="dots") as status:
        try:
            result = evaluate_dataset(data, model=load_model(model, device=device), level=level, device=device, progress=lambda m: status.update(escape(m)))
        except NeocusError as exc:
            raise _flagged(exc) from None
        write_evaluation(result, out, force=force)
    r = result.report
    for name in ("dice", "masd", "nsd", "hd95", "sensitivity", "specificity", "detection_rate"):
        s = getattr(r, name)
        console.print(f"{name:15s} {s.mean:.3f} [{s.ci[0]:.3f}, {s.ci[1]:.3f}] (n={s.n})", highlight=False)
    console.print(f"{r.n_patients} patients, {result.seconds_per_case:.1f} s per case; wrote {escape(str(out))}", highlight=False)
