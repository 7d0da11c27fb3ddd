"""``neocus fetal train fossa``: the posterior-fossa zoom stage (:mod:`neocus.fetal.fossa_zoom`) on the fetal head phantom."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from neocus.cli.app import console, err_console
from neocus.cli.fetal_cmd import _phantom_pools, fetal_train_app


@fetal_train_app.command("fossa")
def train_fossa_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Zoom model folder (re-running the same command resumes)."),
    n_cases: int = typer.Option(1500, "--cases", help="Phantom trans-cerebellar training images (whole, default size)."),
    val_cases: int = typer.Option(160, "--val-cases", help="Phantom trans-cerebellar validation images (another seed)."),
    first_stage: Path | None = typer.Option(None, "--first-stage", help="Posterior-fossa model whose boxes the validation crops use (default: the bundled models/fetal/cerebellum)."),
    init: Path | None = typer.Option(None, "--init", help="Start from this posterior-fossa model folder (same network; default: the first stage)."),
    side: int = typer.Option(160, "--side", help="Crop side in pixels (network input; a multiple of 16)."),
    margin: float = typer.Option(0.3, "--margin", help="Added to the cerebellum + cistern box on each side, as a fraction of its larger side."),
    epochs: int = typer.Option(12, "--epochs", help="Epochs (cosine decay over them)."),
    steps: int = typer.Option(36, "--steps", help="Batches per epoch."),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate (AdamW, cosine decay)."),
    minutes: float = typer.Option(18.0, "--minutes", help="Stop after the epoch that passes this time budget."),
    seed: int = typer.Option(0, "--seed", help="Seed of the phantom images, the weights and the randomisation."),
    small_weight: float = typer.Option(1.0, "--small-weight", help="Loss weight of the cerebellum and cistern classes (others 1; in the zoom crop they are not small)."),
    val_images: int = typer.Option(80, "--val-images", help="Validation images scored after each epoch (crops at the first stage's box)."),
) -> None:
    """Train the posterior-fossa zoom stage: a square crop of the source image around the cerebellum and
    cisterna magna (from the true box with the first stage's box errors imitated), phantom images only."""
    from neocus.fetal.cerebellum import default_cerebellum_dir, load_cerebellum_model
    from neocus.fetal.fossa_zoom_train import DEFAULT_ZOOM_CONFIG, ZoomTrainOptions, train_zoom
    from neocus.fetal.skull_model import SkullModelConfig

    config = SkullModelConfig(net=DEFAULT_ZOOM_CONFIG.net, features=DEFAULT_ZOOM_CONFIG.features, input_shape_hw=(side, side))
    options = ZoomTrainOptions(epochs=epochs, steps_per_epoch=steps, lr=lr, minutes=minutes, val_images=val_images, margin=margin,
                               small_weight=small_weight)
    first_dir = first_stage if first_stage is not None else default_cerebellum_dir()
    with err_console.status("loading the first-stage posterior-fossa model", spinner="dots"):
        first = load_cerebellum_model(first_dir, zoom=False)
    pools = _phantom_pools(out, n_cases=n_cases, val_cases=val_cases, seed=seed, zoom=True)
    with err_console.status("training", spinner="dots") as status:
        result = train_zoom(pools["pool.npz"], pools["val_pool.npz"], out, first_stage=first, config=config, options=options,
                            init=init if init is not None else first_dir, progress=lambda m: status.update(escape(m)), seed=seed)
    console.print(f"{result.epochs_done} epochs in {result.seconds:.0f} s (resumed after epoch {result.resumed_from_epoch}); best phantom "
                  f"validation Dice (cerebellum and cistern mean, zoom crops) {result.best_validation_dice:.3f} at epoch {result.best_epoch}; "
                  f"wrote {escape(str(out))}", highlight=False)
