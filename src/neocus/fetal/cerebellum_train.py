"""Training of the posterior-fossa network (:mod:`neocus.fetal.cerebellum`) on the fetal head phantom.

The images are a :class:`~neocus.fetal.plane_data.PlanePool` of head crops with isotropic pixels
(:func:`neocus.fetal.fossa_pool.render_fossa_pool`; a squashed pool such as the plane recogniser's
gives its squash as ``pool_aspect_x``). Each batch draws trans-cerebellar images with probability
``tc_fraction`` (the others teach that a plane without a cerebellum has none), each with weight
(cerebellum size relative to the head / the pool's median) ** ``size_power`` (:func:`size_weights`: large
cerebella, late in gestation, were rare in the pool and cut short; docs/fetal.md), then randomises them in
the SynthSeg style of :mod:`neocus.fetal.plane_data`: half are painted from the label map with a random
grey level per structure, all get a crop around the head (the head fills 50-95 %: the head finder's
whole-image pass sees a small head, its crops one at :data:`~neocus.fetal.cerebellum.HEAD_FILL`;
+-25 deg, shift, flips), blur, gamma, contrast and noise. Loss: MONAI ``DiceCELoss`` over the 5 classes (optionally the cerebellum and
cistern weighted up, and Dice over the batch); AdamW with cosine decay.

An epoch is ``steps_per_epoch`` batches. After each epoch: phantom validation Dice of cerebellum and
cistern on the first ``val_images`` trans-cerebellar images of the validation pool, predicted through
the same cascade as inference (:func:`~neocus.fetal.cerebellum.predict_posterior_fossa`: head found by
the network, not taken from the truth), in
``metrics.jsonl``, ``checkpoint.pt`` (network, optimiser, schedule, epoch); the best mean Dice is the
model (``config.json``, ``weights.pt``). Re-running on the same folder resumes; the run stops after
the epoch that passes the ``minutes`` budget.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neocus.errors import NeocusError
from neocus.fetal.cerebellum import CLASS_NAMES, N_CLASSES, CerebellumModel, class_map, head_crop_matrix, predict_posterior_fossa
from neocus.fetal.plane_data import PLANES, PlanePool, synth_from_labels, warp_flip_randomise
from neocus.fetal.skull_model import SkullModelConfig, build_network, read_model_folder, save_skull_model
from neocus.fetal.train_state import TrainingState, check_training_budget, resume_training, save_training
from neocus.results import AsDict
from neocus.vocab import FetalPlane

__all__ = ["CerebellumTrainOptions", "CerebellumTrainResult", "DEFAULT_CONFIG", "add_fossa_dice", "augment_pairs", "cerebellum_size", "size_weights",
           "fit_segmentation", "initial_network", "train_cerebellum", "validation_dice"]

METRICS_NAME = "metrics.jsonl"
DEFAULT_CONFIG = SkullModelConfig(input_shape_hw=(192, 192))
TC = PLANES.index(FetalPlane.TRANS_CEREBELLAR)


@dataclass(frozen=True)
class CerebellumTrainOptions(AsDict):
    """How to train: epochs of ``steps_per_epoch`` batches, batch size, AdamW learning rate, time budget."""

    epochs: int = 30
    steps_per_epoch: int = 40
    batch_size: int = 12
    lr: float = 3e-3
    minutes: float = 18.0
    tc_fraction: float = 0.75
    synth_fraction: float = 0.5
    small_weight: float = 4.0  # weight of the cerebellum and cistern classes in the loss (1: all classes alike)
    batch_dice: bool = True  # Dice over the whole batch rather than per image (steadier for small structures)
    val_images: int = 48  # trans-cerebellar validation images scored after each epoch
    pool_aspect_x: float = 1.0  # how much more the pool shrank x than y (1: isotropic pixels)
    aspect_jitter: float = 0.0  # random x stretch of each crop, +- this fraction (0.1 before: it blurs the width TCD is)
    size_power: float = 4.0  # trans-cerebellar images drawn with weight (cerebellum size / median) ** size_power (0: uniform)

    def __post_init__(self) -> None:
        check_training_budget(self)
        if self.val_images < 1 or not self.pool_aspect_x > 0 or not 0 <= self.aspect_jitter < 1 or self.size_power < 0:
            raise NeocusError("validation images must be at least 1, the pool aspect positive, the aspect jitter in [0, 1) and the "
                              "size power not negative", where="val_images")
        if not self.small_weight > 0:
            raise NeocusError(f"class weight {self.small_weight!r} is not positive", where="small_weight")


@dataclass(frozen=True)
class CerebellumTrainResult(AsDict):
    epochs_done: int
    resumed_from_epoch: int
    best_epoch: int
    best_validation_dice: float
    seconds: float
    losses: tuple[float, ...]


def _head_box(target: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(target)
    if len(xs) < 10:
        h, w = target.shape
        return 0.0, 0.0, float(w), float(h)
    return float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


def augment_pairs(images: np.ndarray, labels: np.ndarray, *, side: int, synth_fraction: float = 0.5,
                  pool_aspect_x: float = 1.0, aspect_jitter: float = 0.0, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Randomised inputs ``[B, 1, side, side]`` float32 and targets ``[B, 1, side, side]`` (class indices)."""
    xs = np.zeros((len(images), 1, side, side), np.float32)
    ys = np.zeros((len(images), 1, side, side), np.float32)
    for k in range(len(images)):
        target = class_map(labels[k])
        img = synth_from_labels(labels[k], rng) if rng.random() < synth_fraction else images[k].astype(np.float32) / 255.0
        m = np.vstack([head_crop_matrix(_head_box(target), out_side=side, fill=rng.uniform(0.5, 0.95),
                                        aspect_x=pool_aspect_x * rng.uniform(1 - aspect_jitter, 1 + aspect_jitter)), [0.0, 0.0, 1.0]])
        a = np.deg2rad(rng.uniform(-25.0, 25.0))
        c, s, h = np.cos(a), np.sin(a), side / 2
        rot = np.array([[c, s, h - c * h - s * h + rng.uniform(-0.08, 0.08) * side],
                        [-s, c, h + s * h - c * h + rng.uniform(-0.08, 0.08) * side], [0.0, 0.0, 1.0]])
        m = (rot @ m)[:2]
        xs[k, 0], ys[k, 0] = warp_flip_randomise(img, target, m, side=side, rng=rng)
    return xs, ys


