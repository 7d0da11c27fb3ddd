"""Test material for neocus.screen: a tiny phantom dataset, tiny untrained models on disk, and a
ground-truth "detector" (the phantom's own boxes) so that the views stage finds real views and the
whole flow -- views, diagnosis, heatmaps, report -- runs. Tests judge the flow, never model quality."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from diagnosis_testdata import make_bundle
from neocus.data.dataset import Dataset
from neocus.detect.checkpoint import save_model
from neocus.detect.config import load_config
from neocus.detect.model import RotatedRtDetr
from neocus.screen.models import ModelInfo, ScreenModels
from neocus.views.oracle import NO_DEGRADATION, degrade, truth_from_annotations

SIZE_WH = (128, 128)


def simulate(root: Path, *, cases: int = 2, seed: int = 5, sweep_frames: int = 40, **options) -> Path:
    from neocus.phantom.export import simulate_dataset
    from neocus.screen.demo import simulation_config

    return simulate_dataset(root, simulation_config(cases=cases, seed=seed, size_wh=SIZE_WH, sweep_frames=sweep_frames, **options))


def write_models(root: Path) -> Path:
    """``root/detector/model.pt`` (tiny config, untrained) and ``root/diagnosis`` (untrained bundle)."""
    torch.manual_seed(0)
    cfg = load_config("tiny")
    (root / "detector").mkdir(parents=True, exist_ok=True)
    save_model(root / "detector" / "model.pt", RotatedRtDetr(cfg.model).eval(), cfg)
    make_bundle(root / "diagnosis", folds=(0,), size=32)
    return root


class TruthDetector:
    """Answers ``detect_frames`` with a phantom case's ground-truth boxes, sweep after sweep in the
    order the screen reads them (sorted file names); frames of anything else get no boxes."""

    def __init__(self, case_folders: Sequence[Path] = ()):
        self.queue = []
        for folder in case_folders:
            ds_case = next(c for c in Dataset.load(folder.parents[1]).cases if c.folder == folder)
            for name in sorted(ds_case.record.sweeps):
                sweep = ds_case.load_sweep(name)
                boxes = truth_from_annotations(ds_case.annotations(name), n_frames=sweep.n_frames)
                self.queue.append(degrade(boxes, size_wh=(sweep.width, sweep.height), degradation=NO_DEGRADATION,
                                          rng=np.random.default_rng(0)))
        self.calls = 0

    def detect_frames(self, frames, *, crop=None):  # noqa: ANN001, ANN201
        from neocus.detect.infer import FrameDetections

        self.calls += 1
        if self.queue and len(self.queue[0]) == len(frames):
            return list(self.queue.pop(0))
        return [FrameDetections(i, ()) for i in range(len(frames))]


def truth_models(models_root: Path, case_folders: Sequence[Path] = ()) -> ScreenModels:
    """Loaded models with the ground-truth detector in place of the tiny one."""
    from neocus.diagnose import load_bundle

    bundle = load_bundle(models_root / "diagnosis")
    info = (ModelInfo("detector", "ground truth (test)", "0" * 64), ModelInfo("diagnosis", str(models_root / "diagnosis"), "0" * 64))
    return ScreenModels(TruthDetector(case_folders), bundle, info)
