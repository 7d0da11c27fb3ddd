"""Fetal plane recognition trained on REAL images: the labelled normal fetal-brain images (the planes that
FETAL_PLANES_DB gives for them), folds split by patient, and training of the plane network
(:mod:`neocus.fetal.plane_model`) on real images, from scratch or from a phantom-trained model.

The phantom alone does not transfer to real images (docs/fetal.md), so the plane model is trained on
the few real images there are: :func:`read_real_planes` reads the ``labels.csv`` layout of
``fetal-brain`` (rows with a ``brain_plane_fpdb``; ``case_group`` is the patient),
:func:`patient_stratified_folds` splits them so that no patient is in two folds and every fold holds
every plane as far as the patients allow, and :func:`train_plane_real` trains (and resumes) on a set of
images with :func:`augment_real` (random scale, aspect 0.67-1.5 so that a stretched 800x540 frame is
inside the range, rotation, shift, flips, blur, gamma, contrast, noise; ``heavy`` adds an elastic
deformation and wider ranges). The loss weights each plane by the inverse of its frequency (most real
images are trans-thalamic).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from neocus.errors import InputFileError, NeocusError
from neocus.fetal.plane_data import PLANES, elastic, randomise_appearance, standardise
from neocus.fetal.plane_model import PlaneModel, PlaneModelConfig, build_plane_net, load_plane_model, save_plane_model
from neocus.fetal.plane_train import train_step
from neocus.fetal.train_state import TrainingState, resume_training, save_training
from neocus.results import AsDict
from neocus.vocab import FPDB_BRAIN_PLANE

__all__ = ["RealPlaneSet", "RealTrainOptions", "RealTrainResult", "augment_real", "patient_stratified_folds", "read_real_planes", "train_plane_real"]

LABELS_NAME = "labels.csv"
METRICS_NAME = "metrics.jsonl"


@dataclass(frozen=True, eq=False)
class RealPlaneSet:
    """Real images stretched to ``side x side`` (uint8 ``[N, S, S]``), plane indices into :data:`PLANES`,
    the patient (``case_group``) of each and its file name relative to the data folder."""

    images: np.ndarray
    planes: np.ndarray
    groups: np.ndarray
    files: tuple[str, ...]

    def subset(self, idx: np.ndarray) -> RealPlaneSet:
        return RealPlaneSet(images=self.images[idx], planes=self.planes[idx], groups=self.groups[idx],
                            files=tuple(self.files[i] for i in np.asarray(idx)))


def read_real_planes(folder: str | Path, *, side: int = 96) -> RealPlaneSet:
    """The images of ``folder/labels.csv`` that carry a ``brain_plane_fpdb``, grey, resized to
    ``side x side`` as :func:`neocus.fetal.plane_model.plane_input` does."""
    folder = Path(folder)
    path = folder / LABELS_NAME
    if not path.is_file():
        raise InputFileError(f"no {LABELS_NAME} in the folder", where=folder, hint="give the fetal-brain folder (labels.csv and images/)")
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing = {"file", "case_group", "brain_plane_fpdb"} - set(rows[0] if rows else ())
    if missing:
        raise InputFileError(f"lacks the column(s) {', '.join(sorted(missing))}", where=path, hint="give the labels.csv of the fetal-brain layout")
    rows = [r for r in rows if r["brain_plane_fpdb"]]
    if not rows:
        raise InputFileError("no row has a brain_plane_fpdb (no labelled plane)", where=path)
    images = np.zeros((len(rows), side, side), np.uint8)
    planes = np.zeros(len(rows), np.int64)
    for i, r in enumerate(rows):
        if r["brain_plane_fpdb"] not in FPDB_BRAIN_PLANE:
            raise InputFileError(f"unknown plane {r['brain_plane_fpdb']!r} for {r['file']}", where=path,
                                 hint=f"allowed: {', '.join(FPDB_BRAIN_PLANE)}")
        grey = cv2.imread(str(folder / r["file"]), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            raise InputFileError("cannot be read as an image", where=folder / r["file"])
        images[i] = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA)
        planes[i] = PLANES.index(FPDB_BRAIN_PLANE[r["brain_plane_fpdb"]])
    return RealPlaneSet(images=images, planes=planes, groups=np.array([r["case_group"] for r in rows]),
                        files=tuple(r["file"] for r in rows))


def patient_stratified_folds(planes: np.ndarray, groups: np.ndarray, *, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """The fold (0..``n_folds``-1) of each image: every patient (``groups``) in one fold, the planes
    spread over the folds as evenly as whole patients allow (scikit-learn's ``StratifiedGroupKFold``,
    shuffled by ``seed``)."""
    from sklearn.model_selection import StratifiedGroupKFold

    planes, groups = np.asarray(planes), np.asarray(groups)
    n_groups = len(set(groups.tolist()))
    if not 2 <= n_folds <= n_groups:
        raise NeocusError(f"{n_folds} folds for {n_groups} patients", where="n_folds", hint=f"give 2 to {n_groups} folds")
    fold = np.full(len(planes), -1, np.int64)
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(planes)), planes, groups)):
        fold[test] = k
    return fold


def _affine(side: int, *, heavy: bool, rng: np.random.Generator) -> np.ndarray:
    """A random 2x3 map of a ``side`` square onto itself: scale, aspect 0.67-1.5, rotation, shift."""
    scale = rng.uniform(0.75, 1.3) if heavy else rng.uniform(0.85, 1.15)
    aspect = float(np.exp(rng.uniform(np.log(0.67), np.log(1.5))))
    ang = np.deg2rad(rng.uniform(-30.0, 30.0) if heavy else rng.uniform(-15.0, 15.0))
    shift = rng.uniform(-0.12, 0.12, 2) * side if heavy else rng.uniform(-0.06, 0.06, 2) * side
    rot = np.array([[np.cos(ang), np.sin(ang)], [-np.sin(ang), np.cos(ang)]])
    lin = np.diag([scale * np.sqrt(aspect), scale / np.sqrt(aspect)]) @ rot
    c = np.array([side / 2, side / 2])
    return np.hstack([lin, (c + shift - lin @ c)[:, None]])


def augment_real(images: np.ndarray, *, heavy: bool = False, rng: np.random.Generator) -> np.ndarray:
    """A randomised float32 batch ``[B, 1, S, S]`` of uint8 images ``[B, S, S]`` (see the module docstring)."""
    b, side = images.shape[0], images.shape[-1]
    out = np.zeros((b, 1, side, side), np.float32)
    for k in range(b):
        img = cv2.warpAffine(images[k].astype(np.float32) / 255.0, _affine(side, heavy=heavy, rng=rng), (side, side),
                             flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if heavy:
            img = elastic(img, amplitude_px=side * 0.03, rng=rng)
        if rng.random() < 0.5:
            img = img[:, ::-1]
        if rng.random() < 0.5:
            img = img[::-1, :]
        out[k, 0] = standardise(randomise_appearance(img, rng=rng))
    return out


@dataclass(frozen=True)
class RealTrainOptions:
    epochs: int = 50
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    heavy: bool = False  # elastic deformation and wider geometric ranges (augment_real)


@dataclass(frozen=True)
class RealTrainResult(AsDict):
    epochs_done: int
    resumed_from_epoch: int
    first_loss: float | None
    last_loss: float | None
    seconds: float
    init: str | None


def _class_weights(planes: np.ndarray) -> np.ndarray:
    """Inverse plane frequency, mean 1 over the planes present (an absent plane gets 0)."""
    counts = np.bincount(planes, minlength=len(PLANES)).astype(np.float64)
    w = np.where(counts > 0, 1.0 / np.maximum(counts, 1), 0.0)
    return (w * (counts > 0).sum() / w.sum()).astype(np.float32)


def train_plane_real(
    data: RealPlaneSet,
    out_dir: str | Path | None = None,
    *,
    config: PlaneModelConfig = PlaneModelConfig(),
    options: RealTrainOptions = RealTrainOptions(),
    init: PlaneModel | str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
) -> tuple[PlaneModel, RealTrainResult]:
    """Train the plane network on ``data`` (all of it: no image is held out; cross-validation splits
    ``data`` itself), from scratch or from the weights of ``init`` (a model or its folder, e.g. the
    phantom-trained one; its network must match ``config``). With ``out_dir`` every epoch appends a
    line to ``metrics.jsonl`` and writes a checkpoint, the model is written at the end, and re-running
    resumes; without it nothing is written."""
    import torch

    if data.images.shape[-1] != config.input_side:
        raise NeocusError(f"images are {data.images.shape[-1]} px, the network reads {config.input_side}", where="input_side",
                          hint="read the images at the network's input side")
    if len(data.images) < 2:
        raise NeocusError(f"{len(data.images)} training image(s) are too few", where="data")
    torch.manual_seed(seed)
    net = build_plane_net(config)
    init_name = None
    if init is not None:
        init_model = init if isinstance(init, PlaneModel) else load_plane_model(init)
        if asdict(init_model.config) | {"dropout": config.dropout} != asdict(config) | {"dropout": config.dropout}:
            raise NeocusError("the initial model's network or input differs from the one trained", where="init",
                              hint="give a plane model with the same input side and channels")
        net.load_state_dict(init_model.net.state_dict())
        init_name = str(init) if not isinstance(init, PlaneModel) else "in memory"
    opt = torch.optim.AdamW(net.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=options.epochs)
    out = None if out_dir is None else Path(out_dir)
    start = TrainingState()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        start = resume_training(out, net=net, opt=opt, sched=sched, config=asdict(config) | {"real": True}, what="real plane")
    rng = np.random.default_rng([seed, start.epoch])
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.from_numpy(_class_weights(data.planes)), label_smoothing=options.label_smoothing)
    t0, losses_by_epoch, epoch = time.perf_counter(), [], start.epoch
    net.train()
    for epoch in range(start.epoch + 1, options.epochs + 1):
        order = rng.permutation(len(data.images))
        losses = []
        for k in range(0, len(order), options.batch_size):
            idx = np.sort(order[k:k + options.batch_size])
            if len(idx) < 2:  # batch norm needs two images
                continue
            x = torch.from_numpy(augment_real(data.images[idx], heavy=options.heavy, rng=rng))
            losses.append(train_step(net, opt, loss_fn, x, torch.from_numpy(data.planes[idx])))
        sched.step()
        losses_by_epoch.append(float(np.mean(losses)))
        if out is not None:
            with open(out / METRICS_NAME, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"epoch": epoch, "loss": losses_by_epoch[-1], "seconds": time.perf_counter() - t0}) + "\n")
            save_training(out, TrainingState(epoch, -1.0, epoch), net=net, opt=opt, sched=sched, config=asdict(config) | {"real": True})
        if progress is not None:
            progress(f"epoch {epoch}/{options.epochs}: loss {losses_by_epoch[-1]:.3f}")
    net.eval()
    model = PlaneModel(net=net, config=config)
    if out is not None:
        save_plane_model(model, out)
    result = RealTrainResult(epochs_done=epoch, resumed_from_epoch=start.epoch, first_loss=losses_by_epoch[0] if losses_by_epoch else None,
                             last_loss=losses_by_epoch[-1] if losses_by_epoch else None, seconds=time.perf_counter() - t0, init=init_name)
    return model, result
