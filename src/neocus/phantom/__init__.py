"""The neonatal cranial ultrasound phantom: anatomy, lesions, B-mode rendering, sweeps, ground truth.

The Python API (see docs/phantom.md) is re-exported here and imported lazily, so that importing a small
part (e.g. ``neocus.phantom.types``) does not load the renderer::

    from neocus.phantom import new_subject, standard_still, jittered_neighbours, render_sweep, get_preset

Synthetic data only: models trained on the phantom are not a clinical device.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "new_subject": "neocus.phantom.api",
    "render": "neocus.phantom.api",
    "truth_of": "neocus.phantom.api",
    "standard_still": "neocus.phantom.api",
    "still_plane": "neocus.phantom.api",
    "jittered_neighbours": "neocus.phantom.api",
    "render_sweep": "neocus.phantom.api",
    "simulate_case": "neocus.phantom.api",
    "subject_views": "neocus.phantom.api",
    "Still": "neocus.phantom.api",
    "RenderedSweep": "neocus.phantom.api",
    "SimulatedCase": "neocus.phantom.api",
    "PlaneJitter": "neocus.phantom.api",
    "POPULATIONS": "neocus.phantom.api",
    "get_preset": "neocus.phantom.presets",
    "PRESETS": "neocus.phantom.presets",
    "ScannerPreset": "neocus.phantom.presets",
    "render_plane": "neocus.phantom.bmode",
    "RenderedFrame": "neocus.phantom.bmode",
    "plan_sweep": "neocus.phantom.sweep",
    "plane_at": "neocus.phantom.sweep",
    "SweepPlan": "neocus.phantom.sweep",
    "simulate_dataset": "neocus.phantom.export",
    "SimulationConfig": "neocus.phantom.export",
    "ImagePlane": "neocus.phantom.types",
    "HeadModel": "neocus.phantom.types",
    "TissueSample": "neocus.phantom.types",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'neocus.phantom' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
