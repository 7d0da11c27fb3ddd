"""Training: k-fold cross-validation by patient, checkpoint / resume, out-of-fold post-processing.

``cross_validate(data_dir, out_dir, ...)`` writes a model folder that :func:`neocus.hie.load_model`
reads (``config.json``, ``fold_*.pt``, ``postprocess.json``) plus, for judging it:

* ``folds.json`` (which patients each fold holds out; fixed by the seed, reused on resume);
* ``fold_K/checkpoint.pt`` (after every epoch; a re-run resumes from it), ``fold_K/log.csv``;
* ``oof/<case>.npy``: each patient's lesion probability from the fold model that never saw it;
* ``cv_metrics.json`` / ``cv_cases.csv``: every patient judged by its out-of-fold prediction, after
  post-processing fitted on the *other* folds' out-of-fold predictions only;
* ``curves.png``: training loss and held-out Dice (monitoring only: no epoch is chosen on it).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from neocus.atomic import atomic_target, atomic_write_text
from neocus.errors import DatasetError
from neocus.hie import postprocess as pp
from neocus.hie.components import ComponentMaps, describe, fit_filter, maps_from_image
from neocus.hie.infer import CONFIG_NAME, POSTPROCESS_NAME, predict_proba
from neocus.hie.metrics import case_metrics, case_rows_csv, dice, report_json, summarise
from neocus.hie.models import Channel, DeepSupervisionLoss, LossRegion, ModelConfig, RegionDiceCELoss, build_loss, build_network
from neocus.hie.reading import find_cases, load_dataset_case
from neocus.hie.transforms import loss_region_mask, preprocess, train_transforms
from neocus.results import AsDict


@dataclass(frozen=True)
class TrainOptions:
    folds: int = 5
    epochs: int = 30
    steps_per_epoch: int = 10
    batch_size: int = 8
    lr: float = 2e-3
    val_every: int = 10
    device: str = "cpu"
    init_from: Path | None = None  # an earlier run on the same folds: each fold starts from its fold model
    component_filter: bool = True  # fit the per-component lesion / no-lesion filter (with the Z-ADC gate only)


@dataclass(frozen=True)
class Sample:
    case_id: str
    image: np.ndarray  # [C, Z, Y, X]
    brain: np.ndarray  # [1, Z, Y, X]
    label: np.ndarray  # [1, Z, Y, X]
    spacing: tuple[float, float, float]


@dataclass(frozen=True)
class FoldResult(AsDict):
    fold: int
    held_out: tuple[str, ...]
    train_seconds: float
    final_loss: float
    resumed_from_epoch: int


@dataclass(frozen=True)
class CvResult(AsDict):
    out_dir: Path
    folds: tuple[FoldResult, ...]
    post: pp.PostProcess
    dice: float
    metrics_path: Path


Progress = Callable[[str], None]


def load_samples(data_dir: str | Path, config: ModelConfig, *, progress: Progress | None = None) -> list[Sample]:
    """Every labelled case of a dataset folder, preprocessed once."""
    files = find_cases(data_dir, need_labels=True)
    samples = []
    for i, f in enumerate(files):
        if progress:
            progress(f"reading {i + 1}/{len(files)}")
        case = load_dataset_case(f)
        d = preprocess(case, config)
        samples.append(Sample(case.case_id, d["image"], d["brain"], d["label"], case.adc.spacing))
    if not any(s.label.any() for s in samples):
        raise DatasetError("no case has any lesion voxel", where=data_dir, hint="training needs lesion masks with lesions; check the LABEL files")
    return samples


def make_folds(samples: Sequence[Sample], *, folds: int, seed: int) -> list[list[str]]:
    """Patients into ``folds`` parts, stratified by lesion volume (none, < 2 ml, 2-20 ml, > 20 ml)."""
    from neocus.data.splits import stratified_partition

    if folds < 2 or folds > len(samples):
        raise DatasetError(f"cannot make {folds} folds of {len(samples)} patients", where="folds", hint="use between 2 and the number of patients")
    ml = [float(s.label.sum()) * float(np.prod(s.spacing)) / 1000 for s in samples]
    strata = ["none" if v == 0 else "small" if v < 2 else "medium" if v < 20 else "large" for v in ml]
    return stratified_partition([s.case_id for s in samples], strata=strata, weights=[1.0] * folds, seed=seed)


def _reseed(seed: int, transforms) -> np.random.Generator:
    torch.manual_seed(seed)
    transforms.set_random_state(seed=seed % (2**32))
    return np.random.default_rng(seed)


def _draw_batch(
    samples: Sequence[Sample], transforms, batch_size: int, rng: np.random.Generator, regions: Mapping[str, np.ndarray] | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """A batch of augmented patches: images, labels and, when ``regions`` is given, each patch's loss region."""
    images, labels, masks = [], [], []
    for idx in rng.integers(0, len(samples), size=batch_size):
        s = samples[int(idx)]
        data = {"image": s.image, "label": s.label, "brain": s.brain} | ({"region": regions[s.case_id]} if regions is not None else {})
        out = transforms(data)
        out = out[0] if isinstance(out, list) else out
        images.append(torch.as_tensor(np.asarray(out["image"]), dtype=torch.float32))
        labels.append(torch.as_tensor(np.asarray(out["label"])).long())
        if regions is not None:
            masks.append(torch.as_tensor(np.asarray(out["region"]), dtype=torch.float32))
    return torch.stack(images), torch.stack(labels), (torch.stack(masks) if masks else None)


