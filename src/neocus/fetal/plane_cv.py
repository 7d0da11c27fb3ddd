"""Cross-validation of fetal plane recognition on real images (issue #16 point 4): out-of-fold
probabilities of the plane network trained per fold (:func:`out_of_fold_cnn`), of a logistic
regression on frozen features (:func:`out_of_fold_logistic` with :func:`network_features` or
:func:`thumbnail_features`), of a frozen network whose last layer is such a logistic regression
(:func:`fit_logistic_head`, :func:`out_of_fold_head`: a plane model folder like any other), and their
summary with intervals (:func:`summarise_planes`).

Every image is predicted by a model that never saw its patient (the folds come from
:func:`neocus.fetal.plane_real.patient_stratified_folds`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from neocus.errors import NeocusError
from neocus.fetal.plane_data import PLANES, standardise
from neocus.fetal.plane_model import PlaneModel, PlaneModelConfig, predict_planes
from neocus.fetal.plane_real import RealPlaneSet, RealTrainOptions, train_plane_real
from neocus.results import AsDict
from neocus.stats import Interval, ProportionResult, proportion

__all__ = ["PlaneCvSummary", "balanced_accuracy", "fit_logistic_head", "network_features", "out_of_fold_cnn", "out_of_fold_head", "out_of_fold_logistic", "summarise_planes", "thumbnail_features"]


@dataclass(frozen=True)
class PlaneCvSummary(AsDict):
    """Out-of-fold figures: accuracy and per-plane recall (Clopper-Pearson intervals, images taken as
    independent), balanced accuracy (mean recall) with a percentile interval from resampling whole
    patients, and the confusion matrix (rows: true plane, columns: predicted, in ``planes`` order)."""

    n_images: int
    n_patients: int
    accuracy: ProportionResult
    balanced_accuracy: float
    balanced_accuracy_ci: Interval
    recall: dict[str, ProportionResult]
    confusion: list[list[int]]
    planes: list[str]


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the planes present in ``y_true`` (indices into :data:`PLANES`)."""
    recalls = [float(np.mean(y_pred[y_true == k] == k)) for k in range(len(PLANES)) if np.any(y_true == k)]
    return float(np.mean(recalls))


