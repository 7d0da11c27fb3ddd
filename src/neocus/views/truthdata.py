"""Ground truth of a phantom dataset for the views stage: per case, each sweep's oracle-degraded
detections, view windows and quality tracks (from ``truth.json`` and the annotations)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neocus.data.dataset import CaseEntry, Dataset
from neocus.errors import DatasetError
from neocus.views.extract import SweepDetections
from neocus.views.oracle import Degradation, degrade, truth_from_annotations
from neocus.vocab import Plane, View


@dataclass(frozen=True)
class TruthWindow:
    start: int
    end: int
    best_frame: int
    best_quality: float


@dataclass(frozen=True, eq=False)
class TruthSweep:
    """One sweep of a phantom case: what the views stage sees (``detections``) and the truth beside it."""

    detections: SweepDetections
    plane: Plane  # truth only: never given to the views stage
    windows: dict[View, TruthWindow | None]
    quality: dict[View, np.ndarray]
    direction: str | None = None  # truth only: the phantom's sweep direction


@dataclass(frozen=True, eq=False)
class TruthCase:
    case_id: str
    preset: str
    sweeps: tuple[TruthSweep, ...]


def _truth_json(case: CaseEntry) -> dict:
    path = case.folder / "truth.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError("no truth.json: views evaluation and fitting need a phantom dataset with ground truth",
                           where=path, hint="write one with `neocus simulate`") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read truth.json: {exc}", where=path) from None


def truth_cases(dataset: str | Path | Dataset, *, degradation: Degradation = Degradation(), detector: Any = None,
                seed: int = 0, boxes: bool = True) -> Iterator[TruthCase]:
    """Every case of a phantom dataset (a folder or a loaded :class:`Dataset`) with its detections: oracle-
    degraded ground-truth boxes (one generator per case from ``seed``), or, given a
    :class:`neocus.detect.Detector`, that detector's output on the decoded sweep (ROI-cropped by
    :meth:`~neocus.detect.Detector.detect_sweep` as ``neocus screen`` crops it). ``boxes=False`` gives the
    truth only, with no detections (what judging views chosen elsewhere needs)."""
    ds = dataset if isinstance(dataset, Dataset) else Dataset.load(dataset)
    preset, size_wh = _preset(ds), _size_wh(ds)
    for k, case in enumerate(ds.cases):
        truth = _truth_json(case)
        rng = np.random.default_rng([seed, k])
        sweeps = []
        for name in sorted(case.record.sweeps):
            t = truth["sweeps"].get(name)
            if t is None:
                raise DatasetError(f"truth.json has no sweep '{name}'", where=case.folder / "truth.json")
            n, fps = int(t["n_frames"]), float(t["fps"])
            if not boxes:
                frames = ()
            elif detector is None:
                truth_boxes = truth_from_annotations(case.annotations(name), n_frames=n)
                frames = degrade(truth_boxes, size_wh=size_wh, degradation=degradation, rng=rng)
            else:
                frames = tuple(detector.detect_sweep(case.load_sweep(name)))
            dets = SweepDetections(name, frames, n, fps)
            windows = {View(v): (TruthWindow(w["start"], w["end"], w["best_frame"], w["best_quality"]) if w else None)
                       for v, w in t["view_windows"].items()}
            quality = {View(v): np.asarray(q, dtype=np.float64) for v, q in t["quality"].items()}
            sweeps.append(TruthSweep(dets, Plane(t["plane"]), windows, quality, t.get("direction")))
        yield TruthCase(case.case_id, preset, tuple(sweeps))


def _preset(ds: Dataset) -> str:
    prov = ds.record.provenance
    return (prov.preset if prov is not None else None) or "unknown"


def _size_wh(ds: Dataset) -> tuple[int, int]:
    """Frame size for false-positive boxes (the provenance key ``frame_size`` holds ``SimulationConfig.frame_size_wh``, (W, H))."""
    prov = ds.record.provenance
    fs = prov.parameters.get("frame_size") if prov is not None else None
    return (int(fs[0]), int(fs[1])) if fs else (640, 480)
