"""``neocus fetal measure|train skull|evaluate|simulate``: fetal head measurement on ultrasound (HC18 skull model) and the fetal head phantom."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from neocus.cli.app import NeocusTyper, _group, console, err_console, parse_device
from neocus.errors import NeocusError

fetal_app = _group("fetal", "Fetal head measurement on ultrasound (skull ellipse, HC / BPD / OFD, centiles) and the fetal head phantom; research software, not a clinical device.")
fetal_train_app = NeocusTyper(name="train", help="Train a fetal model (one command per model).", no_args_is_help=True)
fetal_app.add_typer(fetal_train_app, name="train")


@fetal_app.command("measure")
def measure_cmd(
    image: Path = typer.Argument(..., help="Ultrasound image of the fetal head (grey B-mode PNG or JPEG)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: mask.png, overlay.png, result.json."),
    ga: float | None = typer.Option(None, "--ga", help="Gestational age in weeks (14-42) for centiles."),
    pixel_mm: float | None = typer.Option(None, "--pixel-mm", help="Pixel size in mm (else read from the PNG; HC18 gives it in its CSV)."),
    model: Path | None = typer.Option(None, "--model", help="Skull model folder (default: the bundled models/fetal/skull)."),
    flip_tta: bool = typer.Option(False, "--flip-tta", help="Average with the left-right mirrored image (twice the time)."),
    plane: str | None = typer.Option(None, "--plane", help="The plane of the image (trans-cerebellar, trans-thalamic, trans-ventricular, other); "
                                     "without it the plane model recognises it. TCD and cisterna magna depth are measured on a trans-cerebellar one."),
    plane_model: Path | None = typer.Option(None, "--plane-model", help="Plane model folder (default: the bundled models/fetal/plane)."),
    fossa_model: Path | None = typer.Option(None, "--fossa-model", help="Posterior-fossa model folder (default: the bundled models/fetal/cerebellum)."),
    hypoplasia_model: Path | None = typer.Option(None, "--hypoplasia-model", help="Cerebellar hypoplasia model folder (default: the bundled models/fetal/hypoplasia)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    force: bool = typer.Option(False, "--force", help="Replace a previous neocus measurement in --out."),
) -> None:
    """Measure the fetal head in one image: skull mask, fitted ellipse, HC / BPD / OFD in mm, centiles for
    --ga; the plane (--plane, else recognised by the plane model); on a trans-cerebellar plane also TCD
    and cisterna magna depth and, with --ga and a pixel size, the cerebellar hypoplasia call (calibrated
    probability, flag, the TCD rule beside it, hypoplasia_heatmap.png); a value that cannot be measured
    is null in result.json with the reason. Phantom-trained research software, not a clinical device."""
    import cv2

    from neocus.atomic import atomic_write_folder, check_output_dir
    from neocus.errors import parse_choice
    from neocus.fetal.cerebellum import default_cerebellum_dir, load_cerebellum_model
    from neocus.fetal.measure import check_ga, draw_overlay, measure_fetal_head, read_fetal_image
    from neocus.vocab import FetalPlane
    from neocus.fetal.skull_model import load_skull_model
    from neocus.results import rounded

    check_ga(ga)
    check_output_dir(out, force=force, marker="result.json", kind="a neocus fetal measurement")
    if pixel_mm is not None and not (0 < pixel_mm <= 5):
        raise NeocusError(f"pixel size {pixel_mm!r} mm is not plausible", where="--pixel-mm", hint="give mm per pixel, e.g. 0.15")
    plane_given = None if plane is None else parse_choice(FetalPlane, plane.strip().lower().replace("-", "_"), what="--plane")
    frame = read_fetal_image(image)
    fossa, planes, hypo = None, None, None
    if plane_given is None:
        with err_console.status("loading the plane model", spinner="dots"):
            planes = _plane_model_or_none(plane_model)
    if plane_given is FetalPlane.TRANS_CEREBELLAR or planes is not None:
        with err_console.status("loading the posterior-fossa model", spinner="dots"):
            fossa = load_cerebellum_model(fossa_model if fossa_model is not None else default_cerebellum_dir())
        with err_console.status("loading the hypoplasia model", spinner="dots"):
            hypo = _hypoplasia_model_or_none(hypoplasia_model)
    with err_console.status("loading the skull model", spinner="dots"):
        skull = load_skull_model(model, device=parse_device(device))
    result, mask = measure_fetal_head(frame, skull, ga_weeks=ga, pixel_mm=pixel_mm, device=device, flip_tta=flip_tta,
                                      plane=plane_given, plane_model=planes, fossa_model=fossa, hypoplasia_model=hypo)
    files = {
        "result.json": (json.dumps(rounded(result.to_dict(), 4), indent=2) + "\n").encode(),
        "mask.png": cv2.imencode(".png", mask.astype("uint8") * 255)[1].tobytes(),
        "overlay.png": cv2.imencode(".png", draw_overlay(frame.grey, result))[1].tobytes(),
    }
    if result.hypoplasia_heatmap is not None:
        from neocus.fetal.hypoplasia_measure import HEATMAP_NAME

        files[HEATMAP_NAME] = cv2.imencode(".png", result.hypoplasia_heatmap)[1].tobytes()
    atomic_write_folder(files, out, force=force)
    m = result.measurements
    if not result.head_found:
        err_console.print(f"[yellow]warning:[/] {escape(result.reasons['hc_mm'])}", highlight=False)
    elif m["hc_mm"] is None:
        err_console.print(f"[yellow]warning:[/] {escape(result.reasons['hc_mm'])}; measurements in mm are null", highlight=False)
    else:
        cent = result.centiles["hc"]
        extra = f", centile {cent['centile']:.0f} at {ga:g} weeks" if cent else ""
        console.print(f"HC {m['hc_mm']:.1f} mm, OFD {m['ofd_mm']:.1f} mm, BPD (outer-outer) {m['bpd_outer_outer_mm']:.1f} mm{extra}", highlight=False)
    if result.plane_probabilities is not None:
        console.print(f"plane {result.plane} (recognised, probability {result.plane_probabilities[result.plane]:.2f})", highlight=False)
        for warning in result.warnings:
            err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    elif result.plane is None:
        err_console.print(f"[yellow]warning:[/] {escape(result.reasons['plane'])}", highlight=False)
    if result.plane == FetalPlane.TRANS_CEREBELLAR.value:
        for key, label in (("tcd_mm", "TCD"), ("cisterna_magna_mm", "cisterna magna depth")):
            value = m[key]
            console.print(f"{label} {value:.1f} mm" if value is not None else f"{label}: null ({escape(result.reasons[key])})", highlight=False)
        _print_hypoplasia(result)
    console.print(f"wrote {', '.join(files)} to {escape(str(out))} ({result.seconds:.2f} s)", highlight=False)


def _print_hypoplasia(result) -> None:
    h = result.hypoplasia
    if h is None:
        err_console.print(f"[yellow]hypoplasia:[/] null ({escape(result.reasons['hypoplasia'])})", highlight=False)
        return
    rule = h.tcd_rule
    rule_text = f"TCD rule: {'hypoplasia' if rule['call'] else 'normal'} (centile {rule['tcd_centile']:.1f})" if rule["call"] is not None \
        else f"TCD rule: null ({rule['reason']})"
    console.print(f"hypoplasia probability {h.probability:.2f} ({h.method}), {'FLAGGED' if h.flag else 'not flagged'} at "
                  f"{h.threshold:.2f}; {escape(rule_text)}", highlight=False)


def _hypoplasia_model_or_none(folder: Path | None):
    """The hypoplasia model of ``folder``, else the bundled one; ``None`` when none is given and none is bundled."""
    from neocus.fetal.hypoplasia_measure import load_hypoplasia_bundle
    from neocus.fetal.hypoplasia_model import CONFIG_NAME, default_hypoplasia_model_dir

    if folder is None and not (default_hypoplasia_model_dir() / CONFIG_NAME).is_file():
        return None
    return load_hypoplasia_bundle(folder)


def _plane_model_or_none(folder: Path | None):
    """The plane model of ``folder``, else the bundled one; ``None`` when none is given and none is bundled."""
    from neocus.fetal.plane_model import CONFIG_NAME, default_plane_model_dir, load_plane_model

    if folder is None and not (default_plane_model_dir() / CONFIG_NAME).is_file():
        return None
    return load_plane_model(folder)


@fetal_train_app.command("skull")
def train_skull_cmd(
    data: Path = typer.Option(..., "--data", help="Folder in the HC18 layout (images/NNN_HC.png, NNN_HC_Annotation.png, the CSV)."),
    out: Path = typer.Option(..., "--out", "-o", help="Model folder (re-running the same command resumes)."),
    net: str = typer.Option("basicunet", "--net", help="basicunet or attentionunet."),
    epochs: int = typer.Option(20, "--epochs", help="Epochs."),
    batch: int = typer.Option(8, "--batch", help="Images per optimiser step."),
    lr: float = typer.Option(3e-3, "--lr", help="Learning rate (AdamW, cosine decay)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split by file number, the weights and the augmentation."),
    phantom: int = typer.Option(0, "--phantom", help="Train on this many fetal phantom images (rendered into --out) instead of "
                                "the HC18 training images; --data still gives the validation images. 0: the real images."),
    init: Path | None = typer.Option(None, "--init", help="Skull model folder whose weights start the training (warm start, "
                                     "e.g. a --phantom run); same network, any input size."),
    input_hw: str = typer.Option("176x256", "--input-hw", help="Network input size HxW (multiples of 16); images are letterboxed to it."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
) -> None:
    """Train a skull segmentation network (Dice + cross-entropy) on a split by file number; writes the
    model, split.json, metrics.jsonl and a checkpoint after every epoch. Phantom pretraining, then
    fine-tuning: `--phantom 1000 --out PRE`, then `--init PRE --out RUN`."""
    from neocus.fetal.skull_model import SkullModelConfig, SkullNet
    from neocus.fetal.skull_train import SPLIT_NAME, SkullTrainOptions, train_skull

    features = (16, 16, 32, 64, 128, 16) if net == SkullNet.BASICUNET.value else (16, 32, 64, 128)
    config = SkullModelConfig(net=net, features=features, input_shape_hw=_parse_size_hw(input_hw, flag="--input-hw", example="224x320"))
    options = SkullTrainOptions(epochs=epochs, batch_size=batch, lr=lr, device=parse_device(device), phantom_images=phantom,
                                init_dir=init)
    if out.exists() and any(out.iterdir()):
        if not (out / SPLIT_NAME).is_file():
            raise NeocusError("the output folder exists and is not a neocus skull training", where=out, hint="choose a new folder")
        err_console.print(f"resuming the run in {escape(str(out))}", highlight=False)
    with err_console.status("training", spinner="dots") as status:
        result = train_skull(data, out, config=config, options=options, progress=lambda m: status.update(escape(m)), seed=seed)
    console.print(f"{result.epochs_done} epochs in {result.seconds:.0f} s (resumed after epoch {result.resumed_from_epoch}); "
                  f"best validation Dice {result.best_validation_dice:.4f} at epoch {result.best_epoch}; wrote {escape(str(out))}", highlight=False)


@fetal_app.command("evaluate")
def evaluate_cmd(
    data: Path = typer.Option(..., "--data", help="A neocus fetal phantom dataset (fetal simulate output), or a folder in the HC18 layout (images/NNN_HC.png + NNN_HC_Annotation.png + the CSV)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: metrics.json, images.csv."),
    model: Path | None = typer.Option(None, "--model", help="HC18 layout: skull model folder (default: the bundled models/fetal/skull)."),
    split: str = typer.Option("all", "--split", help="HC18 layout: all, or test / validation / train of the model's split.json (test: images no model saw)."),
    flip_tta: bool = typer.Option(False, "--flip-tta", help="HC18 layout: average with the left-right mirrored image, as fetal measure --flip-tta."),
    plane_model: Path | None = typer.Option(None, "--plane-model", help="Phantom dataset: plane model folder (default: the bundled one, if any)."),
    cerebellum_model: Path | None = typer.Option(None, "--cerebellum-model", help="Phantom dataset: posterior-fossa model folder (default: the bundled one, if any)."),
    hypoplasia_model: Path | None = typer.Option(None, "--hypoplasia-model", help="Phantom dataset: hypoplasia classifier folder (default: the bundled one, if any)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    force: bool = typer.Option(False, "--force", help="Replace a previous neocus evaluation in --out."),
) -> None:
    """Judge the fetal models. HC18 layout: the skull model (HC error in mm, skull Dice, Hausdorff in mm).
    Phantom dataset: hypoplasia AUC, TCD error, cerebellum and cistern Dice, plane accuracy (each null
    with the reason when its model is missing)."""
    from neocus.atomic import check_output_dir
    from neocus.fetal.skull_eval import METRICS_NAME

    check_output_dir(out, force=force, marker=METRICS_NAME, kind="a neocus fetal evaluation")
    if (data / "dataset.json").is_file():
        _evaluate_phantom(data, out, plane_model=plane_model, cerebellum_model=cerebellum_model, hypoplasia_model=hypoplasia_model, force=force)
        return
    _evaluate_hc18(data, out, model=model, split=split, flip_tta=flip_tta, device=device, force=force)


def _evaluate_hc18(data: Path, out: Path, *, model: Path | None, split: str, flip_tta: bool, device: str, force: bool) -> None:
    from neocus.fetal.skull_eval import evaluate_hc18, split_names, write_evaluation
    from neocus.fetal.skull_model import default_model_dir, load_skull_model

    names = None if split == "all" else split_names(model or default_model_dir(), side=split)
    with err_console.status("evaluating", spinner="dots") as status:
        skull = load_skull_model(model, device=parse_device(device))
        result = evaluate_hc18(data, skull, names=names, device=device, flip_tta=flip_tta, progress=lambda m: status.update(escape(m)))
        write_evaluation(result, out, force=force)
    console.print(f"{result.n_images} images ({result.n_failed} without a head found): HC MAE {result.hc_mae_mm:.2f} mm, "
                  f"mean difference {result.hc_mean_difference_mm:+.2f} mm, skull Dice {result.skull_dice:.4f}, "
                  f"Hausdorff {result.hausdorff_mm:.2f} mm; wrote {escape(str(out))}", highlight=False)


def _evaluate_phantom(data: Path, out: Path, *, plane_model: Path | None, cerebellum_model: Path | None, hypoplasia_model: Path | None,
                      force: bool) -> None:
    from neocus.fetal.phantom_eval import evaluate_phantom_dataset, load_phantom_models, write_phantom_evaluation

    with err_console.status("evaluating", spinner="dots") as status:
        models = load_phantom_models(plane=plane_model, cerebellum=cerebellum_model, hypoplasia=hypoplasia_model)
        result = evaluate_phantom_dataset(data, models, progress=lambda m: status.update(escape(m)))
        write_phantom_evaluation(result, out, force=force)
    shown = []
    for key in ("auc", "tcd_mae_mm", "cerebellum_dice", "cistern_dice", "plane_accuracy"):
        value = getattr(result, key)
        shown.append(f"{key} {value:.3f}" if value is not None else f"{key} null ({escape(result.reasons.get(key, 'no value'))})")
    console.print(f"{result.n_images} images ({result.n_trans_cerebellar} trans-cerebellar): " + "; ".join(shown) +
                  f"; wrote {escape(str(out))}", highlight=False)


def _parse_size_hw(text: str, *, flag: str = "--size", example: str = "432x576") -> tuple[int, int]:
    try:
        h, w = (int(t) for t in text.lower().split("x"))
    except ValueError:
        raise NeocusError(f"image size {text!r} is not HxW", where=flag, hint=f"give e.g. {example} (height x width)") from None
    return h, w


@fetal_app.command("simulate")
def simulate_cmd(
    n_cases: int = typer.Option(..., "--cases", "-n", help="Number of cases (stills) to simulate."),
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder to write (neocus-fetal-still/1)."),
    seed: int = typer.Option(0, "--seed", help="Seed: case i of a seed is always the same image."),
    out_size_hw: str = typer.Option("432x576", "--size", help="Image size HxW in pixels."),
    force: bool = typer.Option(False, "--force", help="Replace a previous neocus dataset in --out."),
) -> None:
    """Simulate fetal head phantom stills (trans-thalamic, trans-ventricular, trans-cerebellar and other
    planes, 18-40 weeks, normal / cerebellar hypoplasia / mega cisterna magna / ventriculomegaly) with
    exact label maps and the true sizes, as a dataset."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from neocus.atomic import check_output_dir
    from neocus.fetal.phantom_dataset import check_dataset_args, write_fetal_dataset

    size_hw = _parse_size_hw(out_size_hw)
    check_dataset_args(n_cases, seed, size_hw)
    check_output_dir(out, force=force, marker="dataset.json", kind="a neocus dataset")
    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task("simulate", total=n_cases)
        write_fetal_dataset(out, n_cases=n_cases, seed=seed, out_size_hw=size_hw, force=force,
                            progress=lambda done, total: bar.update(task, completed=done))
    console.print(f"wrote {n_cases} cases to {escape(str(out))}", highlight=False)


