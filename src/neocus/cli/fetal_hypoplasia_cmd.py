"""``neocus fetal train hypoplasia``: the cerebellar hypoplasia classifier on the fetal head phantom."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from neocus.cli.app import console, err_console
from neocus.cli.fetal_cmd import fetal_train_app
from neocus.errors import NeocusError


def hypoplasia_pools(pool_dir: Path, *, n_cases: int, val_cases: int, seed: int) -> dict:
    """The training and validation pools (``pool.npz`` seed 3000 + seed, ``val_pool.npz`` seed 4000 + seed) in
    ``pool_dir``, rendered once and reused (every variant of an ablation trains on the same images)."""
    from neocus.fetal.hypoplasia_data import cached_hypoplasia_pool

    if n_cases < 1 or val_cases < 1:
        raise NeocusError(f"case counts {n_cases} and {val_cases} must be at least 1", where="--cases", hint="give e.g. --cases 2400 --val-cases 400")
    pool_dir.mkdir(parents=True, exist_ok=True)
    pools = {}
    for name, n, pool_seed in (("pool.npz", n_cases, 3000 + seed), ("val_pool.npz", val_cases, 4000 + seed)):
        with err_console.status(f"phantom images: {name}", spinner="dots") as status:
            pools[name] = cached_hypoplasia_pool(pool_dir / name, n, seed=pool_seed,
                                                 progress=lambda i, total: status.update(f"rendering trans-cerebellar phantom images {i}/{total}"))
    return pools


@fetal_train_app.command("hypoplasia")
def train_hypoplasia_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Model folder (re-running the same command resumes)."),
    variant: str = typer.Option("unconstrained", "--variant", help="unconstrained (image only), auxseg (auxiliary segmentation loss) or attention (pools inside the predicted cerebellum and cistern)."),
    n_cases: int = typer.Option(2400, "--cases", help="Phantom trans-cerebellar training images (the four conditions in turn)."),
    val_cases: int = typer.Option(400, "--val-cases", help="Phantom validation images (another seed): best epoch, temperature and threshold."),
    pool_dir: Path | None = typer.Option(None, "--pool-dir", help="Folder keeping the rendered pools (default: --out); share it between variants."),
    epochs: int = typer.Option(20, "--epochs", help="Epochs (cosine decay over them)."),
    steps: int = typer.Option(30, "--steps", help="Batches of 32 per epoch."),
    minutes: float = typer.Option(11.0, "--minutes", help="Stop after the epoch that passes this time budget."),
    side: int = typer.Option(112, "--side", help="Network input side in pixels."),
    seed: int = typer.Option(0, "--seed", help="Seed of the phantom images, the weights and the randomisation."),
    ga_and_scale: bool = typer.Option(False, "--ga-and-scale", help="Also give the network the gestational age and the crop's mm per pixel (what `fetal measure` has from --ga and --pixel-mm)."),
    median_tcd_px: float | None = typer.Option(None, "--median-tcd-px", help="With --ga-and-scale: zoom the crop so that the median TCD for the GA is this many pixels wide (e.g. 30)."),
) -> None:
    """Train a cerebellar hypoplasia classifier on trans-cerebellar phantom images (normal, hypoplasia, mega
    cisterna magna, ventriculomegaly) with random per-structure intensities, crops, blur and noise."""
    from neocus.fetal.hypoplasia_model import HypoplasiaModelConfig
    from neocus.fetal.hypoplasia_train import HypoplasiaTrainOptions, train_hypoplasia

    if not 32 <= side <= 512:
        raise NeocusError(f"input side {side} is outside 32-512 pixels", where="--side", hint="give e.g. --side 112")
    config = HypoplasiaModelConfig(variant=variant, input_side=side, ga_and_scale=ga_and_scale, median_tcd_px=median_tcd_px)
    options = HypoplasiaTrainOptions(epochs=epochs, steps_per_epoch=steps, minutes=minutes)
    pools = hypoplasia_pools(pool_dir or out, n_cases=n_cases, val_cases=val_cases, seed=seed)
    with err_console.status("training", spinner="dots") as status:
        result = train_hypoplasia(pools["pool.npz"], pools["val_pool.npz"], out, config=config, options=options,
                                  progress=lambda m: status.update(escape(m)), seed=seed)
    console.print(f"{result.epochs_done} epochs in {result.seconds:.0f} s (resumed after epoch {result.resumed_from_epoch}); best phantom "
                  f"validation AUC {result.best_validation_auc:.3f} at epoch {result.best_epoch}; wrote {escape(str(out))}", highlight=False)
