"""Training of the posterior-fossa zoom stage (:mod:`neocus.fetal.fossa_zoom`) on the fetal head phantom.

The pool is whole trans-cerebellar images at the phantom's default size
(:func:`neocus.fetal.fossa_pool.render_zoom_pool`). Each training crop is made from the TRUE box of the
cerebellum and cistern, with random errors that imitate the first stage's box (:class:`ZoomTrainOptions`:
centre shift, scale and x stretch, each drawn from a normal with the spread measured on a validation pool,
docs/fetal.md), a small rotation, flips, and half of the images painted from the label map with a random
grey level per structure (the SynthSeg style of :mod:`neocus.fetal.plane_data`), then blur, gamma, contrast
and noise. Validation crops come from the FIRST STAGE's box on the validation pool (computed once with the
first-stage model), as at inference; the Dice of cerebellum and cistern in the crop selects the epoch.
The epoch loop, loss, checkpoint and resume are the posterior-fossa trainer's
(:func:`neocus.fetal.cerebellum_train.fit_segmentation`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from neocus.errors import NeocusError
from neocus.fetal.cerebellum import CLASS_NAMES, CerebellumModel, class_map, masks_from_classes, predict_posterior_fossa
from neocus.fetal.cerebellum_train import CerebellumTrainResult, add_fossa_dice, fit_segmentation, initial_network
from neocus.fetal.fossa_zoom import ZOOM_NAME, ZoomSettings, fossa_box_xywh, zoom_crop, zoom_matrix
from neocus.fetal.plane_data import PlanePool, standardise, synth_from_labels, warp_flip_randomise
from neocus.fetal.skull_model import CONFIG_NAME, SkullModelConfig, write_model_folder
from neocus.fetal.train_state import check_training_budget
from neocus.results import AsDict

__all__ = ["DEFAULT_ZOOM_CONFIG", "ZoomTrainOptions", "first_stage_boxes", "train_zoom", "zoom_pairs", "zoom_validation_dice"]

DEFAULT_ZOOM_CONFIG = SkullModelConfig(input_shape_hw=(160, 160))
CB, CS = CLASS_NAMES.index("cerebellum"), CLASS_NAMES.index("cistern")


@dataclass(frozen=True)
class ZoomTrainOptions(AsDict):
    """How to train the zoom stage: the budget of the posterior-fossa trainer, the crop ``margin`` and the
    box errors imitated (standard deviations: ``shift_sd`` of the crop side, ``scale_sd`` and
    ``aspect_sd`` as log-ratios; ``rotate_deg`` uniform)."""

    epochs: int = 12
    steps_per_epoch: int = 40
    batch_size: int = 12
    lr: float = 1e-3
    minutes: float = 18.0
    synth_fraction: float = 0.5
    small_weight: float = 1.0  # in the zoom crop the cerebellum is no longer small: 4 (the first stage's) measured it too wide
    batch_dice: bool = True
    val_images: int = 80
    margin: float = 0.3
    # run D's box errors on 160 validation images (seed 6000; docs/fetal.md): centre shift robust SD 0.015-0.020 of the
    # box side (5-95 %: +-0.05), scale log-ratio robust SD 0.075 (5-95 %: 0.89-1.19); drawn a little wider for the tails
    shift_sd: float = 0.03  # of the crop side (1.6 box sides): 0.05 of the box side
    scale_sd: float = 0.10
    aspect_sd: float = 0.03
    rotate_deg: float = 10.0

    def __post_init__(self) -> None:
        check_training_budget(self)
        if self.val_images < 1 or min(self.shift_sd, self.scale_sd, self.aspect_sd, self.rotate_deg) < 0:
            raise NeocusError("validation images must be at least 1 and the box errors not negative", where="val_images")
        if not self.small_weight > 0:
            raise NeocusError(f"class weight {self.small_weight!r} is not positive", where="small_weight")
        ZoomSettings(margin=self.margin)


def _true_box(target: np.ndarray) -> tuple[float, float, float, float] | None:
    return fossa_box_xywh(target == CB, target == CS)


def zoom_pairs(images: np.ndarray, labels: np.ndarray, *, side: int, options: ZoomTrainOptions,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Randomised zoom crops ``[B, 1, side, side]`` float32 and their class maps (the module docstring)."""
    xs = np.zeros((len(images), 1, side, side), np.float32)
    ys = np.zeros((len(images), 1, side, side), np.float32)
    for k in range(len(images)):
        target = class_map(labels[k])
        box = _true_box(target)
        if box is None:
            raise NeocusError(f"training image {k} has no cerebellum", where="pool", hint="train on trans-cerebellar images")
        img = synth_from_labels(labels[k], rng) if rng.random() < options.synth_fraction else images[k].astype(np.float32) / 255.0
        m = zoom_matrix(box, out_side=side, margin=options.margin, scale=float(np.exp(rng.normal(0.0, options.scale_sd))),
                        shift_xy=tuple(rng.normal(0.0, options.shift_sd, 2)), aspect_x=float(np.exp(rng.normal(0.0, options.aspect_sd))))
        rot = cv2.getRotationMatrix2D(((side - 1) / 2, (side - 1) / 2), float(rng.uniform(-options.rotate_deg, options.rotate_deg)), 1.0)
        m = rot @ np.vstack([m, [0.0, 0.0, 1.0]])
        xs[k, 0], ys[k, 0] = warp_flip_randomise(img, target, m, side=side, rng=rng)
    return xs, ys


