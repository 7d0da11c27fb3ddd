"""Input checks shared by every neocus.stats function: one clear error naming the problem."""

from __future__ import annotations

import warnings
from enum import StrEnum

import numpy as np

from neocus.errors import StatsInputError


class DegenerateDataWarning(UserWarning):
    """Valid input whose result is defined but uninformative (e.g. every case predicted positive)."""


def as_binary_labels(y, *, name: str = "labels") -> np.ndarray:
    """Labels as an int8 array of 0/1; anything else (NaN, 2, 'yes', 2-D) is an error."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise StatsInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise StatsInputError(f"{name} is empty")
    if arr.dtype == bool:
        return arr.astype(np.int8)
    try:
        num = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise StatsInputError(f"{name} must be 0/1, got values such as {arr[:3].tolist()}") from None
    if np.isnan(num).any():
        raise StatsInputError(f"{name} contains NaN at index {int(np.flatnonzero(np.isnan(num))[0])}")
    bad = ~np.isin(num, (0.0, 1.0))
    if bad.any():
        raise StatsInputError(
            f"{name} must be 0/1, got {sorted(set(num[bad].tolist()))[:5]} (first at index {int(np.flatnonzero(bad)[0])})"
        )
    return num.astype(np.int8)


def as_scores(s, *, name: str = "scores") -> np.ndarray:
    """Finite float64 scores, one-dimensional."""
    arr = np.asarray(s)
    if arr.ndim != 1:
        raise StatsInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise StatsInputError(f"{name} is empty")
    try:
        num = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise StatsInputError(f"{name} must be numbers, got values such as {arr[:3].tolist()}") from None
    if not np.isfinite(num).all():
        i = int(np.flatnonzero(~np.isfinite(num))[0])
        raise StatsInputError(f"{name} contains a non-finite value ({num[i]}) at index {i}")
    return num


def same_length(**arrays) -> int:
    """All arrays the same length; returns it."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise StatsInputError(f"lengths differ: {desc}")
    return next(iter(lengths.values()))


def require_both_classes(y: np.ndarray, *, name: str = "labels") -> None:
    """ROC analysis needs at least one positive and one negative."""
    n_pos = int(np.sum(y == 1))
    if n_pos == 0 or n_pos == len(y):
        only = "positive (1)" if n_pos else "negative (0)"
        raise StatsInputError(f"{name} has a single class: all {len(y)} cases are {only}; ROC/AUC needs both classes")


def warn_degenerate(message: str) -> None:
    warnings.warn(message, DegenerateDataWarning, stacklevel=3)


def as_score_matrix(s, *, name: str = "scores") -> np.ndarray:
    """Scores of one model (1-D, n cases) or several (2-D, k models x n cases) as a finite float64
    array of shape (k, n). A NaN/inf names the model row and the case index."""
    arr = np.asarray(s)
    if arr.ndim == 1:
        return as_scores(arr, name=name)[np.newaxis, :]
    if arr.ndim != 2:
        raise StatsInputError(f"{name} must be 1-D (n cases) or 2-D (k models x n cases), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise StatsInputError(f"{name} is empty (shape {arr.shape})")
    try:
        num = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise StatsInputError(f"{name} must be numbers") from None
    bad = ~np.isfinite(num)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise StatsInputError(f"{name} contains a non-finite value ({num[row, col]}) for model {row} at case index {col}")
    return num


class Alternative(StrEnum):
    """The alternative hypothesis of a test: ``greater`` means first > second."""

    TWO_SIDED = "two-sided"
    GREATER = "greater"
    LESS = "less"


ALTERNATIVES = tuple(a.value for a in Alternative)


def as_alternative(alternative: Alternative | str) -> Alternative:
    """'two-sided', 'greater' or 'less' (R's 'two.sided' is accepted too)."""
    alt = str(alternative).replace(".", "-")
    if alt not in ALTERNATIVES:
        raise StatsInputError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    return Alternative(alt)


def check_level(level: float) -> float:
    """A two-sided confidence level as a fraction strictly between 0 and 1."""
    level = float(level)
    if not 0.0 < level < 1.0:
        raise StatsInputError(f"confidence level must be between 0 and 1 (exclusive), got {level}")
    return level


def labels_and_scores(
    y_true, y_score, *, label_name: str = "y_true", score_name: str = "y_score", many: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Checked 0/1 labels and a (k, n) score matrix; ``many=False`` insists on one model's 1-D scores."""
    y = as_binary_labels(y_true, name=label_name)
    s = as_score_matrix(y_score, name=score_name) if many else as_scores(y_score, name=score_name)[np.newaxis, :]
    same_length(**{label_name: y, score_name: s[0]})
    require_both_classes(y, name=label_name)
    return y, s