@fetal_train_app.command("plane")
def train_plane_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Model folder (re-running the same command resumes)."),
    real: Path | None = typer.Option(None, "--real", help="Train on the real labelled images of this fetal-brain folder (labels.csv with brain_plane_fpdb) instead of the phantom."),
    init: Path | None = typer.Option(None, "--init", help="With --real: start from this plane model (e.g. a phantom-trained one) instead of random weights."),
    folds: int = typer.Option(0, "--folds", help="With --real: first cross-validate in this many patient-grouped folds (cv.json), then train on all images; 0: no cross-validation."),
    heavy: bool = typer.Option(False, "--heavy", help="With --real: heavy augmentation (elastic deformation, wider ranges)."),
    head_only: bool = typer.Option(False, "--head-only", help="With --real and --init: keep the --init network frozen and fit only its last layer "
                                   "(a logistic regression on its pooled features; seconds, no epochs)."),
    n_cases: int = typer.Option(3200, "--cases", help="Phantom training images (planes in turn)."),
    val_cases: int = typer.Option(400, "--val-cases", help="Phantom validation images (another seed)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Epochs (cosine decay over them); default 9 on the phantom, 60 with --real."),
    minutes: float = typer.Option(15.0, "--minutes", help="Phantom: stop after the epoch that passes this time budget."),
    seed: int = typer.Option(0, "--seed", help="Seed of the phantom images or the folds, the weights and the randomisation."),
    highpass_sigma: float = typer.Option(0.0, "--highpass", help="Feed the image minus its Gaussian blur of this sigma (input pixels); 0: off."),
) -> None:
    """Train the fetal plane classifier (trans-thalamic / trans-ventricular / trans-cerebellar / other):
    on fetal head phantom images (random per-structure intensities, blur and noise), or with --real on
    real labelled images, optionally from a phantom-trained model (--init) and cross-validated first (--folds)."""
    from neocus.fetal.plane_model import PlaneModelConfig
    from neocus.fetal.plane_train import PlaneTrainOptions, train_plane

    if real is not None:
        if head_only and init is None:
            raise NeocusError("--head-only fits the last layer of a given network", where="--init", hint="give --init MODEL_DIR (a phantom-trained plane model)")
        _train_plane_real(real, out, init=init, folds=folds, heavy=heavy, head_only=head_only, epochs=60 if epochs is None else epochs,
                          seed=seed, config=PlaneModelConfig(highpass_sigma=highpass_sigma))
        return
    if init is not None or folds or heavy or head_only:
        raise NeocusError("--init, --folds, --heavy and --head-only apply to training on real images", where="--real", hint="give --real DIR, or drop them")
    pools = _phantom_pools(out, n_cases=n_cases, val_cases=val_cases, seed=seed)
    with err_console.status("training", spinner="dots") as status:
        result = train_plane(pools["pool.npz"], pools["val_pool.npz"], out, config=PlaneModelConfig(highpass_sigma=highpass_sigma),
                             options=PlaneTrainOptions(epochs=9 if epochs is None else epochs, minutes=minutes),
                             progress=lambda m: status.update(escape(m)), seed=seed)
    console.print(f"{result.epochs_done} epochs in {result.seconds:.0f} s (resumed after epoch {result.resumed_from_epoch}); best phantom "
                  f"validation accuracy {result.best_validation_accuracy:.3f} at epoch {result.best_epoch}; wrote {escape(str(out))}", highlight=False)