def first_stage_boxes(pool: PlanePool, model: CerebellumModel, *, n_images: int) -> list[tuple[float, float, float, float] | None]:
    """The first stage's cerebellum + cistern box of the first ``n_images`` of ``pool`` (``None`` where it found none)."""
    boxes = []
    for i in range(min(n_images, len(pool.images))):
        masks = masks_from_classes(predict_posterior_fossa(pool.images[i], model, zoom=False)[1])
        boxes.append(fossa_box_xywh(masks["cerebellum"], masks["cistern"]))
    return boxes


def zoom_validation_dice(network, config: SkullModelConfig, pool: PlanePool, boxes: list, *, margin: float) -> dict[str, float]:
    """Mean Dice of cerebellum and cistern in the zoom crops around ``boxes`` (the first stage's) of ``pool``."""
    import torch

    network.eval()
    side = config.input_shape_hw[0]
    scores: dict[str, list[float]] = {"cerebellum": [], "cistern": []}
    for i, box in enumerate(boxes):
        if box is None:
            continue
        m = zoom_matrix(box, out_side=side, margin=margin)
        crop = zoom_crop(pool.images[i], m, side=side)
        target = cv2.warpAffine(class_map(pool.labels[i]), m, (side, side), flags=cv2.INTER_NEAREST)
        with torch.inference_mode():
            pred = network(torch.from_numpy(standardise(crop))[None, None]).argmax(1)[0].numpy()
        add_fossa_dice(scores, pred, target)
    return {name: float(np.mean(v)) if v else 0.0 for name, v in scores.items()}


def train_zoom(pool: PlanePool, val_pool: PlanePool, out_dir: str | Path, *, first_stage: CerebellumModel,
               config: SkullModelConfig = DEFAULT_ZOOM_CONFIG, options: ZoomTrainOptions = ZoomTrainOptions(),
               init: str | Path | None = None, progress: Callable[[str], None] | None = None, seed: int = 0) -> CerebellumTrainResult:
    """Train (or resume) the zoom stage in ``out_dir`` (the module docstring); ``init``: a posterior-fossa
    model folder of the same network whose weights start a fresh run (e.g. the first stage's)."""
    import torch

    if config.input_shape_hw[0] != config.input_shape_hw[1]:
        raise NeocusError(f"input {config.input_shape_hw} is not square", where="input_shape_hw")
    out, side = Path(out_dir), config.input_shape_hw[0]
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = initial_network(config, init=init)
    if progress is not None:
        progress("first-stage boxes of the validation images")
    boxes = first_stage_boxes(val_pool, first_stage, n_images=options.val_images)
    files = {CONFIG_NAME: config.to_dict(), ZOOM_NAME: ZoomSettings(margin=options.margin).to_dict()}

    def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        idx = np.sort(rng.choice(len(pool.images), options.batch_size))
        return zoom_pairs(pool.images[idx], pool.labels[idx], side=side, options=options, rng=rng)

    return fit_segmentation(net, out, config=config, options=options, batch=batch, save=lambda n: write_model_folder(out, n, files),
                            validate=lambda n: zoom_validation_dice(n, config, val_pool, boxes, margin=options.margin),
                            what="posterior-fossa zoom", progress=progress, seed=seed)