def train_fold(
    train: Sequence[Sample],
    held_out: Sequence[Sample],
    fold_dir: Path,
    *,
    config: ModelConfig,
    options: TrainOptions,
    progress: Progress | None = None,
    seed: int,
    init_weights: Path | None = None,
) -> tuple[torch.nn.Module, FoldResult]:
    """Train one fold (resuming from ``fold_dir/checkpoint.pt`` when present, else starting from
    ``init_weights`` when given); the held-out patients are only predicted for the log, never used to
    choose anything."""
    fold_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = build_network(config).to(options.device)
    draw_offset = _load_init(net, init_weights) if init_weights is not None else 0  # fresh draws, not the earlier run's
    gated = config.loss_region is LossRegion.ZLOW
    loss_fn = DeepSupervisionLoss(RegionDiceCELoss() if gated else build_loss(config.loss))
    regions = {s.case_id: loss_region_mask(s.image, config) for s in train} if gated else None
    opt = torch.optim.AdamW(net.parameters(), lr=options.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=options.epochs)
    transforms = train_transforms(config)
    history: list[dict] = []
    start = 0
    ckpt = fold_dir / "checkpoint.pt"
    if ckpt.is_file():
        state = torch.load(ckpt, map_location=options.device, weights_only=False)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start, history = int(state["epoch"]), list(state["history"])
        draw_offset = int(state.get("draw_offset", 0))
    t0 = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    for epoch in range(start, options.epochs):
        rng = _reseed(seed * 1000 + draw_offset + epoch, transforms)
        net.train()
        losses = []
        for _ in range(options.steps_per_epoch):
            x, y, region = _draw_batch(train, transforms, options.batch_size, rng, regions)
            loss = loss_fn(net(x.to(options.device)), y.to(options.device), None if region is None else region.to(options.device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        sched.step()
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "lr": opt.param_groups[0]["lr"], "held_out_dice": ""}
        if held_out and ((epoch + 1) % options.val_every == 0 or epoch + 1 == options.epochs):
            row["held_out_dice"] = _monitor_dice(net, held_out, config, options.device)
        row["seconds"] = time.perf_counter() - t0
        history.append(row)
        with atomic_target(ckpt) as tmp:
            torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "epoch": epoch + 1, "history": history, "draw_offset": draw_offset}, tmp)
        _write_log(fold_dir / "log.csv", history)
        if progress:
            progress(f"epoch {epoch + 1}/{options.epochs} loss {row['loss']:.4f}" + (f" held-out dice {row['held_out_dice']:.3f}" if row["held_out_dice"] != "" else ""))
    result = FoldResult(fold=-1, held_out=tuple(s.case_id for s in held_out), train_seconds=history[-1]["seconds"] if history else 0.0, final_loss=history[-1]["loss"] if history else float("nan"), resumed_from_epoch=start)
    return net.eval(), result


