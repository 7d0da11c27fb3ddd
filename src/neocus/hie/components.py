"""A lesion / no-lesion decision per connected component, after the threshold, minimum size and Z-ADC
gate of :mod:`neocus.hie.postprocess`: each component is described by a few features (size, network
probability, Z-ADC and ADC, position, distance to the brain edge, the patient's total prediction) and a
logistic regression, fitted on out-of-fold components only, drops those it judges false positives.

The fitted filter is plain numbers (feature means and scales, coefficients, intercept, cut-off) saved in
``postprocess.json``, so inference needs numpy only; fitting uses scikit-learn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from neocus.hie.metrics import lesion_components
from neocus.results import AsDict

FEATURES = (
    "log_volume_mm3", "max_prob", "mean_prob", "mean_zadc", "min_zadc", "mean_adc",
    "rel_z", "rel_y", "rel_x_off_centre", "edge_mm", "log_patient_mm3", "share_of_patient", "n_components",
)
CUTOFFS = tuple(round(c, 2) for c in np.arange(0.05, 0.951, 0.05))
LESION_OVERLAP = 0.25  # a training component counts as lesion when at least this share of it is truth


@dataclass(frozen=True)
class ComponentMaps:
    """What the features are read from besides the mask and probability, on the same ``[Z, Y, X]`` grid:
    the network's (preprocessed) ADC and Z-ADC channels, the brain mask, and the spacing in mm in
    array order."""

    adc: np.ndarray
    zadc: np.ndarray
    brain: np.ndarray
    spacing: tuple[float, float, float]


@dataclass(frozen=True)
class Components(AsDict):
    """One patient's components: ``labels`` (0 = background, 1..n) and a feature row per component."""

    labels: np.ndarray = field(metadata={"to_dict": False})
    features: np.ndarray  # [n, len(FEATURES)]
    sizes: np.ndarray  # voxels per component


def describe(mask: np.ndarray, prob: np.ndarray, maps: ComponentMaps) -> Components:
    """Label ``mask`` (26-connected) and describe each component by :data:`FEATURES`."""
    adc, zadc, spacing = maps.adc, maps.zadc, maps.spacing
    labels, n = lesion_components(mask)
    if n == 0:
        return Components(labels=labels, features=np.zeros((0, len(FEATURES))), sizes=np.zeros(0, int))
    index = np.arange(1, n + 1)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    vmm3 = float(np.prod(spacing))
    brain = np.asarray(maps.brain) > 0
    edge = ndimage.distance_transform_edt(brain, sampling=tuple(float(s) for s in spacing))
    bz, by, bx = (np.flatnonzero(brain.any(axis=a)) for a in ((1, 2), (0, 2), (0, 1)))
    # the statistics below only need the box around the components (much faster than the full grid)
    box = tuple(slice(int(np.min(ix)), int(np.max(ix)) + 1) for ix in np.nonzero(labels))
    offset = np.array([b.start for b in box], float)
    labels_box, prob, adc, zadc, edge = labels[box], np.asarray(prob)[box], np.asarray(adc)[box], np.asarray(zadc)[box], edge[box]
    centre = np.array(ndimage.center_of_mass(labels_box > 0, labels_box, index)).reshape(n, 3) + offset

    def rel(c, ax):
        return (c - ax[0]) / max(ax[-1] - ax[0], 1) if ax.size else np.zeros_like(c)

    total = float(sizes.sum()) * vmm3
    cols = [
        np.log1p(sizes * vmm3),
        ndimage.maximum(prob, labels_box, index), ndimage.mean(prob, labels_box, index),
        ndimage.mean(zadc, labels_box, index), ndimage.minimum(zadc, labels_box, index), ndimage.mean(adc, labels_box, index),
        rel(centre[:, 0], bz), rel(centre[:, 1], by), np.abs(rel(centre[:, 2], bx) - 0.5),
        ndimage.mean(edge, labels_box, index),
        np.full(n, np.log1p(total)), sizes * vmm3 / total, np.full(n, float(n)),
    ]
    return Components(labels=labels, features=np.column_stack([np.asarray(c, float) for c in cols]), sizes=sizes)


