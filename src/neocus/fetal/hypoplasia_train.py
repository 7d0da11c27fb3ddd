"""Training of the cerebellar hypoplasia classifier (:mod:`neocus.fetal.hypoplasia_model`) on the phantom.

Every variant trains on the same pool (:mod:`neocus.fetal.hypoplasia_data`: trans-cerebellar images of
all four conditions), with the same seed, batches, steps and optimiser, so the ablation differs in the
network's use of the anatomy only. Each batch is randomised in the SynthSeg style of
:func:`neocus.fetal.hypoplasia_data.augment_hypoplasia_batch` (random per-structure grey levels for half
of it, crop around the head, rotation, flips, blur, gamma, contrast, noise; never a change of aspect,
which would move the TCD-to-head ratio the label depends on), so the network must learn shape. A
``ga_and_scale`` network also gets each image's GA and its crop's mm per pixel (the scale of the random
crop, :class:`~neocus.fetal.hypoplasia_data.AugmentedBatch`); with ``median_tcd_px`` the crop is zoomed
so that the median TCD for the GA is that many pixels (+-4 %) instead of a random zoom.
Loss: binary cross-entropy of the hypoplasia logit; the ``auxseg`` and ``attention`` variants add
``seg_weight`` x MONAI ``DiceCELoss`` of their predicted class map against the true masks.

An epoch is ``steps_per_epoch`` batches. After each epoch: phantom validation AUC (the validation pool,
head crop without randomisation) in ``metrics.jsonl`` and ``checkpoint.pt``; the best AUC (ties: the
later epoch) is the model, with its temperature and threshold fitted on the same validation images
(``calibration.json``). Re-running in the folder resumes; a folder of another variant or size is refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neocus.errors import NeocusError
from neocus.fetal.hypoplasia_data import HypoplasiaPool, augment_hypoplasia_batch, crop_inputs, crop_mm_per_px, fill_for_scale
from neocus.fetal.hypoplasia_model import (HypoplasiaCalibration, HypoplasiaModel, HypoplasiaModelConfig, build_hypoplasia_net,
                                           config_dict, crop_target_mm_per_px, hypoplasia_logits, save_hypoplasia_model, side_features)
from neocus.fetal.train_state import TrainingState, check_training_budget, resume_training, save_training
from neocus.results import AsDict

__all__ = ["HypoplasiaTrainOptions", "HypoplasiaTrainResult", "fit_hypoplasia_calibration", "pool_fill", "pool_inputs", "train_hypoplasia"]

METRICS_NAME = "metrics.jsonl"


@dataclass(frozen=True)
class HypoplasiaTrainOptions(AsDict):
    epochs: int = 20
    steps_per_epoch: int = 30
    batch_size: int = 32
    lr: float = 2e-3
    minutes: float = 11.0  # stop after the epoch that passes this budget
    synth_fraction: float = 0.5
    seg_weight: float = 1.0

    def __post_init__(self) -> None:
        check_training_budget(self)
        if not self.seg_weight >= 0:
            raise NeocusError(f"segmentation loss weight {self.seg_weight!r} is negative", where="seg_weight")


@dataclass(frozen=True)
class HypoplasiaTrainResult(AsDict):
    epochs_done: int
    resumed_from_epoch: int
    best_epoch: int
    best_validation_auc: float
    seconds: float
    losses: tuple[float, ...]


def fit_hypoplasia_calibration(y_true, logits) -> HypoplasiaCalibration:
    """Temperature scaling of the logits (NLL, :func:`neocus.diagnose.calibrate.fit_calibration`) and the
    Youden threshold on the calibrated probability, both fitted on ``y_true`` (validation data only)."""
    from neocus.diagnose.calibrate import fit_calibration
    from neocus.stats import youden_threshold

    raw = HypoplasiaCalibration().probability(logits)
    temperature = fit_calibration(y_true, raw, method="temperature").temperature
    cal = HypoplasiaCalibration(temperature=temperature)
    thr = youden_threshold(np.asarray(y_true), cal.probability(logits)).threshold
    return HypoplasiaCalibration(temperature=temperature, threshold=float(np.clip(thr, 0.0, 1.0)))


def pool_fill(pool: HypoplasiaPool, config: HypoplasiaModelConfig, idx=slice(None)) -> np.ndarray | None:
    """Per-image head fill of a ``median_tcd_px`` model's crops of ``pool[idx]`` (``None``: the default zoom)."""
    target = crop_target_mm_per_px(pool.ga_weeks[idx], config)
    return None if target is None else fill_for_scale(pool.labels[idx], pool.pixel_mm[idx], target, side=config.input_side,
                                                      render_h=pool.render_hw[0])