def validation_dice(network, config: SkullModelConfig, pool: PlanePool, *, n_images: int = 48) -> dict[str, float]:
    """Mean Dice of cerebellum and cistern over the first ``n_images`` trans-cerebellar images of ``pool``,
    predicted through the inference cascade (:func:`~neocus.fetal.cerebellum.predict_posterior_fossa`)."""
    network.eval()
    model = CerebellumModel(config=config, network=network, path=None)
    scores: dict[str, list[float]] = {"cerebellum": [], "cistern": []}
    for i in np.nonzero(pool.planes == TC)[0][:n_images]:
        add_fossa_dice(scores, predict_posterior_fossa(pool.images[i], model)[1], class_map(pool.labels[i]))
    network.train()
    return {name: float(np.mean(v)) if v else 0.0 for name, v in scores.items()}


def add_fossa_dice(scores: dict[str, list[float]], pred: np.ndarray, target: np.ndarray) -> None:
    """Append to ``scores`` (keys among ``cerebellum`` / ``cistern``) the Dice of each class of the class maps
    ``pred`` against ``target``, where the target has that class."""
    for name, got in scores.items():
        c = CLASS_NAMES.index(name)
        p, t = pred == c, target == c
        if t.any():
            got.append(2 * float((p & t).sum()) / float(p.sum() + t.sum()))


def cerebellum_size(labels: np.ndarray) -> float:
    """sqrt(cerebellum area / head area) of one label map (0 without a cerebellum): the cerebellum's size
    relative to the head, whatever the crop's scale."""
    target = class_map(labels)
    head = int((target > 0).sum())
    return float(np.sqrt((target == CLASS_NAMES.index("cerebellum")).sum() / head)) if head else 0.0


def size_weights(pool: PlanePool, *, power: float) -> np.ndarray:
    """Draw weights (summing to 1) of the trans-cerebellar images of ``pool``: (size / median size) ** power.
    Large cerebella (late gestation, mega cisterna magna) are rare in a pool drawn uniformly in GA and
    were where the TCD was missed (docs/fetal.md)."""
    tc = np.nonzero(pool.planes == TC)[0]
    if power == 0:
        return np.full(len(tc), 1.0 / len(tc))
    size = np.array([cerebellum_size(pool.labels[i]) for i in tc])
    w = (np.maximum(size, 1e-3) / max(float(np.median(size)), 1e-3)) ** power
    return w / w.sum()