def _train_plane_real(data: Path, out: Path, *, init: Path | None, folds: int, heavy: bool, head_only: bool, epochs: int, seed: int, config) -> None:
    """``fetal train plane --real``: cross-validation (``cv.json``, kept when it is there) and the model
    trained on all images (with ``head_only``: ``init``'s last layer fitted, the rest frozen)."""
    import numpy as np

    from neocus.atomic import atomic_target
    from neocus.fetal.plane_cv import fit_logistic_head, out_of_fold_cnn, out_of_fold_head, summarise_planes
    from neocus.fetal.plane_model import load_plane_model, save_plane_model
    from neocus.fetal.plane_real import RealTrainOptions, patient_stratified_folds, read_real_planes, train_plane_real
    from neocus.results import rounded

    if epochs < 1:
        raise NeocusError(f"{epochs} epochs", where="--epochs", hint="give 1 or more")
    start = load_plane_model(init) if init is not None else None
    config = start.config if start is not None else config  # the network of the model started from
    images = read_real_planes(data, side=config.input_side)
    options = RealTrainOptions(epochs=epochs, heavy=heavy)
    out.mkdir(parents=True, exist_ok=True)
    if folds and not (out / "cv.json").is_file():
        fold_ids = patient_stratified_folds(images.planes, images.groups, n_folds=folds, seed=seed)
        with err_console.status("cross-validation", spinner="dots") as status:
            prob = (out_of_fold_head(images, fold_ids, model=start) if head_only else
                    out_of_fold_cnn(images, fold_ids, config=config, options=options, init=start, seed=seed,
                                    progress=lambda m: status.update(escape(m))))
        summary = summarise_planes(images.planes, prob.argmax(1), images.groups, rng=np.random.default_rng(seed))
        with atomic_target(out / "cv.json") as tmp:
            recipe = {"head_only": True} if head_only else {"heavy": heavy, "epochs": epochs}
            tmp.write_text(json.dumps(rounded({"folds": folds, "seed": seed, "init": str(init) if init else None, **recipe,
                                               **summary.to_dict()}, 4), indent=1) + "\n", encoding="utf-8")
        console.print(f"{folds}-fold cross-validation by patient: accuracy {summary.accuracy.estimate:.3f}, balanced accuracy "
                      f"{summary.balanced_accuracy:.3f} ({summary.balanced_accuracy_ci.low:.3f}-{summary.balanced_accuracy_ci.high:.3f}); wrote cv.json", highlight=False)
    if head_only:
        save_plane_model(fit_logistic_head(images, start), out)
        console.print(f"fitted the last layer of {escape(str(init))} on {len(images.planes)} real images; wrote {escape(str(out))}", highlight=False)
        return
    with err_console.status("training on all images", spinner="dots") as status:
        _, result = train_plane_real(images, out, config=config, options=options, init=start, progress=lambda m: status.update(escape(m)), seed=seed)
    console.print(f"{result.epochs_done} epochs on {len(images.planes)} real images in {result.seconds:.0f} s (resumed after epoch "
                  f"{result.resumed_from_epoch}); wrote {escape(str(out))}", highlight=False)


