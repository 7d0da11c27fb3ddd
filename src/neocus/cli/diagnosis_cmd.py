"""``neocus train diagnosis`` and ``neocus evaluate diagnosis``: the multi-view diagnosis model on a
dataset with view stills, or on phantom cases drawn on the fly."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from neocus.cli.app import console, err_console, evaluate_app, export_app, train_app
from neocus.errors import NeocusError

CASE_SOURCE_HELP = "Phantom preset to draw cases from (internal, internal_microconvex, external, blind) instead of --data."


@contextmanager
def progress_bar():
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=False) as progress:
        tasks: dict[str, int] = {}

        def update(label: str, done: int, total: int) -> None:
            key = label.split(" epoch")[0]
            if key not in tasks:
                tasks[key] = progress.add_task(label, total=total)
            progress.update(tasks[key], completed=done, total=total, description=label)

        yield update


def load_cases(data: Path | None, phantom: str | None, *, part: str, cases: int, neighbours: int, phantom_seed: int,
               size_hw: tuple[int, int], cache: Path | None, workers: int = 1):
    """Cases from a dataset (``part``: 'train' = development cases, 'test' = held-out cases, or all when
    the dataset has no splits) or from the phantom (cached in ``cache`` when given)."""
    from neocus.diagnose.data import dataset_examples, load_examples, phantom_examples, save_examples

    if (data is None) == (phantom is None):
        raise NeocusError("give either --data DATASET or --phantom PRESET", hint="one source of cases")
    if data is not None:
        from neocus.data.dataset import Dataset

        ds = Dataset.load(data)
        ids = None
        if ds.splits is not None and ds.splits.test:
            ids = ds.splits.test if part == "test" else [c for c in ds.case_ids if c not in set(ds.splits.test)]
        return dataset_examples(ds, ids, size_hw=size_hw)
    if cache is not None and cache.is_file():
        return load_examples(cache)
    if cases < 1:
        raise NeocusError(f"--cases must be at least 1, got {cases}")
    with progress_bar() as update:
        examples = phantom_examples(cases, preset=phantom, size_hw=size_hw, neighbours=neighbours, seed_base=phantom_seed,
                                    workers=workers, progress=lambda d, t: update(f"phantom cases ({phantom})", d, t))
    if cache is not None:
        save_examples(cache, examples)
    return examples


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and any(out.iterdir()) and not force:
        raise NeocusError("folder exists and is not empty", where=out, hint="choose a new folder, pass --resume, or --force to replace it")
    if out.exists() and force:
        if not (out / "config.json").is_file() and not (out / "folds.json").is_file():
            raise NeocusError("refusing to replace a folder that is not a neocus diagnosis model", where=out)
        shutil.rmtree(out)


@train_app.command("diagnosis")
def train_diagnosis(
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the model bundle (config, fold weights, calibration, logs)."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder with view stills (cases/<id>/views/<VIEW>.png) and labels."),
    phantom: str | None = typer.Option(None, "--phantom", help=CASE_SOURCE_HELP),
    cases: int = typer.Option(200, "--cases", help="Phantom cases to draw."),
    neighbours: int = typer.Option(2, "--neighbours", help="Jittered neighbour stills per view that training draws from (phantom)."),
    phantom_seed: int = typer.Option(0, "--phantom-seed", help="Seed of the first phantom case (case i uses seed + i)."),
    cache: Path | None = typer.Option(None, "--cache", help="Pickle file to reuse / store the generated phantom cases."),
    workers: int = typer.Option(1, "--workers", help="Processes rendering phantom cases."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds by case (1: one model on all cases)."),
    only_fold: list[int] = typer.Option([], "--only-fold", help="Train only these folds (repeatable)."),
    epochs: int = typer.Option(20, "--epochs"),
    batch_size: int = typer.Option(8, "--batch-size"),
    lr: float = typer.Option(1e-3, "--lr"),
    backbone: str = typer.Option("atto", "--backbone", help="ConvNeXt variant: atto, femto, pico, nano, tiny."),
    backbone_weights: Path | None = typer.Option(None, "--backbone-weights", help="Local timm ConvNeXt state dict (ImageNet)."),
    image_size: int = typer.Option(128, "--image-size", help="Square input size in pixels (multiple of 32)."),
    layer_scale_init: float = typer.Option(1e-6, "--layer-scale-init", help="Initial ConvNeXt layer scale (timm 1e-6)."),
    metadata: bool = typer.Option(False, "--metadata/--no-metadata", help="Add the metadata token (GA, age, birth weight)."),
    grade_loss: str = typer.Option("ce", "--grade-loss", help="ce or ordinal."),
    calibration: str = typer.Option("temperature", "--calibration", help="none, temperature or isotonic (fitted on out-of-fold)."),
    tta: str = typer.Option("flip", "--tta", help="Default test-time augmentation of the bundle: none or flip."),
    regmixup_alpha: float = typer.Option(10.0, "--regmixup-alpha", help="RegMixup Beta(alpha, alpha); 0 turns it off."),
    image_loss_weight: float = typer.Option(1.0, "--image-loss-weight", help="Weight of the multi-label image loss (0: binary-only baseline)."),
    augment: bool = typer.Option(True, "--augment/--no-augment"),
    seed: int = typer.Option(0, "--seed", help="Seed of the folds, initialisation, augmentation and order."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue the runs in --out from their last checkpoints."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it holds an earlier model."),
) -> None:
    """Train the multi-view diagnosis model with k-fold cross-validation by case."""
    from neocus.diagnose.config import DiagnosisConfig, ModelConfig, RuleConfig
    from neocus.diagnose.train import TrainConfig, train_cv

    if epochs < 1 or batch_size < 1:
        raise NeocusError("--epochs and --batch-size must be at least 1")
    if folds < 1:
        raise NeocusError(f"--folds must be at least 1, got {folds}")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise NeocusError("CUDA is not available on this machine", where="--device", hint="use --device cpu")
    config = DiagnosisConfig(
        model=ModelConfig(backbone=backbone, image_size_hw=(image_size, image_size), use_metadata=metadata, grade_loss=grade_loss,
                          layer_scale_init=layer_scale_init),
        rule=RuleConfig(), tta=tta, calibration=calibration,
    ).check()
    tcfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, regmixup_alpha=regmixup_alpha, use_augment=augment, seed=seed,
                       image_weight=image_loss_weight,
                       device=device, backbone_weights=str(backbone_weights) if backbone_weights else None)
    if not resume:
        _prepare_out(out, force)
    examples = load_cases(data, phantom, part="train", cases=cases, neighbours=neighbours, phantom_seed=phantom_seed,
                          size_hw=config.model.image_size_hw, cache=cache, workers=workers)
    n_sev = sum(1 for c in examples if c.severe == 1)
    console.print(f"{len(examples)} cases ({n_sev} severe), {folds} folds, {config.model.backbone.value} at {image_size} px", highlight=False)
    with progress_bar() as update:
        results = train_cv(examples, config=config, train_config=tcfg, out_dir=out, n_folds=folds,
                           only_folds=only_fold or None, resume=resume, progress=update)
    for r in results:
        last = r.history[-1] if r.history else None
        auc = "-" if last is None or last.val_auc is None else f"{last.val_auc:.3f}"
        console.print(f"fold {r.fold}: {len(r.history)} epochs, last train loss {last.train_loss:.4f}, val AUC {auc}" if last else f"fold {r.fold}: done")
    console.print(f"wrote the model to {out}", highlight=False)


@evaluate_app.command("diagnosis")
def evaluate_diagnosis_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Folder for metrics.json, predictions.csv, the Table-2 report and pictures."),
    model: Path | None = typer.Option(None, "--model", help="Model bundle folder (default: the bundled models/diagnosis)."),
    data: Path | None = typer.Option(None, "--data", help="Dataset with view stills and labels (its test split when it has one)."),
    phantom: str | None = typer.Option(None, "--phantom", help=CASE_SOURCE_HELP),
    cases: int = typer.Option(100, "--cases", help="Held-out phantom cases."),
    phantom_seed: int = typer.Option(1_000_000, "--phantom-seed", help="Seed of the first held-out phantom case (keep apart from training seeds)."),
    cache: Path | None = typer.Option(None, "--cache", help="Pickle file to reuse / store the generated phantom cases."),
    workers: int = typer.Option(1, "--workers", help="Processes rendering phantom cases."),
    tta: str | None = typer.Option(None, "--tta", help="Override the bundle's TTA: none or flip."),
    fold: list[int] = typer.Option([], "--fold", help="Use only these folds (repeatable; default all)."),
    heatmaps: str = typer.Option("finer-cam", "--heatmap", help="finer-cam, grad-cam or none (hit rate and overlays)."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
) -> None:
    """Evaluate the diagnosis model: AUC, sensitivity, specificity (with CIs), Papile agreement, ECE, heatmap hits."""
    from neocus.diagnose.bundle import load_bundle
    from neocus.diagnose.evaluate import evaluate_diagnosis

    from neocus.diagnose.config import TtaMode
    from neocus.errors import parse_choice
    from neocus.explain import CamMethod

    if heatmaps != "none":
        parse_choice(CamMethod, heatmaps, what="heatmap")
    if tta is not None:
        parse_choice(TtaMode, tta, what="tta")
    bundle = load_bundle(model)
    if fold:
        bundle = bundle.select_folds(fold)
    examples = load_cases(data, phantom, part="test", cases=cases, neighbours=0, phantom_seed=phantom_seed,
                          size_hw=bundle.config.model.image_size_hw, cache=cache, workers=workers)
    with progress_bar() as update:
        result = evaluate_diagnosis(bundle, examples, out_dir=out, tta=tta, heatmap=heatmaps, overwrite=force,
                                    progress=lambda d, t: update("cases", d, t))
    m = result.metrics
    console.print(
        f"{m['n_cases']} cases ({m['n_severe']} severe): AUC {m['auc']['estimate']:.3f} "
        f"SEN {m['sensitivity']['estimate']:.3f} SPE {m['specificity']['estimate']:.3f} ECE {m['ece']:.3f}", highlight=False,
    )
    console.print(f"wrote {out}", highlight=False)


@export_app.command("diagnosis")
def export_diagnosis_cmd(
    model: Path = typer.Option(..., "--model", help="Trained bundle folder (written by 'neocus train diagnosis')."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the shipped bundle (e.g. models/diagnosis)."),
    weights: str = typer.Option("float16", "--weights", help="Storage of the fold weights: float32, float16 or int8 (per channel)."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it holds an earlier diagnosis model."),
) -> None:
    """Copy a trained diagnosis bundle without its checkpoints, fold weights stored compactly."""
    from neocus.diagnose.storage import WeightStorage, export_bundle
    from neocus.errors import parse_choice

    storage = parse_choice(WeightStorage, weights, what="weights")
    export_bundle(model, out, storage=storage, force=force)
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    console.print(f"wrote {out} ({size / 1e6:.1f} MB, weights {storage.value})", highlight=False)
