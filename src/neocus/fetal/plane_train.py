"""Training of the fetal plane network on the fetal head phantom (no real image is used).

:func:`train_plane` trains :class:`~neocus.fetal.plane_model.PlaneNet` on a :class:`PlanePool` with
the SynthSeg-style randomisation of :func:`~neocus.fetal.plane_data.augment_batch`, AdamW, cosine
decay and label smoothing, for a number of epochs or a time budget, whichever ends first. After
every epoch it writes ``checkpoint.pt`` and a line of ``metrics.jsonl`` (loss, phantom validation
accuracy, seconds) and keeps the weights of the best validation accuracy as the model; re-running
in the same folder resumes after the last finished epoch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from neocus.errors import NeocusError
from neocus.fetal.plane_data import PlanePool, augment_batch, head_crop
from neocus.fetal.plane_model import PlaneModel, PlaneModelConfig, build_plane_net, save_plane_model
from neocus.fetal.train_state import TrainingState, resume_training, save_training
from neocus.results import AsDict

METRICS_NAME = "metrics.jsonl"


@dataclass(frozen=True)
class PlaneTrainOptions:
    epochs: int = 40
    minutes: float = 15.0  # stop after the epoch that passes this budget
    batch_size: int = 32
    lr: float = 2e-3
    synth_fraction: float = 0.5
    label_smoothing: float = 0.1
    clutter: bool = True  # elastic deformation and random bright lines (plane_data.augment_batch)


@dataclass(frozen=True)
class PlaneTrainResult(AsDict):
    epochs_done: int
    resumed_from_epoch: int
    best_epoch: int
    best_validation_accuracy: float
    seconds: float


def validation_batch(pool: PlanePool, *, side: int, highpass_sigma: float = 0.0) -> np.ndarray:
    """The pool's B-mode images cropped around the head as network input (no randomisation)."""
    return np.stack([head_crop(im, lab, out_side=side, highpass_sigma=highpass_sigma) for im, lab in zip(pool.images, pool.labels)])[:, None]


def _accuracy(net, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    net.eval()
    with torch.no_grad():
        pred = np.concatenate([net(torch.from_numpy(x[i:i + 128])).argmax(1).numpy() for i in range(0, len(x), 128)])
    net.train()
    return float((pred == y).mean())


def train_step(net, opt, loss_fn, x, y) -> float:
    """One optimiser step on the batch ``x`` with targets ``y``; the loss before the step."""
    loss = loss_fn(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


def train_plane(
    pool: PlanePool,
    val_pool: PlanePool,
    out_dir: str | Path,
    *,
    config: PlaneModelConfig = PlaneModelConfig(),
    options: PlaneTrainOptions = PlaneTrainOptions(),
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
) -> PlaneTrainResult:
    """Train (or resume) a plane network in ``out_dir`` (see the module docstring)."""
    import torch

    if len(pool.images) < options.batch_size:
        raise NeocusError(f"{len(pool.images)} training images are fewer than one batch ({options.batch_size})", where="cases", hint="simulate more cases")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = build_plane_net(config)
    opt = torch.optim.AdamW(net.parameters(), lr=options.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=options.epochs)
    resumed = resume_training(out, net=net, opt=opt, sched=sched, config=asdict(config), what="plane")
    start, best_acc, best_epoch = resumed.epoch, resumed.best, resumed.best_epoch
    rng = np.random.default_rng([seed, start])
    x_val, y_val = validation_batch(val_pool, side=config.input_side, highpass_sigma=config.highpass_sigma), val_pool.planes
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=options.label_smoothing)
    t0 = time.perf_counter()
    epoch = start
    net.train()
    for epoch in range(start + 1, options.epochs + 1):
        order = rng.permutation(len(pool.images))
        losses = []
        for k in range(0, len(order) - options.batch_size + 1, options.batch_size):
            idx = np.sort(order[k:k + options.batch_size])
            x = torch.from_numpy(augment_batch(pool.images[idx], pool.labels[idx], out_side=config.input_side, synth_fraction=options.synth_fraction, clutter=options.clutter,
                                                   highpass_sigma=config.highpass_sigma, rng=rng))
            losses.append(train_step(net, opt, loss_fn, x, torch.from_numpy(pool.planes[idx])))
        sched.step()
        acc = _accuracy(net, x_val, y_val)
        if acc > best_acc:
            best_acc, best_epoch = acc, epoch
            save_plane_model(PlaneModel(net=net, config=config), out)
        line = {"epoch": epoch, "loss": float(np.mean(losses)), "validation_accuracy": acc, "seconds": time.perf_counter() - t0}
        with open(out / METRICS_NAME, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        save_training(out, TrainingState(epoch, best_acc, best_epoch), net=net, opt=opt, sched=sched, config=asdict(config))
        if progress is not None:
            progress(f"epoch {epoch}: loss {line['loss']:.3f}, phantom validation accuracy {acc:.3f}")
        if time.perf_counter() - t0 > 60.0 * options.minutes:
            break
    return PlaneTrainResult(epochs_done=epoch, resumed_from_epoch=start, best_epoch=best_epoch, best_validation_accuracy=best_acc, seconds=time.perf_counter() - t0)