def _load_init(net: torch.nn.Module, path: Path) -> int:
    """Load a warm start into ``net``; returns the epochs it was trained for (its draws are not repeated)."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    epochs = int(state.get("epoch", 0)) + int(state.get("draw_offset", 0)) if "model" in state else 0
    try:
        net.load_state_dict({k: v.float() for k, v in state.get("model", state).items()})
    except RuntimeError as exc:
        raise DatasetError(f"cannot start from these weights: {str(exc).splitlines()[0][:200]}", where=path, hint="warm-start from a run of the same model kind, channels and features") from None
    return epochs


def _init_paths(init_run: Path, folds: Sequence[Sequence[str]]) -> list[Path]:
    """Each fold's starting weights in an earlier run (full-precision checkpoint when kept, else the
    fold model); the earlier run must hold out the same patients in every fold, so that no fold model
    has seen the patients it is judged on."""
    saved = init_run / "folds.json"
    if not saved.is_file():
        raise DatasetError("holds no folds.json: not a neocus HIE training output", where=init_run, hint="give the folder of an earlier `neocus hie train` run")
    theirs = [sorted(f) for f in json.loads(saved.read_text(encoding="utf-8"))["folds"]]
    if theirs != [sorted(f) for f in folds]:
        raise DatasetError("holds out other patients than this run's folds", where=init_run, hint="warm-start only from a run on the same data, folds and seed")
    paths = []
    for k in range(len(folds)):
        full, half = init_run / f"fold_{k}" / "checkpoint.pt", init_run / f"fold_{k}.pt"
        if not (full.is_file() or half.is_file()):
            raise DatasetError(f"has no weights for fold {k + 1}", where=init_run, hint="finish that run first")
        paths.append(full if full.is_file() else half)
    return paths


def _monitor_dice(net, samples: Sequence[Sample], config: ModelConfig, device: str) -> float:
    scores = [dice(predict_proba([net], s.image, config, device=device) >= 0.5, s.label[0]) for s in samples]
    return float(np.mean(scores))


def _write_log(path: Path, history: list[dict]) -> None:
    lines = ["epoch,loss,lr,held_out_dice,seconds"]
    lines += [f"{h['epoch']},{h['loss']:.6f},{h['lr']:.6g},{h['held_out_dice'] if h['held_out_dice'] == '' else format(h['held_out_dice'], '.4f')},{h['seconds']:.1f}" for h in history]
    atomic_write_text(path, "\n".join(lines) + "\n")


def cross_validate(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    config: ModelConfig,
    options: TrainOptions = TrainOptions(),
    progress: Progress | None = None,
    seed: int = 0,
) -> CvResult:
    """k-fold cross-validation by patient; see the module docstring for what is written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    samples = load_samples(data_dir, config, progress=progress)
    by_id = {s.case_id: s for s in samples}
    folds = _folds_for(out, samples, options=options, seed=seed)
    atomic_write_text(out / CONFIG_NAME, json.dumps(config.to_json(), indent=2) + "\n")
    (out / "oof").mkdir(exist_ok=True)
    inits = _init_paths(Path(options.init_from), folds) if options.init_from is not None else [None] * len(folds)
    results = []
    for k, held in enumerate(folds):
        weights = out / f"fold_{k}.pt"
        if weights.is_file() and all((out / "oof" / f"{cid}.npy").is_file() for cid in held):
            results.append(FoldResult(fold=k, held_out=tuple(held), train_seconds=_logged_seconds(out / f"fold_{k}" / "log.csv"), final_loss=float("nan"), resumed_from_epoch=options.epochs))
            continue
        say = (lambda msg, k=k: progress(f"fold {k + 1}/{len(folds)}: {msg}")) if progress else None
        train = [s for s in samples if s.case_id not in held]
        net, res = train_fold(train, [by_id[c] for c in held], out / f"fold_{k}", config=config, options=options, progress=say, seed=seed * 100 + k, init_weights=inits[k])
        for cid in held:
            prob = predict_proba([net], by_id[cid].image, config, device=options.device)
            with atomic_target(out / "oof" / f"{cid}.npy") as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, prob.astype(np.float16))
        with atomic_target(weights) as tmp:
            torch.save({k2: v.detach().cpu().half() for k2, v in net.state_dict().items()}, tmp)
        results.append(FoldResult(fold=k, held_out=tuple(held), train_seconds=res.train_seconds, final_loss=res.final_loss, resumed_from_epoch=res.resumed_from_epoch))
    post, metrics_path, mean_dice = judge_run(out, samples, folds, config=config, component_filter=options.component_filter)
    write_curves(out, len(folds))
    return CvResult(out_dir=out, folds=tuple(results), post=post, dice=mean_dice, metrics_path=metrics_path)


def _logged_seconds(log: Path) -> float:
    try:
        rows = list(csv.DictReader(open(log, encoding="utf-8")))
        return float(rows[-1]["seconds"])
    except (OSError, KeyError, IndexError, ValueError):
        return float("nan")


def _folds_for(out: Path, samples: Sequence[Sample], *, options: TrainOptions, seed: int) -> list[list[str]]:
    path = out / "folds.json"
    ids = sorted(s.case_id for s in samples)
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if sorted(c for f in saved["folds"] for c in f) != ids or saved.get("seed") != seed or len(saved["folds"]) != options.folds:
            raise DatasetError("holds a run on other patients, folds or seed", where=out, hint="use a new output folder (or the same data, folds and seed to resume)")
        return [list(f) for f in saved["folds"]]
    folds = make_folds(samples, folds=options.folds, seed=seed)
    atomic_write_text(path, json.dumps({"seed": seed, "folds": folds}, indent=2) + "\n")
    return folds