def _phantom_pools(out: Path, *, n_cases: int, val_cases: int, seed: int, fossa: bool = False, zoom: bool = False) -> dict:
    """The training and validation pools (`pool.npz`, `val_pool.npz` in ``out``, seeds 1000 + seed and
    2000 + seed; with ``fossa`` the posterior-fossa head crops, `fossa_pool.npz`, `fossa_val_pool.npz`; with
    ``zoom`` whole trans-cerebellar images, `zoom_pool.npz`, `zoom_val_pool.npz`, seeds 5000 + seed and 6000 + seed),
    kept in ``out`` so a re-run resumes on the same images."""
    from neocus.fetal.fossa_pool import render_fossa_pool, render_zoom_pool
    from neocus.fetal.phantom_dataset import check_dataset_args
    from neocus.fetal.plane_data import cached_plane_pool, render_plane_pool

    check_dataset_args(n_cases, seed, (216, 288))
    check_dataset_args(val_cases, seed, (216, 288))
    out.mkdir(parents=True, exist_ok=True)
    pools = {}
    prefix, render, seeds = ("fossa_", render_fossa_pool, (1000, 2000)) if fossa else ("", render_plane_pool, (1000, 2000))
    if zoom:
        prefix, render, seeds = "zoom_", render_zoom_pool, (5000, 6000)
    for name, n, pool_seed in (("pool.npz", n_cases, seeds[0] + seed), ("val_pool.npz", val_cases, seeds[1] + seed)):
        with err_console.status(f"phantom images: {prefix}{name}", spinner="dots") as status:
            pools[name] = cached_plane_pool(out / f"{prefix}{name}", n, seed=pool_seed, render=render,
                                            progress=lambda i, total: status.update(f"rendering phantom images {i}/{total}"))
    return pools


