"""Overlap and boundary metrics of two 2-D masks (skull, cerebellum, cistern), through MONAI.

* Dice: ``2 |A and B| / (|A| + |B|)`` (``monai.metrics.compute_dice``); both masks empty -> 1.0.
* Hausdorff distance in mm between the *boundaries* of the two masks
  (``monai.metrics.compute_hausdorff_distance``, which takes the masks' edge pixels and their
  Euclidean distances with the pixel spacing); ``percentile=95`` gives HD95. One mask empty and the
  other not -> ``inf`` (no finite distance exists); both empty -> 0.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from monai.metrics import compute_dice, compute_hausdorff_distance

from neocus.errors import NeocusError

__all__ = ["dice", "hausdorff_mm"]


def _pair(mask_pred: np.ndarray, mask_true: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = np.asarray(mask_pred), np.asarray(mask_true)
    if a.ndim != 2 or a.shape != b.shape:
        raise NeocusError(f"masks must be 2-D and the same shape, got {a.shape} and {b.shape}", where="mask_pred",
                          hint="compare masks of the same image")
    return (torch.from_numpy(a > 0)[None, None].float(), torch.from_numpy(b > 0)[None, None].float())


def dice(mask_pred: np.ndarray, mask_true: np.ndarray) -> float:
    """Dice coefficient of two masks ``[H, W]`` (non-zero = inside)."""
    p, t = _pair(mask_pred, mask_true)
    if p.sum() == 0 and t.sum() == 0:
        return 1.0
    return float(compute_dice(p, t, include_background=True, ignore_empty=False)[0, 0])


def hausdorff_mm(mask_pred: np.ndarray, mask_true: np.ndarray, *, pixel_mm: float = 1.0,
                 percentile: float | None = None) -> float:
    """Symmetric Hausdorff distance (or its ``percentile``, e.g. 95) between the mask boundaries, in mm."""
    if not (math.isfinite(pixel_mm) and pixel_mm > 0):
        raise NeocusError(f"impossible pixel spacing {pixel_mm!r}", where="pixel_mm", hint="give the pixel size in mm")
    p, t = _pair(mask_pred, mask_true)
    empty_p, empty_t = bool(p.sum() == 0), bool(t.sum() == 0)
    if empty_p and empty_t:
        return 0.0
    if empty_p or empty_t:
        return math.inf
    with warnings.catch_warnings():  # MONAI 1.5-1.6 warns about its own internal argument
        warnings.simplefilter("ignore", FutureWarning)
        hd = compute_hausdorff_distance(p, t, include_background=True, percentile=percentile,
                                        spacing=float(pixel_mm))
    return float(hd[0, 0])