def judge_run(
    out: Path, samples: Sequence[Sample], folds: Sequence[Sequence[str]], *, config: ModelConfig, component_filter: bool = True
) -> tuple[pp.PostProcess, Path, float]:
    """:func:`judge_out_of_fold` of the maps in ``out/oof`` with what training fits for ``config``:
    the Z-ADC gate when it has the ``zlow`` channel, and then the per-component filter."""
    gates, maps = None, None
    if Channel.ZLOW in config.channels:
        index = list(config.channels).index(Channel.ZLOW)
        gates = {s.case_id: s.image[index] for s in samples}
        if component_filter:
            maps = {s.case_id: maps_from_image(s.image, s.brain, channels=config.channels, spacing=s.spacing) for s in samples}
    return judge_out_of_fold(out, samples, folds, gate_masks=gates, maps=maps)


def judge_out_of_fold(
    out: Path,
    samples: Sequence[Sample],
    folds: Sequence[Sequence[str]],
    *,
    gate_masks: Mapping[str, np.ndarray] | None = None,
    maps: Mapping[str, ComponentMaps | None] | None = None,
) -> tuple[pp.PostProcess, Path, float]:
    """Post-processing for each fold fitted on the other folds' out-of-fold maps, metrics of every
    patient under its fold's settings; the bundled settings are fitted on all out-of-fold maps.
    ``gate_masks`` (Z-ADC < -2 per patient) lets the fit also try the Z-ADC gate; ``maps`` (per
    patient) adds the per-component filter, fitted on the same patients after the other settings."""
    by_id = {s.case_id: s for s in samples}
    probs = {cid: np.where(by_id[cid].brain[0] > 0, np.load(out / "oof" / f"{cid}.npy").astype(np.float32), 0.0) for f in folds for cid in f}
    vmm3 = {cid: float(np.prod(by_id[cid].spacing)) for cid in probs}
    tables = {pp.Gate.NONE: {cid: pp.component_table(probs[cid], by_id[cid].label[0], voxel_mm3=vmm3[cid]) for cid in probs}}
    if gate_masks is not None:
        tables[pp.Gate.ZLOW] = {cid: pp.component_table(probs[cid], by_id[cid].label[0], voxel_mm3=vmm3[cid], gate_mask=gate_masks[cid]) for cid in probs}
    zlow = gate_masks or {}

    fold_of = {c: j for j, f in enumerate(folds) for c in f}

    def fit_on(ids: Sequence[str]) -> pp.PostProcess:
        post = pp.fit_gated({gate: [t[c] for c in ids] for gate, t in tables.items()})
        if not maps or any(maps.get(c) is None for c in ids):
            return post
        comps = [describe(pp.apply(probs[c], post, voxel_mm3=vmm3[c], zlow=zlow.get(c)).astype(bool), probs[c], maps[c]) for c in ids]
        flt = fit_filter(comps, [by_id[c].label[0] for c in ids], groups=[fold_of[c] for c in ids])
        return replace(post, component_filter=flt) if flt.cutoff > 0 else post

    rows, fold_posts = [], []
    for k, held in enumerate(folds):
        post_k = fit_on([c for j, f in enumerate(folds) if j != k for c in f])
        fold_posts.append({"fold": k, **post_k.to_dict()})
        for cid in held:
            s = by_id[cid]
            mask = pp.apply(probs[cid], post_k, voxel_mm3=vmm3[cid], zlow=zlow.get(cid), maps=(maps or {}).get(cid))
            rows.append(case_metrics(mask, s.label[0], spacing=s.spacing, case_id=cid, region=s.brain[0]))
    report = summarise(sorted(rows, key=lambda r: r.case_id))
    post = fit_on([c for f in folds for c in f])
    post.save(out / POSTPROCESS_NAME)
    data = report_json(report) | {"post_processing_per_fold": fold_posts, "post_processing_bundled": post.to_dict()}
    path = atomic_write_text(out / "cv_metrics.json", json.dumps(data, indent=2, allow_nan=False, default=str) + "\n")  # AsDict writes NaN as None
    atomic_write_text(out / "cv_cases.csv", case_rows_csv(report.cases))
    return post, path, report.dice.mean


def write_curves(out: Path, n_folds: int) -> Path | None:
    """``curves.png``: per-fold training loss and held-out Dice against epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for k in range(n_folds):
        log = out / f"fold_{k}" / "log.csv"
        if not log.is_file():
            continue
        rows = list(csv.DictReader(open(log, encoding="utf-8")))
        ax1.plot([int(r["epoch"]) for r in rows], [float(r["loss"]) for r in rows], label=f"fold {k + 1}")
        val = [(int(r["epoch"]), float(r["held_out_dice"])) for r in rows if r["held_out_dice"]]
        if val:
            ax2.plot(*zip(*val), marker="o", label=f"fold {k + 1}")
    ax1.set(xlabel="epoch", ylabel="training loss", title="training loss")
    ax2.set(xlabel="epoch", ylabel="Dice at 0.5 (no post-processing)", title="held-out Dice (monitoring only)", ylim=(0, 1))
    for ax in (ax1, ax2):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_target(out / "curves.png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return out / "curves.png"
