"""Dice and Hausdorff (MONAI) against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neocus.errors import NeocusError
from neocus.fetal.metrics import dice, hausdorff_mm


def _square(r0: int, r1: int, c0: int, c1: int, shape=(20, 20)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[r0:r1, c0:c1] = True
    return m


def test_dice_hand_computed():
    a = _square(5, 10, 5, 10)  # 25 pixels
    b = _square(5, 10, 7, 12)  # 25 pixels, 15 shared
    assert dice(a, b) == pytest.approx(2 * 15 / 50)
    assert dice(a, a) == pytest.approx(1.0)
    assert dice(a, _square(12, 15, 12, 15)) == pytest.approx(0.0)
    assert dice(np.zeros((5, 5)), np.zeros((5, 5))) == 1.0


def test_hausdorff_hand_computed():
    a = _square(5, 10, 5, 10)
    b = _square(5, 10, 7, 12)
    # boundary of a spans columns 5-9, of b 7-11: the farthest boundary pixel is 2 columns away
    assert hausdorff_mm(a, b) == pytest.approx(2.0)
    assert hausdorff_mm(a, b, pixel_mm=0.5) == pytest.approx(1.0)
    # a inside c (rows / cols 2-14): c's corner (14, 14) is sqrt(5^2 + 5^2) from a's corner (9, 9)
    c = _square(2, 15, 2, 15)
    assert hausdorff_mm(a, c) == pytest.approx(math.sqrt(50), abs=1e-5)
    assert hausdorff_mm(a, c, percentile=95) < hausdorff_mm(a, c)
    assert hausdorff_mm(a, a) == 0.0


def test_empty_masks_and_bad_input():
    a = _square(5, 10, 5, 10)
    assert hausdorff_mm(a, np.zeros_like(a)) == math.inf
    assert hausdorff_mm(np.zeros_like(a), np.zeros_like(a)) == 0.0
    with pytest.raises(NeocusError, match="same shape"):
        dice(a, a[:10])
    with pytest.raises(NeocusError, match="pixel spacing"):
        hausdorff_mm(a, a, pixel_mm=0.0)