@dataclass(frozen=True)
class ComponentFilter(AsDict):
    """A fitted logistic regression over :data:`FEATURES`: a component is kept when its lesion
    probability is at least ``cutoff``."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    cutoff: float
    mean_dice: float = float("nan")  # the fitted-on patients' mean Dice at this cut-off (inner cross-validation)
    features: tuple[str, ...] = FEATURES

    def lesion_probability(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, float) - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.intercept)))

    def keep(self, comps: Components) -> np.ndarray:
        """Boolean per component (``True`` = kept as lesion)."""
        if comps.features.shape[0] == 0:
            return np.zeros(0, bool)
        return self.lesion_probability(comps.features) >= self.cutoff

    def apply(self, comps: Components) -> np.ndarray:
        """The mask of the kept components (bool)."""
        lut = np.concatenate([[False], self.keep(comps)])
        return lut[comps.labels]

    @classmethod
    def from_dict(cls, data: Mapping) -> ComponentFilter:
        features = tuple(str(f) for f in data.get("features", FEATURES))
        if features != FEATURES:
            raise ValueError(f"component filter features {features} are not this version's {FEATURES}")
        return cls(
            mean=tuple(float(x) for x in data["mean"]), scale=tuple(float(x) for x in data["scale"]),
            coef=tuple(float(x) for x in data["coef"]), intercept=float(data["intercept"]), cutoff=float(data["cutoff"]),
            mean_dice=float(data.get("mean_dice") or "nan"),
        )


def component_labels(comps: Components, truth: np.ndarray, *, min_overlap: float = LESION_OVERLAP) -> np.ndarray:
    """1 for components of which at least ``min_overlap`` of the voxels are truth, else 0."""
    if comps.sizes.size == 0:
        return np.zeros(0, int)
    overlap = np.bincount(comps.labels[np.asarray(truth) > 0], minlength=comps.sizes.size + 1)[1:]
    return (overlap >= min_overlap * comps.sizes).astype(int)


def _dice_kept(comps: Components, truth_voxels: int, overlaps: np.ndarray, keep: np.ndarray) -> float:
    denom = int(comps.sizes[keep].sum()) + truth_voxels
    return 1.0 if denom == 0 else 2.0 * float(overlaps[keep].sum()) / denom


def _logistic(x: np.ndarray, y: np.ndarray, *, c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    if len(set(y.tolist())) < 2:  # one class only: a constant model
        return mean, scale, np.zeros(x.shape[1]), float(np.log((y.mean() + 1e-3) / (1 - y.mean() + 1e-3)))
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    return mean, scale, model.coef_[0], float(model.intercept_[0])


def fit_filter(
    patients: Sequence[Components],
    truths: Sequence[np.ndarray],
    *,
    groups: Sequence[int],
    c: float = 1.0,
    cutoffs: Sequence[float] = CUTOFFS,
) -> ComponentFilter:
    """Fit the logistic regression on every component of ``patients``; choose the cut-off that
    maximises the patients' mean Dice, judging each patient by a model fitted without its ``group``
    (inner cross-validation), so the cut-off is not tuned on in-sample probabilities."""
    if not patients or len(patients) != len(truths) or len(patients) != len(groups):
        raise ValueError("need one component table, truth and group per patient")
    ys = [component_labels(p, t) for p, t in zip(patients, truths)]
    overlaps = [np.bincount(p.labels[np.asarray(t) > 0], minlength=p.sizes.size + 1)[1:] for p, t in zip(patients, truths)]
    n_true = [int((np.asarray(t) > 0).sum()) for t in truths]
    groups = np.asarray(groups)
    inner = [np.zeros(p.sizes.size) for p in patients]
    for g in np.unique(groups):
        train = [i for i in range(len(patients)) if groups[i] != g]
        x = np.concatenate([patients[i].features for i in train]) if train else np.zeros((0, len(FEATURES)))
        if x.shape[0] == 0:
            continue
        m, s, w, b = _logistic(x, np.concatenate([ys[i] for i in train]), c=c)
        inner_filter = ComponentFilter(tuple(m), tuple(s), tuple(w), b, 0.0)
        for i in np.flatnonzero(groups == g):
            if patients[i].sizes.size:
                inner[i] = inner_filter.lesion_probability(patients[i].features)
    best_cut, best = 0.0, -1.0
    for cut in (0.0, *cutoffs):
        score = float(np.mean([_dice_kept(p, n, o, q >= cut) for p, n, o, q in zip(patients, n_true, overlaps, inner)]))
        if score > best + 1e-12:
            best_cut, best = float(cut), score
    m, s, w, b = _logistic(np.concatenate([p.features for p in patients]), np.concatenate(ys), c=c)
    return ComponentFilter(tuple(float(v) for v in m), tuple(float(v) for v in s), tuple(float(v) for v in w), b, best_cut, mean_dice=best)


def maps_from_image(image: np.ndarray, brain: np.ndarray, *, channels: Sequence[str], spacing: Sequence[float]) -> ComponentMaps | None:
    """:class:`ComponentMaps` from a preprocessed image ``[C, Z, Y, X]`` whose channels are named by
    ``channels``; ``None`` when it has no ADC or no Z-ADC channel (the filter is then skipped)."""
    names = [str(c) for c in channels]
    if "adc" not in names or "zadc" not in names:
        return None
    b = np.asarray(brain)
    return ComponentMaps(adc=image[names.index("adc")], zadc=image[names.index("zadc")], brain=b[0] if b.ndim == 4 else b, spacing=tuple(float(s) for s in spacing))
