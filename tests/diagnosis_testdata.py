"""Synthetic multi-view cases for the diagnosis tests (fast; no phantom rendering).

A severe case shows a bright blob in its coronal views and is labelled IVH with ventricular dilation
(Papile III); a non-severe case shows noise only (normal, grade 0).
"""

from __future__ import annotations

import numpy as np

from neocus.diagnose.data import CaseExample, ViewImage
from neocus.vocab import VIEW_PLANE, VIEWS_IN_SWEEP_ORDER, Finding, Plane, View

SEVERE_FINDINGS = frozenset({Finding.IVH, Finding.VENTRICULAR_DILATION})


def synthetic_case(seed: int, *, severe: bool, size: int = 32, views: tuple[View, ...] = VIEWS_IN_SWEEP_ORDER) -> CaseExample:
    rng = np.random.default_rng(seed)
    out = {}
    for v in views:
        img = rng.integers(20, 60, size=(size, size)).astype(np.uint8)
        mask = np.zeros((size, size), dtype=bool)
        lesion = severe and VIEW_PLANE[v] is Plane.CORONAL
        if lesion:
            cy, cx = rng.integers(size // 4, 3 * size // 4, size=2)
            yy, xx = np.mgrid[:size, :size]
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= (size // 6) ** 2
            img[mask] = 230
        out[v] = ViewImage(img, SEVERE_FINDINGS if lesion else frozenset({Finding.NORMAL}), mask)
    return CaseExample(
        case_id=f"syn{seed}", views=out, severe=int(severe), grade=3 if severe else 0,
        metadata={"ga_weeks": 30.0, "age_days": 5.0, "birth_weight_g": None}, group=f"syn{seed}",
    )


def synthetic_cases(n: int, *, size: int = 32, seed: int = 0) -> list[CaseExample]:
    return [synthetic_case(seed + i, severe=i % 2 == 0, size=size) for i in range(n)]


def make_bundle(root, *, folds=(0, 1), size: int = 32, seed: int = 0):
    """An untrained bundle on disk (config + one state dict per fold): fast, for inference tests."""
    import torch

    from neocus.atomic import atomic_write_text
    from neocus.diagnose.config import CalibrationMethod, DiagnosisConfig, ModelConfig, config_json
    from neocus.diagnose.model import DiagnosisNet

    root.mkdir(parents=True, exist_ok=True)
    config = DiagnosisConfig(model=ModelConfig(image_size_hw=(size, size)), calibration=CalibrationMethod.NONE, folds=tuple(folds)).check()
    for f in folds:
        torch.manual_seed(seed + f)
        torch.save(DiagnosisNet(config.model).state_dict(), root / f"fold{f}.pt")
    atomic_write_text(root / "config.json", config_json(config))
    return root


def write_view_pngs(folder, case: CaseExample):
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for v, vi in case.views.items():
        cv2.imwrite(str(folder / f"{v.value}.png"), vi.image)
    return folder
