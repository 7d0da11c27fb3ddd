"""Train a skull segmentation network on images in the HC18 layout, resumably.

The images are split by HC18 file number (images sharing a number, i.e. one examination, stay on one
side) into train / validation / test with a fixed seed; the split is written to ``split.json`` so that
:mod:`neocus.fetal.skull_eval` can judge the model on the test images no model saw. Loss: MONAI
``DiceCELoss`` (softmax, 2 classes). Augmentation: MONAI random affine (rotation, scale, shift),
flips and intensity jitter. Each epoch writes ``checkpoint.pt`` (network, optimiser, schedule, random
states) and a line of ``metrics.jsonl``; re-running the same training on the same folder resumes after
the last finished epoch. The weights with the best validation Dice are the model (``config.json``,
``weights.pt``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from neocus.atomic import atomic_target, atomic_write_text
from neocus.errors import NeocusError
from neocus.fetal.hc18 import Hc18Item, load_hc18_annotation, load_hc18_image, read_hc18
from neocus.fetal.ellipse import edge_offset_px, fit_iso_contour
from neocus.fetal.skull_model import (SkullModelConfig, build_network, letterbox, mask_input, network_identity, network_input,
                                      save_skull_model)
from neocus.results import AsDict, from_plain

__all__ = ["SPLIT_NAME", "SkullSplit", "SkullTrainOptions", "SkullTrainResult", "annotation_edge_offset", "split_by_number",
           "train_skull"]

SPLIT_NAME = "split.json"
CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "metrics.jsonl"
PHANTOM_POOL_NAME = "phantom_pool.npz"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SkullSplit(AsDict):
    """Image names on each side of a split by file number, and the seed that made it."""

    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]
    seed: int


@dataclass(frozen=True)
class SkullTrainOptions(AsDict):
    """How to train: epochs, batch size, learning rate (AdamW, cosine decay), split fractions."""

    epochs: int = 20
    batch_size: int = 8
    lr: float = 3e-3
    test_fraction: float = 0.2
    validation_fraction: float = 0.1
    device: str = "cpu"
    phantom_images: int = 0  # > 0: train on this many fetal phantom images instead of the HC18 training images
    init_dir: Path | None = None  # a skull model folder (same network, any input size) whose weights start the training

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise NeocusError("epochs and batch size must be at least 1 and the learning rate positive", where="epochs")
        if self.phantom_images < 0 or 0 < self.phantom_images < self.batch_size:
            raise NeocusError(f"{self.phantom_images} phantom images: give 0 (real images) or at least one batch "
                              f"({self.batch_size})", where="phantom_images")
        if self.init_dir is not None:
            object.__setattr__(self, "init_dir", Path(self.init_dir))
        if not (0 <= self.test_fraction < 0.9 and 0 < self.validation_fraction < 0.5):
            raise NeocusError("test fraction must be in [0, 0.9) and validation fraction in (0, 0.5)", where="test_fraction")


@dataclass(frozen=True)
class SkullTrainResult(AsDict):
    """The finished training: epochs run in this call, the best validation Dice and its epoch."""

    out_dir: Path
    epochs_done: int
    resumed_from_epoch: int
    best_validation_dice: float
    best_epoch: int
    seconds: float
    losses: tuple[float, ...] = field(metadata={"to_dict": False})


def split_by_number(items: Sequence[Hc18Item], *, test_fraction: float, validation_fraction: float,
                    seed: int) -> SkullSplit:
    """Split by file number with a seeded permutation (never by number range: head size rises with the
    number). Every side gets at least one number when there are three or more."""
    numbers = sorted({it.number for it in items})
    if len(numbers) < 3:
        raise NeocusError(f"only {len(numbers)} distinct file numbers; a split needs at least 3", where="data")
    order = np.random.default_rng(seed).permutation(numbers)
    n_test = max(1, round(test_fraction * len(numbers))) if test_fraction > 0 else 0
    n_val = max(1, round(validation_fraction * len(numbers)))
    test, val = set(order[:n_test].tolist()), set(order[n_test:n_test + n_val].tolist())
    side = {it.name: ("test" if it.number in test else "validation" if it.number in val else "train") for it in items}
    return SkullSplit(train=tuple(n for n, s in side.items() if s == "train"),
                      validation=tuple(n for n, s in side.items() if s == "validation"),
                      test=tuple(n for n, s in side.items() if s == "test"), seed=seed)


def _arrays(items: Sequence[Hc18Item], config: SkullModelConfig) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for it in items:
        x, box = network_input(load_hc18_image(it), input_shape_hw=config.input_shape_hw)
        xs.append(x)
        ys.append(mask_input(load_hc18_annotation(it), box))
    return np.stack(xs)[:, None], np.stack(ys)[:, None].astype(np.float32)


def _training_source(items: Sequence[Hc18Item], out: Path, *, config: SkullModelConfig, options: SkullTrainOptions,
                     say: Progress, seed: int) -> tuple[Callable[[int, np.random.Generator], dict], int]:
    """How training image ``i`` is drawn (before augmentation), and how many there are: the HC18
    training images as they are, or, with ``options.phantom_images``, phantom images (rendered once
    into ``out``, :func:`neocus.fetal.skull_phantom.render_skull_pool`) randomised at every draw."""
    if not options.phantom_images:
        say(f"reading {len(items)} training images")
        x_tr, y_tr = _arrays(items, config)
        return (lambda i, _rng: {"image": x_tr[i], "mask": y_tr[i]}), len(x_tr)
    from neocus.fetal.plane_data import cached_plane_pool
    from neocus.fetal.skull_phantom import phantom_sample, render_skull_pool

    def render(n: int, *, seed: int, progress: Callable[[int, int], None] | None = None):
        return render_skull_pool(n, seed=seed, out_hw=config.input_shape_hw, progress=progress)

    pool = cached_plane_pool(out / PHANTOM_POOL_NAME, options.phantom_images, seed=seed, render=render,
                             progress=lambda k, n: say(f"rendering phantom image {k}/{n}"))

    def draw(i: int, rng: np.random.Generator) -> dict:
        x, y = phantom_sample(pool.images[i], pool.labels[i], rng=rng)
        return {"image": x, "mask": y}
    return draw, options.phantom_images


def annotation_edge_offset(items: Sequence[Hc18Item], *, input_shape_hw: tuple[int, int]) -> float:
    """How far (network input pixels, mean over ``items``) the edge of the sonographers' filled masks
    lies outside the ellipse whose perimeter is their HC in the CSV: each mask's sub-pixel ellipse
    (:func:`neocus.fetal.ellipse.fit_iso_contour`) against the CSV HC (:func:`neocus.fetal.ellipse.edge_offset_px`),
    in the image's pixels, times the image's letterbox scale. A model trained on these masks learns
    their edge; its measurement takes this offset off (``SkullModelConfig.edge_offset_input_px``)."""
    offsets = []
    for it in items:
        mask = load_hc18_annotation(it)
        fitted = fit_iso_contour(mask.astype(np.float32))
        scale = letterbox(mask.shape, input_shape_hw=input_shape_hw).scale
        offsets.append(edge_offset_px(fitted, perimeter_px=it.hc_mm / it.pixel_mm) * scale)
    return float(np.mean(offsets))


def _init_weights(init_dir: Path, config: SkullModelConfig) -> dict:
    """The float32 state dict of the skull model folder ``init_dir``, which must be the same network and
    widths; its input size may differ (the networks are fully convolutional)."""
    from neocus.fetal.skull_model import read_model_folder

    init_config, network = read_model_folder(init_dir)
    if (init_config.net, init_config.features) != (config.net, config.features):
        raise NeocusError(f"is a {init_config.net.value} {list(init_config.features)} model, not the {config.net.value} "
                          f"{list(config.features)} being trained", where=init_dir,
                          hint="warm-start from a model of the same network and widths (any input size)")
    return network.state_dict()


def _augment(seed: int):
    from monai.transforms import Compose, RandAffined, RandFlipd, RandGaussianNoised, RandScaleIntensityd

    t = Compose([
        RandAffined(keys=("image", "mask"), prob=0.8, rotate_range=(np.pi / 6,), scale_range=(0.15, 0.15),
                    translate_range=(20, 20), mode=("bilinear", "nearest"), padding_mode="zeros"),
        RandFlipd(keys=("image", "mask"), prob=0.5, spatial_axis=1),
        RandFlipd(keys=("image", "mask"), prob=0.5, spatial_axis=0),
        RandScaleIntensityd(keys="image", factors=0.2, prob=0.5),
        RandGaussianNoised(keys="image", prob=0.3, std=0.1),
    ])
    t.set_random_state(seed=seed)
    return t


def _dice_lowres(network, x: np.ndarray, y: np.ndarray, device: str) -> float:
    import torch

    network.eval()
    with torch.inference_mode():
        pred = torch.cat([network(torch.from_numpy(x[i:i + 8]).to(device)).argmax(1, keepdim=True).cpu()
                          for i in range(0, len(x), 8)]).numpy() > 0
    network.train()
    truth = y > 0.5
    inter = (pred & truth).sum(axis=(1, 2, 3))
    return float(np.mean(2 * inter / np.maximum(pred.sum(axis=(1, 2, 3)) + truth.sum(axis=(1, 2, 3)), 1)))


# what a resumed run must share besides network and split (with the defaults of runs written before them)
_SOURCE_OPTIONS = {"phantom_images": 0, "init_dir": None}


def _read_state(out: Path, config: SkullModelConfig, split: SkullSplit, options: SkullTrainOptions) -> dict | None:
    import torch

    split_path = out / SPLIT_NAME
    if not split_path.is_file():
        return None
    saved = json.loads(split_path.read_text(encoding="utf-8"))
    opts, before = json.loads(json.dumps(options.to_dict())), {**_SOURCE_OPTIONS, **saved.get("options", {})}
    source = any(before[k] != opts[k] for k in _SOURCE_OPTIONS)
    same_net = network_identity(from_plain(SkullModelConfig, saved.get("config", {}), where=split_path)) == network_identity(config)
    if not same_net or saved.get("split") != json.loads(json.dumps(split.to_dict())) or source:
        raise NeocusError("holds a training with another network, input size, data, split, phantom images or warm start", where=out,
                          hint="re-run with the same options to resume, or choose a new `out` folder")
    ckpt = out / CHECKPOINT_NAME
    return torch.load(ckpt, map_location="cpu", weights_only=False) if ckpt.is_file() else None


def train_skull(data_dir: str | Path, out_dir: str | Path, *, config: SkullModelConfig = SkullModelConfig(),
                options: SkullTrainOptions = SkullTrainOptions(), progress: Progress | None = None,
                seed: int = 0) -> SkullTrainResult:
    """Train (or resume) a skull network on the HC18-layout folder ``data_dir`` into ``out_dir``."""
    import torch
    from monai.losses import DiceCELoss

    t0, say = time.perf_counter(), progress or (lambda _m: None)
    out = Path(out_dir)
    hc18 = read_hc18(data_dir)
    split = split_by_number(hc18.items, test_fraction=options.test_fraction,
                            validation_fraction=options.validation_fraction, seed=seed)
    state = _read_state(out, config, split, options)
    by_name = {it.name: it for it in hc18.items}
    if state is None:
        out.mkdir(parents=True, exist_ok=True)
    if not options.phantom_images:  # the head edge the real masks teach (phantom targets run along the skull's middle)
        config = replace(config, edge_offset_input_px=round(annotation_edge_offset(
            [by_name[n] for n in split.train], input_shape_hw=config.input_shape_hw), 4))
    draw, n_train = _training_source([by_name[n] for n in split.train], out, config=config, options=options, say=say, seed=seed)
    x_va, y_va = _arrays([by_name[n] for n in split.validation], config)
    torch.manual_seed(seed)
    network = build_network(config).to(options.device)
    if options.init_dir is not None and state is None:
        network.load_state_dict(_init_weights(options.init_dir, config))
    optim = torch.optim.AdamW(network.parameters(), lr=options.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=options.epochs)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    rng, start, best, best_epoch = np.random.default_rng(seed), 0, -1.0, 0
    if state is not None:
        network.load_state_dict(state["network"])
        optim.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        start, best, best_epoch = state["epoch"], state["best"], state["best_epoch"]
    else:
        atomic_write_text(out / SPLIT_NAME, json.dumps({"config": config.to_dict(), "split": split.to_dict(),
                                                        "options": options.to_dict()}, indent=1) + "\n")
    augment, losses = _augment(seed + 7919 * start), []
    network.train()
    for epoch in range(start, options.epochs):
        te, order, run = time.perf_counter(), rng.permutation(n_train), []
        for b in range(0, len(order) - options.batch_size + 1, options.batch_size):
            batch = [augment(draw(int(i), rng)) for i in order[b:b + options.batch_size]]
            xb = torch.stack([torch.as_tensor(np.asarray(s["image"])) for s in batch]).float().to(options.device)
            yb = torch.stack([torch.as_tensor(np.asarray(s["mask"])) for s in batch]).float().round().to(options.device)
            loss = loss_fn(network(xb), yb)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            run.append(float(loss.detach()))
        sched.step()
        val = _dice_lowres(network, x_va, y_va, options.device)
        losses.append(float(np.mean(run)))
        if val > best:
            best, best_epoch = val, epoch + 1
            save_skull_model(network, config, out)
        line = {"epoch": epoch + 1, "loss": round(losses[-1], 5), "validation_dice": round(val, 5),
                "lr": round(sched.get_last_lr()[0], 7), "seconds": round(time.perf_counter() - te, 1)}
        with open(out / LOG_NAME, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        with atomic_target(out / CHECKPOINT_NAME) as tmp:
            torch.save({"network": network.state_dict(), "optimizer": optim.state_dict(), "scheduler": sched.state_dict(),
                        "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "epoch": epoch + 1,
                        "best": best, "best_epoch": best_epoch}, tmp)
        say(f"epoch {epoch + 1}/{options.epochs}: loss {losses[-1]:.4f}, validation Dice {val:.4f} "
            f"(best {best:.4f} at {best_epoch}), {line['seconds']:.0f} s")
    return SkullTrainResult(out_dir=out, epochs_done=options.epochs - start, resumed_from_epoch=start,
                            best_validation_dice=best, best_epoch=best_epoch,
                            seconds=time.perf_counter() - t0, losses=tuple(losses))