@fetal_train_app.command("cerebellum")
def train_cerebellum_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Model folder (re-running the same command resumes)."),
    n_cases: int = typer.Option(2400, "--cases", help="Phantom training head crops (3 in 4 trans-cerebellar)."),
    val_cases: int = typer.Option(150, "--val-cases", help="Phantom validation head crops (another seed)."),
    net: str = typer.Option("basicunet", "--net", help="basicunet or attentionunet."),
    init: Path | None = typer.Option(None, "--init", help="Start from this cerebellum model folder (same network, any input size)."),
    epochs: int = typer.Option(12, "--epochs", help="Epochs (cosine decay over them)."),
    steps: int = typer.Option(20, "--steps", help="Batches per epoch."),
    lr: float = typer.Option(3e-3, "--lr", help="Learning rate (AdamW, cosine decay)."),
    minutes: float = typer.Option(18.0, "--minutes", help="Stop after the epoch that passes this time budget."),
    seed: int = typer.Option(0, "--seed", help="Seed of the phantom images, the weights and the randomisation."),
    small_weight: float = typer.Option(4.0, "--small-weight", help="Loss weight of the cerebellum and cistern classes (others 1)."),
    val_images: int = typer.Option(24, "--val-images", help="Trans-cerebellar validation images scored after each epoch."),
    size_power: float = typer.Option(4.0, "--size-power", help="Draw trans-cerebellar images with weight (cerebellum size / median) ** this (0: uniform)."),
) -> None:
    """Train the posterior-fossa segmentation (skull, brain, cerebellum, cisterna magna) on fetal head
    phantom images only, with random per-structure intensities, crops, blur and noise."""
    from neocus.fetal.cerebellum_train import DEFAULT_CONFIG, CerebellumTrainOptions, train_cerebellum
    from neocus.fetal.skull_model import SkullModelConfig, SkullNet

    features = DEFAULT_CONFIG.features if net == SkullNet.BASICUNET.value else (8, 16, 32, 64, 128)
    config = SkullModelConfig(net=net, features=features, input_shape_hw=DEFAULT_CONFIG.input_shape_hw)
    options = CerebellumTrainOptions(epochs=epochs, steps_per_epoch=steps, lr=lr, minutes=minutes, small_weight=small_weight, val_images=val_images,
                                     size_power=size_power)
    pools = _phantom_pools(out, n_cases=n_cases, val_cases=val_cases, seed=seed, fossa=True)
    with err_console.status("training", spinner="dots") as status:
        result = train_cerebellum(pools["pool.npz"], pools["val_pool.npz"], out, config=config, options=options, init=init,
                                  progress=lambda m: status.update(escape(m)), seed=seed)
    console.print(f"{result.epochs_done} epochs in {result.seconds:.0f} s (resumed after epoch {result.resumed_from_epoch}); best phantom "
                  f"validation Dice (cerebellum and cistern mean) {result.best_validation_dice:.3f} at epoch {result.best_epoch}; "
                  f"wrote {escape(str(out))}", highlight=False)
