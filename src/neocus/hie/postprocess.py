"""Post-processing of lesion probabilities: a threshold, a minimum component size and an optional gate
(keep only voxels with Z-ADC below -2) and an optional per-component lesion / no-lesion filter
(:mod:`neocus.hie.components`), fitted on out-of-fold predictions only (never on the patients a figure
is reported for). The gate and the filter need the Z-ADC map; on ADC alone they are skipped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import numpy as np

from neocus.errors import InputFileError, parse_choice
from neocus.hie.components import ComponentFilter, ComponentMaps, describe
from neocus.hie.metrics import lesion_components
from neocus.results import AsDict

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.3, 0.851, 0.05))
MIN_SIZES_MM3 = (0.0, 10.0, 25.0, 50.0, 100.0, 200.0, 400.0)


class Gate(StrEnum):
    NONE = "none"
    ZLOW = "zlow"  # keep only brain voxels with Z-ADC below -2


@dataclass(frozen=True)
class PostProcess(AsDict):
    threshold: float = 0.5
    min_component_mm3: float = 0.0
    gate: Gate = Gate.NONE
    fitted_on: int = 0  # patients whose out-of-fold predictions chose these values
    mean_dice: float = float("nan")  # their mean Dice at these values
    component_filter: ComponentFilter | None = None  # drops components judged false positives (needs Z-ADC)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gate", parse_choice(Gate, self.gate, what="gate"))

    def save(self, path: Path) -> None:
        from neocus.atomic import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> PostProcess:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputFileError(f"cannot read the post-processing settings: {exc}", where=path, hint="re-run training or restore the model folder") from None


    @classmethod
    def from_dict(cls, data: Mapping) -> PostProcess:
        return cls(
            threshold=float(data["threshold"]), min_component_mm3=float(data["min_component_mm3"]),
            gate=data.get("gate", "none"), fitted_on=int(data.get("fitted_on", 0)),
            mean_dice=float(data.get("mean_dice") or "nan"),
            component_filter=ComponentFilter.from_dict(data["component_filter"]) if data.get("component_filter") else None,
        )


def apply(
    prob: np.ndarray, post: PostProcess, *, voxel_mm3: float, zlow: np.ndarray | None = None, maps: ComponentMaps | None = None
) -> np.ndarray:
    """Binary mask (uint8): ``prob >= threshold``, within ``zlow`` when the gate asks for it and the
    map is given, minus components smaller than the minimum size, minus the components the filter
    judges false positives when ``post`` has one and ``maps`` (with Z-ADC) are given."""
    mask = np.asarray(prob) >= post.threshold
    if post.gate is Gate.ZLOW and zlow is not None:
        mask &= np.asarray(zlow) > 0.5
    mask = remove_small(mask, min_voxels=post.min_component_mm3 / voxel_mm3)
    if post.component_filter is not None and maps is not None and mask.any():
        mask = post.component_filter.apply(describe(mask, prob, maps))
    return mask.astype(np.uint8)


def remove_small(mask: np.ndarray, *, min_voxels: float) -> np.ndarray:
    if min_voxels <= 1 or not mask.any():
        return mask
    labels, n = lesion_components(mask)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_voxels
    keep[0] = False
    return keep[labels]


@dataclass(frozen=True)
class ComponentTable:
    """One patient's components at each threshold: sizes (voxels) and overlap with the truth, so that
    Dice under any minimum size is a sum over components (no relabelling per size)."""

    thresholds: tuple[float, ...]
    sizes: tuple[np.ndarray, ...]
    overlaps: tuple[np.ndarray, ...]
    n_true: int
    voxel_mm3: float

    def dice(self, t_index: int, min_mm3: float) -> float:
        keep = self.sizes[t_index] >= min_mm3 / self.voxel_mm3
        denom = int(self.sizes[t_index][keep].sum()) + self.n_true
        return 1.0 if denom == 0 else 2.0 * float(self.overlaps[t_index][keep].sum()) / denom


def component_table(
    prob: np.ndarray, truth: np.ndarray, *, voxel_mm3: float, thresholds: Sequence[float] = THRESHOLDS, gate_mask: np.ndarray | None = None
) -> ComponentTable:
    truth = np.asarray(truth, bool)
    sizes, overlaps = [], []
    for t in thresholds:
        candidate = np.asarray(prob) >= t
        if gate_mask is not None:
            candidate &= np.asarray(gate_mask) > 0.5
        labels, n = lesion_components(candidate)
        sizes.append(np.bincount(labels.ravel(), minlength=n + 1)[1:])
        overlaps.append(np.bincount(labels[truth], minlength=n + 1)[1:])
    return ComponentTable(tuple(float(t) for t in thresholds), tuple(sizes), tuple(overlaps), int(truth.sum()), float(voxel_mm3))


def fit_tables(tables: Sequence[ComponentTable], *, min_sizes_mm3: Sequence[float] = MIN_SIZES_MM3) -> PostProcess:
    """The threshold and minimum size that maximise mean Dice over these (out-of-fold) patients;
    ties go to the first pair tried (lower threshold, smaller size)."""
    if not tables:
        raise ValueError("need at least one patient")
    best = (-1.0, 0.5, 0.0)
    for ti, t in enumerate(tables[0].thresholds):
        for size in min_sizes_mm3:
            score = float(np.mean([tab.dice(ti, size) for tab in tables]))
            if score > best[0] + 1e-12:
                best = (score, float(t), float(size))
    return PostProcess(threshold=best[1], min_component_mm3=best[2], fitted_on=len(tables), mean_dice=best[0])


def fit_gated(tables: Mapping[Gate, Sequence[ComponentTable]], *, min_sizes_mm3: Sequence[float] = MIN_SIZES_MM3) -> PostProcess:
    """:func:`fit_tables` for each gate (tables of the same patients); the best wins, ties to no gate."""
    best: PostProcess | None = None
    for gate in Gate:
        if gate in tables:
            post = replace(fit_tables(tables[gate], min_sizes_mm3=min_sizes_mm3), gate=gate)
            if best is None or post.mean_dice > best.mean_dice + 1e-12:
                best = post
    if best is None:
        raise ValueError("no tables to fit")
    return best


def fit(
    probs: Sequence[np.ndarray],
    truths: Sequence[np.ndarray],
    *,
    voxel_mm3: Sequence[float],
    thresholds: Sequence[float] = THRESHOLDS,
    min_sizes_mm3: Sequence[float] = MIN_SIZES_MM3,
) -> PostProcess:
    """:func:`fit_tables` on probability maps and truths (one voxel volume in mm^3 per patient)."""
    if not probs or len(probs) != len(truths) or len(probs) != len(voxel_mm3):
        raise ValueError("need one probability map, truth and voxel size per patient")
    tables = [component_table(p, t, voxel_mm3=v, thresholds=thresholds) for p, t, v in zip(probs, truths, voxel_mm3)]
    return fit_tables(tables, min_sizes_mm3=min_sizes_mm3)
