"""The checkpoint of a fetal training run kept in one file: network, optimiser, schedule, the last
finished epoch and the best validation score so far.

The plane and posterior-fossa trainers resume through :func:`resume_training` and write through
:func:`save_training` (atomically, so a run killed while writing keeps its previous checkpoint).
A checkpoint written for another network configuration is refused with a one-line error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neocus.atomic import atomic_target
from neocus.errors import NeocusError

CHECKPOINT_NAME = "checkpoint.pt"


def check_training_budget(options: Any) -> None:
    """Refuse training options whose budget is empty: ``epochs``, ``steps_per_epoch`` and ``batch_size`` at
    least 1, ``lr`` and ``minutes`` positive (the fields every fetal trainer's options share)."""
    o = options
    if o.epochs < 1 or o.steps_per_epoch < 1 or o.batch_size < 1 or not o.lr > 0 or not o.minutes > 0:
        raise NeocusError("epochs, steps per epoch and batch size must be at least 1, learning rate and minutes positive", where="epochs")


@dataclass(frozen=True)
class TrainingState:
    """Where a run stands: the last finished epoch (0: none) and the best validation score and its epoch."""

    epoch: int = 0
    best: float = -1.0
    best_epoch: int = 0


def resume_training(out_dir: str | Path, *, net: Any, opt: Any, sched: Any, config: dict, what: str) -> TrainingState:
    """Load ``out_dir``'s checkpoint into ``net``, ``opt`` and ``sched`` and return where it stood; a fresh
    :class:`TrainingState` when there is none. ``what`` names the training in the error for a checkpoint
    of another ``config``."""
    import torch

    path = Path(out_dir) / CHECKPOINT_NAME
    if not path.is_file():
        return TrainingState()
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["config"] != config:
        raise NeocusError(f"the folder holds a {what} training with another network or input size", where=out_dir,
                          hint="re-run with the same options to resume, or choose a new folder")
    net.load_state_dict(state["net"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    return TrainingState(int(state["epoch"]), float(state["best"]), int(state["best_epoch"]))


def save_training(out_dir: str | Path, state: TrainingState, *, net: Any, opt: Any, sched: Any, config: dict) -> None:
    """Write the checkpoint of ``state`` (atomically) into ``out_dir``."""
    import torch

    with atomic_target(Path(out_dir) / CHECKPOINT_NAME) as tmp:
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": state.epoch,
                    "best": state.best, "best_epoch": state.best_epoch, "config": config}, tmp)
