"""Calibration of the severe probability: temperature scaling or isotonic regression, fitted on
out-of-fold predictions; expected calibration error and a reliability plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.isotonic import IsotonicRegression

from neocus.atomic import atomic_target
from neocus.diagnose.config import CalibrationMethod
from neocus.errors import NeocusError, parse_choice
from neocus.results import AsDict

EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibration(AsDict):
    """A fitted calibration map of the severe probability (identity for ``none``)."""

    method: CalibrationMethod = CalibrationMethod.NONE
    temperature: float = 1.0
    iso_x: tuple[float, ...] = ()
    iso_y: tuple[float, ...] = ()

    def apply(self, p):
        p = np.asarray(p, dtype=np.float64)
        if self.method is CalibrationMethod.TEMPERATURE:
            return 1.0 / (1.0 + np.exp(-_logit(p) / self.temperature))
        if self.method is CalibrationMethod.ISOTONIC:
            return np.interp(p, self.iso_x, self.iso_y)
        return p

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(parse_choice(CalibrationMethod, data.get("method", "none"), what="calibration"), float(data.get("temperature", 1.0)),
                   tuple(data.get("iso_x", ())), tuple(data.get("iso_y", ())))


def fit_calibration(y_true, y_prob, *, method: CalibrationMethod | str) -> Calibration:
    """Fit ``method`` on labels and uncalibrated probabilities (out-of-fold predictions)."""
    method = parse_choice(CalibrationMethod, method, what="calibration")
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_prob, dtype=np.float64)
    if y.shape != p.shape or y.size == 0:
        raise NeocusError("calibration needs one probability per label", where="y_prob")
    if method is CalibrationMethod.NONE:
        return Calibration()
    if method is CalibrationMethod.TEMPERATURE:
        z = _logit(p)

        def nll(log_t: float) -> float:
            q = np.clip(1.0 / (1.0 + np.exp(-z / np.exp(log_t))), EPS, 1 - EPS)
            return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

        res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
        return Calibration(method, temperature=float(np.exp(res.x)))
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
    return Calibration(method, iso_x=tuple(float(x) for x in iso.X_thresholds_), iso_y=tuple(float(v) for v in iso.y_thresholds_))


@dataclass(frozen=True)
class ReliabilityBins(AsDict):
    edges: tuple[float, ...]
    mean_prob: tuple[float | None, ...]
    frac_positive: tuple[float | None, ...]
    count: tuple[int, ...]
    ece: float


def reliability(y_true, y_prob, *, n_bins: int = 10) -> ReliabilityBins:
    """Equal-width bins of the predicted probability; ECE = sum over bins of n_b / n * |acc_b - conf_b|."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_prob, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    mean_p, frac, count, ece = [], [], [], 0.0
    for b in range(n_bins):
        sel = idx == b
        k = int(sel.sum())
        count.append(k)
        if k == 0:
            mean_p.append(None)
            frac.append(None)
            continue
        mp, fp = float(p[sel].mean()), float(y[sel].mean())
        mean_p.append(mp)
        frac.append(fp)
        ece += k / max(len(p), 1) * abs(fp - mp)
    return ReliabilityBins(tuple(float(e) for e in edges), tuple(mean_p), tuple(frac), tuple(count), float(ece))


def expected_calibration_error(y_true, y_prob, *, n_bins: int = 10) -> float:
    return reliability(y_true, y_prob, n_bins=n_bins).ece


def reliability_plot(curves: dict[str, ReliabilityBins], path: str | Path, *, outcome: str = "severe") -> Path:
    """Reliability diagram (one line per named curve, e.g. raw and calibrated) written as PNG; ``outcome``
    names the predicted event on the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=120)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    for name, rb in curves.items():
        pts = [(m, f) for m, f in zip(rb.mean_prob, rb.frac_positive) if m is not None]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="o", label=f"{name} (ECE {rb.ece:.3f})")
    ax.set_xlabel(f"predicted probability of {outcome}")
    ax.set_ylabel(f"observed fraction {outcome}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_target(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
