"""Where the fetal tests find the real HC18 images: ../shared/data/real/fetal/hc18 beside the repository
(``NEOCUS_SHARED_DATA`` may point at another shared/data folder, e.g. from a git worktree); skip when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def hc18_root() -> Path:
    base = Path(os.environ.get("NEOCUS_SHARED_DATA", _DEFAULT))
    root = base / "real" / "fetal" / "hc18"
    if not (root / "images").is_dir():
        pytest.skip(f"real data not available: {root}")
    return root


def make_hc18_folder(root: Path, *, n: int = 6, shape_hw: tuple[int, int] = (120, 176), pixel_mm: float = 0.2,
                     seed: int = 0) -> Path:
    """A small folder in the HC18 layout: each image a bright noisy filled ellipse (the 'head') on a dark
    noisy background, its filled annotation, and the CSV with the ellipse's perimeter in mm."""
    import cv2
    import numpy as np

    from neocus.fetal.ellipse import ramanujan_perimeter

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    rows = ["filename,pixel size(mm),head circumference (mm)"]
    h, w = shape_hw
    for i in range(n):
        a, b = rng.uniform(0.25, 0.4) * w, 0.0
        b = a * rng.uniform(0.65, 0.85)
        centre = (w / 2 + rng.uniform(-8, 8), h / 2 + rng.uniform(-6, 6))
        angle = float(rng.uniform(-40, 40))
        b = min(b, 0.42 * h)
        mask = np.zeros(shape_hw, np.uint8)
        cv2.ellipse(mask, (centre, (2 * a, 2 * b), angle), 255, -1)
        img = np.clip(30 + 150 * (mask > 0) + rng.normal(0, 12, shape_hw), 0, 255).astype(np.uint8)
        name = f"{i:03d}_HC.png"
        cv2.imwrite(str(root / "images" / name), img)
        cv2.imwrite(str(root / "images" / name.replace(".png", "_Annotation.png")), mask)
        rows.append(f"{name},{pixel_mm},{ramanujan_perimeter(a, b) * pixel_mm:.2f}")
    (root / "hc18_pixel_size_and_HC.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def bright_model(input_shape_hw: tuple[int, int]):
    """A skull 'model' whose network calls bright pixels head: exact on the synthetic images of these
    tests (a bright filled ellipse on a dark background), so the chain around the network is tested."""
    import torch

    from neocus.fetal.skull_model import SkullModel, SkullModelConfig

    class Bright(torch.nn.Module):
        def forward(self, x):
            return torch.cat([-8 * x, 8 * x], dim=1)

    return SkullModel(config=SkullModelConfig(input_shape_hw=input_shape_hw), network=Bright(), path=None)
