"""``neocus demo``: simulate one small phantom case and screen it (the first thing a new user runs).

The seeds are fixed: :data:`DEMO_SEEDS` names, per kind of case, a seed whose phantom labels say
severe (IVH grade 4 with ventricular dilation) or normal (grade 0, every still normal). They were
picked by reading the labels ``neocus simulate`` writes for seeds 0-8 (internal preset);
tests/test_screen_demo.py checks that the seeds still give those labels.

    OUT/demo.json      marks the folder as a neocus demo (so ``force`` may replace it)
    OUT/phantom/       the simulated one-case dataset (sweeps, stills, labels, truth)
    OUT/screen/        the screen output: result.json, report.html, pictures
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from neocus.atomic import atomic_write_text, check_output_dir
from neocus.screen.models import ScreenModels
from neocus.screen.result import ScreenResult

DEMO_SEEDS = {"severe": 5, "normal": 2}
DEMO_PRESET = "internal"
DEMO_SIZE_WH = (256, 256)  # small frames and short sweeps: the simulation takes seconds, not minutes
DEMO_SWEEP_FRAMES = 60
DEMO_FILE = "demo.json"


@dataclass(frozen=True)
class DemoRun:
    result: ScreenResult
    case_folder: Path  # the simulated case
    screen_folder: Path  # result.json, report.html
    expected_severe: bool  # the phantom's own label


def simulation_config(*, cases: int, seed: int, size_wh: tuple[int, int], preset: str = DEMO_PRESET, **options: object):  # noqa: ANN201
    """A :class:`neocus.phantom.export.SimulationConfig` with frames of ``size_wh`` (width, height);
    ``options`` are its other fields (``sweep_frames``, ``sweeps``, ``severe_fraction``, ...)."""
    from neocus.phantom.export import SimulationConfig

    return SimulationConfig(cases=cases, seed=seed, preset=preset, workers=1, frame_size_wh=size_wh, **options)


def demo_config(*, normal: bool = False):  # noqa: ANN201
    """The simulation of the demo case."""
    return simulation_config(cases=1, seed=DEMO_SEEDS["normal" if normal else "severe"], size_wh=DEMO_SIZE_WH,
                             sweep_frames=DEMO_SWEEP_FRAMES)


def run_demo(out: str | Path, *, models: ScreenModels, normal: bool = False, force: bool = False) -> DemoRun:
    """Simulate the demo case into ``out/phantom`` and screen it into ``out/screen``."""
    from neocus.data.dataset import Dataset
    from neocus.phantom.export import simulate_dataset
    from neocus.screen.output import write_case
    from neocus.screen.pipeline import screen

    out = Path(out)
    check_output_dir(out, force=force, marker=DEMO_FILE, kind="an earlier neocus demo")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / DEMO_FILE, json.dumps({"format": "neocus-demo/1", "normal": normal}) + "\n")
    simulate_dataset(out / "phantom", demo_config(normal=normal), replace=True)
    (case,) = Dataset.load(out / "phantom").cases
    result = screen([case.folder], models=models, case_id=case.case_id)
    result = write_case(result, out / "screen", force=True)
    return DemoRun(result, case.folder, out / "screen", bool(case.record.labels.severe))