def pool_inputs(pool: HypoplasiaPool, config: HypoplasiaModelConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """Network inputs ``[N, 1, S, S]`` of a validation / hold-out pool (crop on the true head box, no
    randomisation) and, for a ``ga_and_scale`` model, their side features ``[N, 3]`` (GA, crop scale)."""
    fill = pool_fill(pool, config)
    x, _ = crop_inputs(pool.images, pool.labels, side=config.input_side, fill=fill)
    if not config.ga_and_scale:
        return x, None
    return x, side_features(pool.ga_weeks, crop_mm_per_px(pool.labels, pool.pixel_mm, side=config.input_side, fill=fill,
                                                          render_h=pool.render_hw[0]))


def _seg_loss(weight: float):
    from monai.losses import DiceCELoss

    dice_ce = DiceCELoss(to_onehot_y=True, softmax=True, batch=True)
    return lambda seg, target: weight * dice_ce(seg, target)


def train_hypoplasia(pool: HypoplasiaPool, val_pool: HypoplasiaPool, out_dir: str | Path, *,
                     config: HypoplasiaModelConfig = HypoplasiaModelConfig(), options: HypoplasiaTrainOptions = HypoplasiaTrainOptions(),
                     progress: Callable[[str], None] | None = None, seed: int = 0) -> HypoplasiaTrainResult:
    """Train (or resume) a hypoplasia classifier in ``out_dir`` (see the module docstring)."""
    import torch

    from neocus.stats import auc_score

    y_val = val_pool.positive
    if len(pool.images) < options.batch_size or len(set(pool.positive.tolist())) < 2 or len(set(y_val.tolist())) < 2:
        raise NeocusError(f"{len(pool.images)} training images: need at least one batch ({options.batch_size}) and both classes in"
                          " training and validation", where="cases", hint="render more cases")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = build_hypoplasia_net(config)
    opt = torch.optim.AdamW(net.parameters(), lr=options.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=options.epochs * options.steps_per_epoch)
    resumed = resume_training(out, net=net, opt=opt, sched=sched, config=config_dict(config), what="hypoplasia")
    start, best_auc, best_epoch = resumed.epoch, resumed.best, resumed.best_epoch
    rng = np.random.default_rng([seed, start])
    x_val, side_val = pool_inputs(val_pool, config)
    bce, seg_loss = torch.nn.BCEWithLogitsLoss(), _seg_loss(options.seg_weight)
    y_all = torch.from_numpy(pool.positive.astype(np.float32))
    t0 = time.perf_counter()
    epoch, epoch_losses = start, []
    for epoch in range(start + 1, options.epochs + 1):
        net.train()
        losses = []
        for _ in range(options.steps_per_epoch):
            idx = np.sort(rng.choice(len(pool.images), options.batch_size, replace=False))
            b = augment_hypoplasia_batch(pool.images[idx], pool.labels[idx], side=config.input_side, synth_fraction=options.synth_fraction,
                                         pixel_mm=pool.pixel_mm[idx] if config.ga_and_scale else None, fill=pool_fill(pool, config, idx),
                                         render_h=pool.render_hw[0],
                                         rng=rng)
            side = torch.from_numpy(side_features(pool.ga_weeks[idx], b.mm_per_px)) if config.ga_and_scale else None
            logit, seg = net(torch.from_numpy(b.x), side)
            loss = bce(logit, y_all[idx])
            if seg is not None:
                loss = loss + seg_loss(seg, torch.from_numpy(b.target))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        logits = hypoplasia_logits(net, x_val, side=side_val)
        auc = auc_score(y_val, logits)
        if auc >= best_auc:
            best_auc, best_epoch = auc, epoch
            save_hypoplasia_model(HypoplasiaModel(net=net, config=config, calibration=fit_hypoplasia_calibration(y_val, logits)), out)
        line = {"epoch": epoch, "loss": float(np.mean(losses)), "validation_auc": auc, "seconds": time.perf_counter() - t0}
        with open(out / METRICS_NAME, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        save_training(out, TrainingState(epoch, best_auc, best_epoch), net=net, opt=opt, sched=sched, config=config_dict(config))
        epoch_losses.append(line["loss"])
        if progress is not None:
            progress(f"epoch {epoch}/{options.epochs}: loss {line['loss']:.3f}, phantom validation AUC {auc:.3f}")
        if time.perf_counter() - t0 > 60.0 * options.minutes:
            break
    return HypoplasiaTrainResult(epochs_done=epoch, resumed_from_epoch=start, best_epoch=best_epoch, best_validation_auc=best_auc,
                                 seconds=time.perf_counter() - t0, losses=tuple(epoch_losses))