def _draw(pool: PlanePool, n: int, tc_fraction: float, tc_weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    tc, other = np.nonzero(pool.planes == TC)[0], np.nonzero(pool.planes != TC)[0]
    pick_tc = rng.random(n) < tc_fraction if len(other) else np.ones(n, bool)
    return np.where(pick_tc, rng.choice(tc, n, p=tc_weights), rng.choice(other if len(other) else tc, n))


def initial_network(config: SkullModelConfig, *, init: str | Path | None = None):
    """A fresh network of ``config`` with the :data:`~neocus.fetal.cerebellum.CLASS_NAMES` outputs, or with the weights of
    the model folder ``init`` (a posterior-fossa model of the same network, any input size)."""
    net = build_network(config, out_channels=N_CLASSES)
    if init is not None:
        init_config, init_net = read_model_folder(Path(init), out_channels=N_CLASSES, kind="cerebellum")
        if (init_config.net, init_config.features) != (config.net, config.features):
            raise NeocusError(f"holds a {init_config.net.value} {list(init_config.features)}, not the {config.net.value} "
                              f"{list(config.features)} to train", where=init, hint="start from a model of the same network")
        net.load_state_dict(init_net.state_dict())
    return net


def train_cerebellum(pool: PlanePool, val_pool: PlanePool, out_dir: str | Path, *, config: SkullModelConfig = DEFAULT_CONFIG,
                     options: CerebellumTrainOptions = CerebellumTrainOptions(), init: str | Path | None = None,
                     progress: Callable[[str], None] | None = None, seed: int = 0) -> CerebellumTrainResult:
    """Train (or resume) the posterior-fossa network in ``out_dir`` (see the module docstring). ``init``: a
    model folder of the same network (any input size) whose weights start a fresh run."""
    import torch

    if config.input_shape_hw[0] != config.input_shape_hw[1]:
        raise NeocusError(f"input {config.input_shape_hw} is not square", where="input_shape_hw")
    for name, p in (("training", pool), ("validation", val_pool)):
        if not (p.planes == TC).any():
            raise NeocusError(f"the {name} pool has no trans-cerebellar image", where="cases", hint="simulate more cases")
    out, side = Path(out_dir), config.input_shape_hw[0]
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = initial_network(config, init=init)
    tc_weights = size_weights(pool, power=options.size_power)

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        idx = np.sort(_draw(pool, options.batch_size, options.tc_fraction, tc_weights, rng))
        return augment_pairs(pool.images[idx], pool.labels[idx], side=side, synth_fraction=options.synth_fraction,
                             pool_aspect_x=options.pool_aspect_x, aspect_jitter=options.aspect_jitter, rng=rng)

    return fit_segmentation(net, out, config=config, options=options, batch=batch, save=lambda n: save_skull_model(n, config, out),
                            validate=lambda n: validation_dice(n, config, val_pool, n_images=options.val_images), what="cerebellum",
                            progress=progress, seed=seed)


def fit_segmentation(net, out: Path, *, config: SkullModelConfig, options, batch: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]],
                     save: Callable[[object], object], validate: Callable[[object], dict[str, float]], what: str,
                     progress: Callable[[str], None] | None = None, seed: int = 0) -> CerebellumTrainResult:
    """The epoch loop shared by the posterior-fossa trainers (this module's and :mod:`neocus.fetal.fossa_zoom_train`):
    AdamW with cosine decay over ``options.epochs``, ``options.steps_per_epoch`` batches of ``batch(rng)`` under
    MONAI ``DiceCELoss`` (cerebellum and cistern weighted ``options.small_weight``), then ``validate(net)`` (Dice of
    cerebellum and cistern); the best mean is kept with ``save(net)``; ``metrics.jsonl`` and the checkpoint of
    :mod:`neocus.fetal.train_state` after each epoch (a re-run resumes); stop after the epoch past ``options.minutes``."""
    import torch
    from monai.losses import DiceCELoss

    opt = torch.optim.AdamW(net.parameters(), lr=options.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=options.epochs)
    resumed = resume_training(out, net=net, opt=opt, sched=sched, config=config.to_dict(), what=what)
    start, best, best_epoch = resumed.epoch, resumed.best, resumed.best_epoch
    rng = np.random.default_rng([seed, start])
    weight = torch.tensor([options.small_weight if n in ("cerebellum", "cistern") else 1.0 for n in CLASS_NAMES])
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True, batch=options.batch_dice, weight=weight)
    t0, losses, epoch = time.perf_counter(), [], start
    net.train()
    for epoch in range(start + 1, options.epochs + 1):
        run = []
        for _ in range(options.steps_per_epoch):
            xb, yb = batch(rng)
            loss = loss_fn(net(torch.from_numpy(xb)), torch.from_numpy(yb))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            run.append(float(loss.detach()))
        sched.step()
        dice = validate(net)
        net.train()
        losses.append(float(np.mean(run)))
        score = (dice["cerebellum"] + dice["cistern"]) / 2
        if score > best:
            best, best_epoch = score, epoch
            save(net)
        line = {"epoch": epoch, "loss": round(losses[-1], 5), **{f"{k}_dice": round(v, 4) for k, v in dice.items()},
                "seconds": round(time.perf_counter() - t0, 1)}
        with open(out / METRICS_NAME, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        save_training(out, TrainingState(epoch, best, best_epoch), net=net, opt=opt, sched=sched, config=config.to_dict())
        if progress is not None:
            progress(f"epoch {epoch}/{options.epochs}: loss {losses[-1]:.4f}, phantom validation Dice cerebellum "
                     f"{dice['cerebellum']:.3f}, cistern {dice['cistern']:.3f}")
        if time.perf_counter() - t0 > 60.0 * options.minutes:
            break
    return CerebellumTrainResult(epochs_done=epoch, resumed_from_epoch=start, best_epoch=best_epoch, best_validation_dice=best,
                                 seconds=time.perf_counter() - t0, losses=tuple(losses))