def summarise_planes(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, *, n_boot: int = 2000, level: float = 0.95,
                     rng: np.random.Generator) -> PlaneCvSummary:
    """Figures of plane predictions ``y_pred`` against ``y_true`` (indices into :data:`PLANES`);
    ``groups`` (patients) are the unit of the balanced-accuracy bootstrap."""
    y_true, y_pred, groups = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups)
    names = sorted(set(groups.tolist()))
    members = [np.flatnonzero(groups == g) for g in names]
    boot = []
    for _ in range(n_boot):
        idx = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        boot.append(balanced_accuracy(y_true[idx], y_pred[idx]))
    alpha = (1.0 - level) / 2
    ci = Interval(float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha)), level, "patient bootstrap percentile")
    confusion = np.zeros((len(PLANES), len(PLANES)), np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    recall = {p.value: proportion(int(confusion[k, k]), int(confusion[k].sum()), level=level, what=f"recall of {p.value}")
              for k, p in enumerate(PLANES)}
    return PlaneCvSummary(n_images=len(y_true), n_patients=len(names),
                          accuracy=proportion(int(np.trace(confusion)), len(y_true), level=level, what="accuracy"),
                          balanced_accuracy=balanced_accuracy(y_true, y_pred), balanced_accuracy_ci=ci, recall=recall,
                          confusion=confusion.tolist(), planes=[p.value for p in PLANES])


def _probabilities(model: PlaneModel, images: np.ndarray) -> np.ndarray:
    preds = predict_planes(list(images), model)
    return np.array([[p.probabilities[pl.value] for pl in PLANES] for p in preds])


def out_of_fold_cnn(data: RealPlaneSet, folds: np.ndarray, *, config: PlaneModelConfig = PlaneModelConfig(),
                    options: RealTrainOptions = RealTrainOptions(), init: PlaneModel | None = None,
                    progress: Callable[[str], None] | None = None, seed: int = 0) -> np.ndarray:
    """Probabilities ``[N, 4]`` of each image from the network trained on the other folds (4-flip
    averaged), from scratch or from ``init``'s weights."""
    prob = np.zeros((len(data.images), len(PLANES)))
    for k in range(int(folds.max()) + 1):
        test = folds == k
        model, _ = train_plane_real(data.subset(np.flatnonzero(~test)), config=config, options=options, init=init, seed=seed * 100 + k)
        prob[test] = _probabilities(model, data.images[test])
        if progress is not None:
            progress(f"fold {k + 1}/{int(folds.max()) + 1}: {int((prob[test].argmax(1) == data.planes[test]).sum())}/{int(test.sum())} right")
    return prob


def network_features(images: np.ndarray, model: PlaneModel) -> np.ndarray:
    """The pooled features (before dropout and the last layer) of a plane network, averaged over the
    four flips, for uint8 images ``[N, S, S]`` at the network's input side."""
    import torch

    x = torch.from_numpy(np.stack([standardise(im.astype(np.float32), highpass_sigma=model.config.highpass_sigma) for im in images])[:, None])
    body = model.net[:-2]
    with torch.no_grad():
        feats = sum(body(v) for v in (x, x.flip(-1), x.flip(-2), x.flip(-1).flip(-2))) / 4
    return feats.numpy()


def thumbnail_features(images: np.ndarray, *, side: int = 16, bins: int = 16) -> np.ndarray:
    """An engineered baseline that knows nothing of the phantom: each image shrunk to ``side x side``
    (OpenCV, area interpolation, standardised) and the grey-level histogram (``bins``) of its central
    half."""
    feats = []
    for im in images:
        small = standardise(cv2.resize(im, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)).ravel()
        h, w = im.shape
        hist = np.histogram(im[h // 4:3 * h // 4, w // 4:3 * w // 4], bins=bins, range=(0, 256))[0] / (h * w / 4)
        feats.append(np.concatenate([small, hist]))
    return np.stack(feats).astype(np.float32)


def out_of_fold_logistic(features: np.ndarray, planes: np.ndarray, folds: np.ndarray, *, c: float = 0.1) -> np.ndarray:
    """Probabilities ``[N, 4]`` of a class-balanced, standardised logistic regression (scikit-learn,
    L2 strength ``1 / c``) trained on the other folds."""
    prob = np.zeros((len(planes), len(PLANES)))
    for k in range(int(folds.max()) + 1):
        test = folds == k
        clf = _logistic(c).fit(features[~test], planes[~test])
        prob[np.ix_(test, clf.classes_)] = clf.predict_proba(features[test])
    return prob


def _logistic(c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=2000))


def fit_logistic_head(data: RealPlaneSet, model: PlaneModel, *, c: float = 0.1) -> PlaneModel:
    """A copy of ``model`` (e.g. the phantom-trained one) whose body stays frozen and whose last layer is
    a class-balanced logistic regression (scikit-learn, L2 strength ``1 / c``) fitted to its pooled
    features (:func:`network_features`) of ``data``, the standardisation folded into the layer's
    weights: the result loads, saves and predicts like any plane model."""
    import copy

    import torch

    if len(set(data.planes.tolist())) != len(PLANES):
        raise NeocusError(f"the images hold {len(set(data.planes.tolist()))} of the {len(PLANES)} planes", where="data",
                          hint="a logistic head needs examples of every plane")
    clf = _logistic(c).fit(network_features(data.images, model), data.planes)
    scaler, lr = clf[0], clf[-1]
    weight = lr.coef_ / scaler.scale_[None, :]
    bias = lr.intercept_ - weight @ scaler.mean_
    net = copy.deepcopy(model.net).eval()
    with torch.no_grad():
        net[-1].weight.copy_(torch.from_numpy(weight.astype(np.float32)))
        net[-1].bias.copy_(torch.from_numpy(bias.astype(np.float32)))
    return PlaneModel(net=net, config=model.config)


def out_of_fold_head(data: RealPlaneSet, folds: np.ndarray, *, model: PlaneModel, c: float = 0.1) -> np.ndarray:
    """Probabilities ``[N, 4]`` of each image from :func:`fit_logistic_head` fitted on the other folds,
    predicted as ``fetal measure`` predicts (:func:`neocus.fetal.plane_model.predict_planes`, 4-flip averaged)."""
    prob = np.zeros((len(data.images), len(PLANES)))
    for k in range(int(folds.max()) + 1):
        test = folds == k
        prob[test] = _probabilities(fit_logistic_head(data.subset(np.flatnonzero(~test)), model, c=c), data.images[test])
    return prob
