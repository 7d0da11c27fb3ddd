"""Detector training: AdamW with warm-up and cosine decay, EMA weights, checkpoint and resume, a JSON
lines metrics log and a loss-curve PNG.

``train_detector(pool, config, out_dir=...)`` trains on a list of frames (phantom pool or dataset
frames) with on-the-fly augmentation. Everything random comes from ``seed``: the batch of step ``t``
is drawn from ``default_rng([seed, t])`` and the torch generator is saved in the checkpoint, so a run
stopped and resumed gives the same batches as one that ran through.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neocus.atomic import atomic_target, atomic_write_text
from neocus.detect.augment import Sample
from neocus.detect.checkpoint import save_model
from neocus.detect.config import DetectorConfig, config_to_dict
from neocus.detect.criterion import DetectionLoss
from neocus.detect.data import targets_of, to_tensor, training_batch
from neocus.detect.model import RotatedRtDetr
from neocus.errors import InputFileError
from neocus.results import AsDict


class ModelEma:
    """Exponential moving average of the weights, decay ramped up over the first updates (as in RT-DETR)."""

    def __init__(self, model: torch.nn.Module, *, decay: float, warmup: int):
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay, self.warmup, self.updates = decay, warmup, 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / max(1, self.warmup)))
        msd = model.state_dict()
        for k, v in self.module.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


def lr_factor(step: int, *, warmup: int, total: int) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then cosine decay to 0.01 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t))


def make_optimizer(model: RotatedRtDetr, config: DetectorConfig) -> torch.optim.AdamW:
    t = config.train
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = p.ndim <= 1 or name.endswith(".bias")
        groups.setdefault((name.startswith("backbone."), no_decay), []).append(p)
    params = [{"params": ps, "lr": t.lr * (t.backbone_lr_mult if bb else 1.0), "weight_decay": 0.0 if nd else t.weight_decay}
              for (bb, nd), ps in groups.items()]
    return torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)


@dataclass(frozen=True)
class TrainResult(AsDict):
    out_dir: Path
    model_path: Path | None  # None when stopped early (stop_at): resume it, or see model_from_checkpoint
    steps: int
    final_loss: float
    first_loss: float
    seconds: float


def _checkpoint(path: Path, model, ema, opt, step: int, config: DetectorConfig, gen: torch.Generator, extra: dict) -> None:  # noqa: ANN001
    state = {"format": "neocus-detector-train/1", "step": step, "config": config_to_dict(config), "model": model.state_dict(),
             "ema": ema.module.state_dict(), "ema_updates": ema.updates, "optimizer": opt.state_dict(),
             "generator": gen.get_state(), "extra": extra}
    with atomic_target(path) as tmp:
        torch.save(state, tmp)


def _load_checkpoint(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise InputFileError(f"cannot read the training checkpoint ({type(exc).__name__})", where=path,
                             hint="start again without resume, or give the out folder of an earlier run") from None
    if not isinstance(state, dict) or state.get("format") != "neocus-detector-train/1":
        raise InputFileError("not a neocus detector training checkpoint", where=path, hint="start again without resume")
    return state


def model_from_checkpoint(last: str | Path, out: str | Path) -> Path:
    """Write ``model.pt`` (EMA weights) from a training checkpoint, e.g. of a run stopped early."""
    state = _load_checkpoint(Path(last))
    from neocus.detect.config import config_from_dict

    config = config_from_dict(state["config"], where=f"{last}: config")
    model = RotatedRtDetr(config.model)
    model.load_state_dict(state["ema"])
    return save_model(Path(out), model, config, info={"steps": int(state["step"]), "data": state.get("extra", {}), "from": "last.pt"})


def _plot_losses(log_path: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "loss" in r]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
    steps = [r["step"] for r in rows]
    for key in ("loss", "vfl", "l1", "rot", "angle"):
        if key not in rows[0]:
            continue
        ax.plot(steps, [r[key] for r in rows], label=key, lw=1.2 if key == "loss" else 0.8)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (mean over the log interval)")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_target(png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def train_detector(
    pool: Sequence[Sample], config: DetectorConfig, *, out_dir: str | Path, steps: int, resume: bool = False,
    device: str = "cpu", log_every: int = 10, checkpoint_every: int = 100, data_info: dict | None = None,
    progress: Callable[[int, dict[str, float]], None] | None = None, stop_at: int | None = None, seed: int = 0,
) -> TrainResult:
    """Train for ``steps`` optimiser steps (total, counting steps done before a resume; the schedule
    spans all of them). ``stop_at`` stops early after that step, as an interrupted run would.

    Writes ``out_dir/last.pt`` (resumable), ``out_dir/model.pt`` (EMA weights, what inference loads),
    ``metrics.jsonl``, ``loss.png`` and ``config.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = RotatedRtDetr(config.model).to(device)
    opt = make_optimizer(model, config)
    ema = ModelEma(model, decay=config.train.ema_decay, warmup=config.train.ema_warmup)
    gen = torch.Generator().manual_seed(seed)
    base_lrs = [g["lr"] for g in opt.param_groups]  # before a resume overwrites them with scheduled values
    start = 0
    last = out / "last.pt"
    log_path = out / "metrics.jsonl"
    if resume and last.is_file():
        state = _load_checkpoint(last)
        model.load_state_dict(state["model"])
        ema.module.load_state_dict(state["ema"])
        ema.updates = int(state["ema_updates"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        start = int(state["step"])
    elif log_path.exists():
        log_path.unlink()
    atomic_write_text(out / "config.json", json.dumps(config_to_dict(config), indent=2) + "\n")
    crit = DetectionLoss(config.train)
    t, m = config.train, config.model
    first = final = float("nan")
    acc: dict[str, list[float]] = {}
    t0 = time.time()
    model.train()
    for step in range(start, min(steps, stop_at or steps)):
        rng = np.random.default_rng([seed, step])
        batch = training_batch(pool, m.input_size, t.batch_size, mosaic_prob=t.mosaic_prob, mixup_prob=t.mixup_prob, rng=rng)
        images = to_tensor([s.image for s in batch]).to(device)
        targets = [{k: v.to(device) for k, v in d.items()} for d in targets_of(batch, m.input_size)]
        f = lr_factor(step, warmup=t.warmup_steps, total=steps)
        for g, lr in zip(opt.param_groups, base_lrs):
            g["lr"] = lr * f
        loss, parts = crit(model(images, targets, generator=gen), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if t.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
        opt.step()
        ema.update(model)
        for k, v in parts.items():
            acc.setdefault(k, []).append(v)
        if (step + 1) % log_every == 0 or step + 1 == steps:
            row = {"step": step + 1, "loss": float(np.mean(acc["total"])), **{k: float(np.mean(v)) for k, v in acc.items() if k != "total"},
                   "lr": base_lrs[0] * f, "seconds": round(time.time() - t0, 2)}
            first = row["loss"] if math.isnan(first) else first
            final = row["loss"]
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
            acc = {}
            if progress is not None:
                progress(step + 1, row)
        if (step + 1) % checkpoint_every == 0 or step + 1 in (steps, stop_at):
            _checkpoint(last, model, ema, opt, step + 1, config, gen, data_info or {})
    finished = stop_at is None or stop_at >= steps
    model_path = save_model(out / "model.pt", ema.module, config, info={"steps": steps, "seed": seed, "data": data_info or {}}) if finished else None
    if log_path.exists():
        _plot_losses(log_path, out / "loss.png")
    return TrainResult(out_dir=out, model_path=model_path, steps=steps, final_loss=final, first_loss=first, seconds=time.time() - t0)
