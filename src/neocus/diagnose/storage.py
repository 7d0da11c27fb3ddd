"""Compact storage of a bundle's fold weights: float32, float16, or int8 per output channel.

An ``int8`` state dict keeps every float matrix / kernel of at least :data:`INT8_MIN_SIZE` values as
``round(w / s)`` in int8 with one float16 scale ``s = max|w| / 127`` per output channel (stored under
``<name>`` and ``<name>.__scale``); smaller tensors (biases, norms, layer scales) are kept in float16.
:func:`expand_state` gives back a float32 state dict that ``load_state_dict`` takes. Storage changes the
weights slightly: docs/diagnosis.md gives the effect on the held-out AUC that was measured.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import torch

from neocus.atomic import atomic_target, atomic_write_bytes, check_output_dir

SCALE_SUFFIX = ".__scale"
INT8_MIN_SIZE = 4096


class WeightStorage(StrEnum):
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    INT8 = "int8"


def compact_state(state: dict[str, torch.Tensor], *, storage: WeightStorage) -> dict[str, torch.Tensor]:
    """``state`` in the given storage (see the module docstring)."""
    if storage is WeightStorage.FLOAT32:
        return {k: v.detach().clone() for k, v in state.items()}
    out: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        v = v.detach()
        if not v.is_floating_point():
            out[k] = v.clone()
        elif storage is WeightStorage.INT8 and v.ndim >= 2 and v.numel() >= INT8_MIN_SIZE:
            flat = v.float().reshape(v.shape[0], -1)
            scale = (flat.abs().amax(dim=1, keepdim=True) / 127.0).clamp_min(1e-12).half()
            out[k] = torch.round(flat / scale.float()).clamp(-127, 127).to(torch.int8).reshape(v.shape)
            out[k + SCALE_SUFFIX] = scale
        else:
            out[k] = v.half()
    return out


def expand_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A float32 state dict from any :func:`compact_state` output (or a plain state dict)."""
    out: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        if k.endswith(SCALE_SUFFIX):
            continue
        scale = state.get(k + SCALE_SUFFIX)
        if scale is not None:
            out[k] = (v.float().reshape(v.shape[0], -1) * scale.float()).reshape(v.shape)
        else:
            out[k] = v.float() if v.is_floating_point() else v
    return out


BUNDLE_FILES = ("config.json", "calibration.json", "oof.csv", "reliability.png", "folds.json")


def export_bundle(src: str | Path, out: str | Path, *, storage: WeightStorage = WeightStorage.FLOAT16, force: bool = False) -> Path:
    """Copy the trained bundle ``src`` (as written by training) to ``out`` with its fold weights in
    ``storage``: what ships in models/diagnosis. Checkpoints and per-fold logs are left behind."""
    from neocus.diagnose.bundle import CONFIG_FILE, load_bundle

    src, out = Path(src), Path(out)
    bundle = load_bundle(src)  # checks that every fold file fits the config
    check_output_dir(out, force=force, marker=CONFIG_FILE, kind="a diagnosis model")
    out.mkdir(parents=True, exist_ok=True)
    for name in BUNDLE_FILES:
        if (src / name).is_file():
            atomic_write_bytes(out / name, (src / name).read_bytes())
    for fold, model in zip(bundle.config.folds, bundle.models):
        with atomic_target(out / f"fold{fold}.pt") as tmp:
            torch.save(compact_state(model.state_dict(), storage=storage), tmp)
    return out
