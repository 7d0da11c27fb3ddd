"""Sim-to-real probe (issue #14): how well does a view classifier trained ONLY on the phantom do on real scans?

A fixed recipe, so every phantom change is measured apples to apples:

* phantom stills through the phantom API (:func:`neocus.phantom.new_subject`, ``standard_still``), a
  fixed seed set: ``TRAIN_SUBJECTS`` subjects for training and ``HOLDOUT_SUBJECTS`` other subjects for the
  phantom hold-out, presets in a fixed cycle (internal x3, external, blind, as the hospitals of
  ``neocus simulate``), views AHV / TVV / BV / MSV / one parasagittal side per subject,
  ``STILLS_PER_VIEW`` stills per view for training, one for the hold-out;
* every image (phantom and real) is cropped to its imaging region with neocus's own ROI code
  (:func:`neocus.io.roi.detect_roi`), blanked outside it and resized to ``INPUT_HW``;
* 5 classes: AHV, TVV, BV, MSV, parasagittal (left and right as one);
* a small plain-torch CNN (~135 k parameters), AdamW, ``EPOCHS`` epochs, fixed augmentation
  (affine, coronal left-right flip, gain / gamma / blur / noise), per-image standardisation; one CPU
  thread, seed ``SEED``; never trained on a real image.

Levers (off by default; each is recorded in ``probe.json`` under ``options``):
``--randomise`` (SynthSeg-style randomisation per training step, :mod:`neocus.phantom.randomise`),
``--style fda|hist`` with ``--style-frames`` (appearance of unlabelled real frames,
:mod:`neocus.phantom.style_transfer`), ``--appearance ge`` (GE-like look, :mod:`neocus.phantom.appearance`),
``--anatomy mri --mri-data DIR`` (the subjects' anatomy from real neonatal brains,
:mod:`neocus.phantom.mri_head`: the same seeds, presets, views, stills per view, augmentation and
network, but each subject is one of the ADC volumes of ``DIR`` (BONBID-HIE layout) instead of
``new_subject``; the hold-out subjects come from other patients than the training ones),
``--anatomy mixed`` (a second training source beside the analytic phantom: the even training subjects are
analytic phantom subjects, the odd ones MRI heads, each exactly as in the run of its own anatomy, so the
same 1000 stills, seeds, presets and views; the hold-out holds both kinds and ``probe.json`` reports
each under ``holdout_by_anatomy``).

Real stills are named like the NCLS ones: ``COR1-3`` = AHV / TVV / BV, ``SAG1`` = MSV, ``SAG2-3`` =
parasagittal; each ``--real`` folder holds them directly or in sub-folders (one per exam)::

    OMP_NUM_THREADS=1 python benchmarks/sim2real_probe.py --real ../shared/data/real/ncls-examples --out OUT
    -> OUT/probe.json: real_accuracy, phantom_accuracy, confusion matrices, per folder and per image the
       prediction and its probability

Size: ~580 lines, one script on purpose: the fixed recipe, its data paths (analytic and MRI
anatomy) and every lever stay together so a run is reproducible from one file.

``--cache DIR`` keeps the rendered phantom set, keyed by the recipe and a hash of the phantom's source
code, so runs that only change a training-time lever skip the rendering.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import track  # noqa: E402
from torch import nn  # noqa: E402

import neocus.phantom  # noqa: E402
from neocus.atomic import atomic_target, atomic_write_text  # noqa: E402
from neocus.errors import NeocusError  # noqa: E402
from neocus.io import load_sweep  # noqa: E402
from neocus.io.roi import apply_roi, detect_roi, detect_sweep_roi  # noqa: E402
from neocus.phantom import get_preset, new_subject, standard_still  # noqa: E402
from neocus.phantom.api import PRESET_POPULATION  # noqa: E402
from neocus.phantom.randomise import randomise_still  # noqa: E402
from neocus.phantom.style_transfer import fda_transfer, histogram_match  # noqa: E402
from neocus.vocab import VIEW_PLANE, View  # noqa: E402

# ---------------------------------------------------------------------------------------------------
# The fixed recipe (change it only with a new baseline in docs/sim2real.md)
# ---------------------------------------------------------------------------------------------------
SEED = 14
TRAIN_SUBJECTS = 100
HOLDOUT_SUBJECTS = 24
TRAIN_SEED0, HOLDOUT_SEED0 = 140_000, 145_000
STILLS_PER_VIEW = 2
PRESET_CYCLE = ("internal", "internal", "internal", "external", "blind")
RENDER_HW = (192, 192)
INPUT_HW = (80, 112)
EPOCHS = 14
BATCH = 32
LR = 2e-3
CLASSES: tuple[str, ...] = (View.AHV.value, View.TVV.value, View.BV.value, View.MSV.value, f"{View.RPSV.value}/{View.LPSV.value}")
PARASAGITTAL = 4
VIEW_CLASS = {View.AHV: 0, View.TVV: 1, View.BV: 2, View.MSV: 3, View.RPSV: PARASAGITTAL, View.LPSV: PARASAGITTAL}
REAL_NAME_CLASS = {"COR1": 0, "COR2": 1, "COR3": 2, "SAG1": 3, "SAG2": PARASAGITTAL, "SAG3": PARASAGITTAL}
REAL_NAME = re.compile(r"^(COR[123]|SAG[123])\.(png|jpe?g|bmp|tiff?)$", re.IGNORECASE)
CORONAL_CLASSES = (0, 1, 2)
VIEWS_PER_SUBJECT = 5  # AHV, TVV, BV, MSV, one parasagittal side
ANATOMIES = ("phantom", "mri", "mixed")

RECIPE = {
    "seed": SEED, "train_subjects": TRAIN_SUBJECTS, "holdout_subjects": HOLDOUT_SUBJECTS,
    "train_seed0": TRAIN_SEED0, "holdout_seed0": HOLDOUT_SEED0, "stills_per_view": STILLS_PER_VIEW,
    "preset_cycle": list(PRESET_CYCLE), "render_hw": list(RENDER_HW), "input_hw": list(INPUT_HW),
    "epochs": EPOCHS, "batch": BATCH, "lr": LR, "classes": list(CLASSES), "network": "ProbeNet",
}


#: renders one still of a subject: (view, scanner preset, generator) -> frame
Shoot = Callable[[View, "neocus.phantom.ScannerPreset", np.random.Generator], "neocus.phantom.RenderedFrame"]


@dataclass
class ImageSet:
    """Images at the network's input size with their imaging masks, tissue maps (phantom) and labels."""

    images: np.ndarray  # uint8 [N, H, W]
    masks: np.ndarray  # bool [N, H, W]
    tissue: np.ndarray  # uint8 [N, H, W] (zeros for real images)
    labels: np.ndarray  # int64 [N]


# ---------------------------------------------------------------------------------------------------
# Images: ROI crop and resize (the same code path for phantom and real)
# ---------------------------------------------------------------------------------------------------


def to_input(image: np.ndarray, tissue: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop a grey frame to its imaging region (neocus.io.roi), blank outside it, resize to INPUT_HW."""
    roi = detect_roi(image)
    c = roi.crop
    crop = image[c.y : c.y + c.h, c.x : c.x + c.w].copy()
    crop[~roi.mask] = 0
    size_wh = (INPUT_HW[1], INPUT_HW[0])
    img = cv2.resize(crop, size_wh, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(roi.mask.astype(np.uint8), size_wh, interpolation=cv2.INTER_NEAREST).astype(bool)
    tis = np.zeros(INPUT_HW, np.uint8)
    if tissue is not None:
        tis = cv2.resize(tissue[c.y : c.y + c.h, c.x : c.x + c.w], size_wh, interpolation=cv2.INTER_NEAREST)
    return img, mask, tis


def _render_set(seeds: Sequence[int], stills_per_view: int, appearance: str, what: str, shooter: Callable[[int, int, str], Shoot]) -> ImageSet:
    """Stills of subjects ``seeds``: subject ``i`` is scanned with preset ``PRESET_CYCLE[i % 5]`` (varied
    with the subject's generator), views AHV, TVV, BV, MSV and one parasagittal side (alternating);
    ``shooter(i, seed, preset name)`` gives the function that renders one still of that subject."""
    from neocus.phantom.appearance import apply_appearance

    imgs, masks, tissues, labels = [], [], [], []
    for i, seed in enumerate(track(list(seeds), description=f"rendering {what}", transient=True)):
        preset_name = PRESET_CYCLE[i % len(PRESET_CYCLE)]
        rng = np.random.default_rng(seed)
        shoot = shooter(i, seed, preset_name)
        scan = get_preset(preset_name).vary(rng=rng)
        side = View.RPSV if i % 2 == 0 else View.LPSV
        views = (View.AHV, View.TVV, View.BV, View.MSV, side)
        assert len(views) == VIEWS_PER_SUBJECT
        for view in views:
            for _ in range(stills_per_view):
                frame = shoot(view, scan, rng)
                image = apply_appearance(frame, appearance, plane=VIEW_PLANE[view], rng=rng)
                img, mask, tis = to_input(image, frame.tissue)
                imgs.append(img), masks.append(mask), tissues.append(tis), labels.append(VIEW_CLASS[view])
    return ImageSet(np.stack(imgs), np.stack(masks), np.stack(tissues), np.array(labels, np.int64))


def _phantom_set(seeds: Sequence[int], stills_per_view: int, appearance: str, what: str) -> ImageSet:
    def shooter(i: int, seed: int, preset_name: str) -> Shoot:
        subject = new_subject(seed, population=PRESET_POPULATION[preset_name])
        return lambda view, scan, rng: standard_still(subject, view=view, preset=scan, rng=rng, out_size_hw=RENDER_HW).frame

    return _render_set(seeds, stills_per_view, appearance, what, shooter)


#: MRI anatomy: ``MRI_HOLDOUT_PATIENTS`` usable patients, evenly spread over the sorted ids, are the hold-out's
MRI_HOLDOUT_PATIENTS = 8


def mri_patients(folder: Path) -> list[tuple[str, Path, Path | None]]:
    """(patient id, ADC volume, lesion mask or None) of a BONBID-HIE style folder (``1ADC_ss``, ``3LABEL``)."""
    adc_dir = folder / "1ADC_ss"
    if not adc_dir.is_dir():
        raise NeocusError("has no 1ADC_ss folder", where=folder, hint="give the BONBID-HIE folder (1ADC_ss/, 3LABEL/)")
    out = []
    for path in sorted(adc_dir.glob("*-ADC_ss.mha")):
        pid = path.name.split("-")[0]
        lesions = sorted((folder / "3LABEL").glob(f"{pid}-*lesion.mha"))
        out.append((pid, path, lesions[0] if lesions else None))
    if len(out) < MRI_HOLDOUT_PATIENTS + 2:
        raise NeocusError(f"holds {len(out)} ADC volumes, too few", where=adc_dir, hint="give the whole BONBID-HIE set")
    return out


def _mri_heads(patients: Sequence[tuple[str, Path, Path | None]], console: Console | None, *, dilate_mm: float = 0.0) -> list[tuple[str, object]]:
    """(patient id, MriHead) of each patient whose landmarks are plausible (the rest are reported and
    skipped); ``dilate_mm``: every other patient (odd positions in id order) gets its lateral ventricles
    grown by this much (mm)."""
    from neocus.phantom.mri_head import mri_head

    out = []
    for k, (pid, adc, lesion) in enumerate(track(list(patients), description="building MRI heads", transient=True)):
        try:
            out.append((pid, mri_head(adc, lesion_path=lesion, dilate_ventricles_mm=dilate_mm if k % 2 else 0.0)))
        except NeocusError as exc:
            if console is not None:
                console.print(f"skipped {pid}: {exc.message}", markup=False)
    return out


def _mri_set(seeds: Sequence[int], heads: Sequence[tuple[str, object]], stills_per_view: int, appearance: str, what: str) -> ImageSet:
    """Like :func:`_phantom_set`, subject ``i`` being the MRI head ``heads[i * len(heads) // len(seeds)]``."""
    from neocus.phantom.mri_head import mri_still

    n = len(seeds)

    def shooter(i: int, seed: int, preset_name: str) -> Shoot:
        head = heads[i * len(heads) // n][1]
        return lambda view, scan, rng: mri_still(head, view, scan, rng=rng, out_size_hw=RENDER_HW)  # type: ignore[arg-type]

    return _render_set(seeds, stills_per_view, appearance, f"{what} (MRI anatomy)", shooter)


def mri_sets(
    folder: Path, appearance: str, cache: Path | None, console: Console, *, dilate_mm: float = 0.0,
) -> tuple[ImageSet, ImageSet, bool, dict[str, object]]:
    """(training set, hold-out set, from the cache, which patients) with the anatomy of real brains."""
    patients = mri_patients(folder)
    key = _phantom_hash(appearance, extra="mri:" + ",".join(pid for pid, _, _ in patients) + (f";dilate {dilate_mm}" if dilate_mm else ""))
    target = cache / f"phantom-mri-{key}.npz" if cache else None
    if target is not None and target.exists():
        train, hold, note = _load_sets(target)
        return train, hold, True, json.loads(note)
    heads = _mri_heads(patients, console, dilate_mm=dilate_mm)
    if len(heads) < MRI_HOLDOUT_PATIENTS + 2:
        raise NeocusError(f"only {len(heads)} usable MRI heads", where=folder, hint="see the skipped patients above")
    step = len(heads) / MRI_HOLDOUT_PATIENTS  # spread over the ids: the grids (2 mm / 4-6 mm slices) come in runs of ids
    hold_idx = {int(k * step + step / 2) for k in range(MRI_HOLDOUT_PATIENTS)}
    train_heads = [h for i, h in enumerate(heads) if i not in hold_idx]
    hold_heads = [h for i, h in enumerate(heads) if i in hold_idx]
    info: dict[str, object] = {"train": [p for p, _ in train_heads], "holdout": [p for p, _ in hold_heads],
                               "skipped": sorted({p for p, _, _ in patients} - {p for p, _ in heads})}
    train = _mri_set(range(TRAIN_SEED0, TRAIN_SEED0 + TRAIN_SUBJECTS), train_heads, STILLS_PER_VIEW, appearance, "training stills")
    hold = _mri_set(range(HOLDOUT_SEED0, HOLDOUT_SEED0 + HOLDOUT_SUBJECTS), hold_heads, 1, appearance, "hold-out stills")
    if target is not None:
        _save_sets(target, train, hold, json.dumps(info))
    return train, hold, False, info


def interleave_subjects(even: ImageSet, odd: ImageSet, *, per_subject: int) -> ImageSet:
    """Subject ``i``'s stills (``per_subject`` consecutive images, as :func:`_render_set` writes them) from
    ``even`` where ``i`` is even and from ``odd`` where it is odd: two sets of the same subject seeds,
    presets and views become one of the same size, half of its subjects from each."""
    n = len(even.labels)
    if len(odd.labels) != n or n % per_subject or not np.array_equal(even.labels, odd.labels):
        raise ValueError(f"sets of {n} and {len(odd.labels)} stills do not hold the same subjects and views")
    from_odd = (np.arange(n) // per_subject) % 2 == 1
    fields = ("images", "masks", "tissue", "labels")
    arrays = [np.where(from_odd.reshape(-1, *[1] * (getattr(even, f).ndim - 1)), getattr(odd, f), getattr(even, f)) for f in fields]
    return ImageSet(*arrays)


def training_data(args: argparse.Namespace, console: Console) -> tuple[ImageSet, dict[str, ImageSet], bool, dict[str, object] | None]:
    """(training set, hold-out set per anatomy, whether all came from the cache, the MRI patients) of
    ``args.anatomy``; ``mixed`` interleaves the subjects of the two anatomies' own sets."""
    sets: dict[str, tuple[ImageSet, ImageSet]] = {}
    cached, mri_info = True, None
    if args.anatomy in ("phantom", "mixed"):
        train, hold, cached = phantom_sets(args.appearance, args.cache)
        sets["phantom"] = (train, hold)
    if args.anatomy in ("mri", "mixed"):
        train, hold, cached_mri, mri_info = mri_sets(args.mri_data, args.appearance, args.cache, console, dilate_mm=args.mri_dilate)
        sets["mri"] = (train, hold)
        cached = cached and cached_mri
    holdouts = {name: hold for name, (_, hold) in sets.items()}
    if args.anatomy == "mixed":
        train = interleave_subjects(sets["phantom"][0], sets["mri"][0], per_subject=VIEWS_PER_SUBJECT * STILLS_PER_VIEW)
    else:
        train = sets[args.anatomy][0]
    return train, holdouts, cached, mri_info


def _phantom_hash(appearance: str, *, extra: str = "") -> str:
    h = hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode() + appearance.encode() + extra.encode())
    training_time_only = {"randomise.py", "style_transfer.py"} | ({"appearance.py"} if appearance == "today" else set())
    for path in sorted(Path(neocus.phantom.__file__).parent.glob("*.py")):
        if path.name in training_time_only:
            continue
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def phantom_sets(appearance: str, cache: Path | None) -> tuple[ImageSet, ImageSet, bool]:
    """(training set, hold-out set, whether they came from the cache)."""
    target = cache / f"phantom-{_phantom_hash(appearance)}.npz" if cache else None
    if target is not None and target.exists():
        train, hold, _ = _load_sets(target)
        return train, hold, True
    train = _phantom_set(range(TRAIN_SEED0, TRAIN_SEED0 + TRAIN_SUBJECTS), STILLS_PER_VIEW, appearance, "training stills")
    hold = _phantom_set(range(HOLDOUT_SEED0, HOLDOUT_SEED0 + HOLDOUT_SUBJECTS), 1, appearance, "hold-out stills")
    if target is not None:
        _save_sets(target, train, hold)
    return train, hold, False


def _load_sets(target: Path) -> tuple[ImageSet, ImageSet, str]:
    """(training set, hold-out set, the note stored with them) from a cache file."""
    z = np.load(target, allow_pickle=False)
    sets = [ImageSet(z[f"{k}_images"], z[f"{k}_masks"], z[f"{k}_tissue"], z[f"{k}_labels"]) for k in ("train", "hold")]
    note = next((str(z[k]) for k in ("note", "patients") if k in z), "")  # "patients": MRI sets of the first version
    return sets[0], sets[1], note


def _save_sets(target: Path, train: ImageSet, hold: ImageSet, note: str = "") -> None:
    arrays = {f"{k}_{f}": getattr(s, f) for k, s in (("train", train), ("hold", hold)) for f in ("images", "masks", "tissue", "labels")}
    with atomic_target(target, make_parents=True) as tmp:
        np.savez_compressed(tmp, note=np.array(note), **arrays)


def real_stills(folders: Sequence[Path]) -> list[tuple[str, str, int, np.ndarray, np.ndarray]]:
    """(folder, file name, class, image, mask) of every real still named like the NCLS ones."""
    out = []
    for folder in folders:
        if not folder.is_dir():
            raise NeocusError("not a folder", where=folder, hint="give folders of real stills named COR1-3 / SAG1-3")
        found = 0
        for sub in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
            for path in sorted(sub.iterdir()):
                m = REAL_NAME.match(path.name)
                if not m:
                    continue
                frame = load_sweep(path).frames[0]
                img, mask, _ = to_input(frame)
                out.append((str(sub), path.name, REAL_NAME_CLASS[m.group(1).upper()], img, mask))
                found += 1
        if not found:
            raise NeocusError("no stills named COR1-3 / SAG1-3 here or one folder down", where=folder,
                              hint="name real stills like the NCLS examples (COR1.png ... SAG3.png)")
    return out


def style_bank(videos: Sequence[Path]) -> tuple[np.ndarray, np.ndarray]:
    """ROI-cropped frames of unlabelled real sweeps at INPUT_HW (images uint8, masks bool)."""
    imgs, masks = [], []
    size_wh = (INPUT_HW[1], INPUT_HW[0])
    for path in videos:
        sweep = load_sweep(path)
        roi = detect_sweep_roi(sweep)
        cropped = apply_roi(sweep, roi)
        mask = cv2.resize(roi.mask.astype(np.uint8), size_wh, interpolation=cv2.INTER_NEAREST).astype(bool)
        for frame in cropped.frames:
            imgs.append(cv2.resize(frame, size_wh, interpolation=cv2.INTER_AREA))
            masks.append(mask)
    return np.stack(imgs), np.stack(masks)


# ---------------------------------------------------------------------------------------------------
# Network and training
# ---------------------------------------------------------------------------------------------------


def _cbr(i: int, o: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


class ProbeNet(nn.Sequential):
    """A small plain CNN (~135 k parameters) for 1 x 80 x 112 inputs."""

    def __init__(self, n_classes: int = len(CLASSES)):
        super().__init__(
            *_cbr(1, 16, 2), *_cbr(16, 24), nn.MaxPool2d(2), *_cbr(24, 48), nn.MaxPool2d(2),
            *_cbr(48, 64), *_cbr(64, 64), nn.MaxPool2d(2), *_cbr(64, 96),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(96, n_classes),
        )


@dataclass(frozen=True)
class Levers:
    randomise: float  # strength, 0 = off
    randomise_p: float
    style: str  # none | fda | hist
    style_p: float
    style_images: np.ndarray | None
    style_masks: np.ndarray | None


def _standardise(img: np.ndarray) -> np.ndarray:
    x = img.astype(np.float32) / 255.0
    return (x - x.mean()) / (x.std() + 1e-3)


def _augment(img: np.ndarray, mask: np.ndarray, tissue: np.ndarray, label: int, levers: Levers, rng: np.random.Generator) -> np.ndarray:
    """One training view of a phantom image (fixed recipe, plus the levers)."""
    if levers.randomise > 0 and rng.random() < levers.randomise_p:
        img = randomise_still(img, tissue, mask, strength=levers.randomise, rng=rng)
        mask = img > 0
    if levers.style != "none" and levers.style_images is not None and rng.random() < levers.style_p:
        j = int(rng.integers(len(levers.style_images)))
        ref, ref_mask = levers.style_images[j], levers.style_masks[j]
        if levers.style == "fda":
            img = fda_transfer(img, ref, mask, beta=float(rng.uniform(0.01, 0.05)))
        else:
            img = histogram_match(img, ref, mask, ref_mask)
    h, w = img.shape
    if label in CORONAL_CLASSES and rng.random() < 0.5:
        img = img[:, ::-1]
    a = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-8, 8), rng.uniform(0.9, 1.1))
    a[:, 2] += rng.uniform(-0.05, 0.05, 2) * (w, h)
    img = cv2.warpAffine(np.ascontiguousarray(img), a, (w, h), flags=cv2.INTER_LINEAR, borderValue=0).astype(np.float32)
    img = np.clip(img * rng.uniform(0.8, 1.2), 0, 255) / 255.0
    img = np.power(img, np.exp(rng.uniform(-0.3, 0.3))) * 255.0
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.0))
    img = img + rng.normal(0.0, rng.uniform(0.0, 6.0), img.shape).astype(np.float32)
    return _standardise(np.clip(img, 0, 255))


def train(data: ImageSet, levers: Levers, console: Console, *, seed: int = SEED) -> ProbeNet:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = ProbeNet()
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=1e-4)
    n = len(data.labels)
    steps = EPOCHS * ((n + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    for epoch in range(EPOCHS):
        net.train()
        order = rng.permutation(n)
        total, correct, seen = 0.0, 0, 0
        for b in range(0, n, BATCH):
            idx = order[b : b + BATCH]
            x = np.stack([_augment(data.images[i], data.masks[i], data.tissue[i], int(data.labels[i]), levers, rng) for i in idx])
            xt = torch.from_numpy(x)[:, None]
            yt = torch.from_numpy(data.labels[idx])
            logits = net(xt)
            loss = loss_fn(logits, yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yt).sum())
            seen += len(idx)
        console.print(f"epoch {epoch + 1}/{EPOCHS}: loss {total / seen:.3f}, train accuracy {correct / seen:.3f}")
    return net


@torch.no_grad()
def predict(net: ProbeNet, images: np.ndarray) -> np.ndarray:
    """Class probabilities ``[N, C]``."""
    net.eval()
    x = torch.from_numpy(np.stack([_standardise(im) for im in images]))[:, None]
    return torch.softmax(net(x), dim=1).numpy()


def _confusion(y_true: np.ndarray, y_pred: np.ndarray) -> list[list[int]]:
    m = np.zeros((len(CLASSES), len(CLASSES)), int)
    np.add.at(m, (y_true, y_pred), 1)
    return m.tolist()


def holdout_by_anatomy(holdouts: dict[str, ImageSet], pred_hold: np.ndarray) -> dict[str, dict[str, object]]:
    """Accuracy, count and confusion of each anatomy's hold-out; ``pred_hold`` covers the hold-outs in order."""
    out, start = {}, 0
    for name, h in holdouts.items():
        y, pr = h.labels, pred_hold[start : start + len(h.labels)]
        out[name] = {"accuracy": round(float((pr == y).mean()), 4), "n": int(len(y)), "confusion": _confusion(y, pr)}
        start += len(y)
    if start != len(pred_hold):
        raise ValueError(f"{len(pred_hold)} predictions for {start} hold-out stills")
    return out


# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, nargs="+", required=True, help="folders of real stills (COR1-3, SAG1-3), or of exam folders")
    ap.add_argument("--out", type=Path, required=True, help="output folder (probe.json)")
    ap.add_argument("--cache", type=Path, default=None, help="folder to keep the rendered phantom set in")
    ap.add_argument("--appearance", choices=("today", "ge"), default="today")
    ap.add_argument("--randomise", type=float, default=0.0, help="SynthSeg-style randomisation strength (0 = off)")
    ap.add_argument("--randomise-p", type=float, default=0.8, help="share of training views randomised")
    ap.add_argument("--style", choices=("none", "fda", "hist"), default="none")
    ap.add_argument("--style-p", type=float, default=0.5, help="share of training views given a real frame's style")
    ap.add_argument("--train-seed", type=int, default=SEED,
                    help="seed of the network's initialisation and augmentation only (the phantom set stays fixed); "
                         "change it only to measure run-to-run spread")
    ap.add_argument("--style-frames", type=Path, nargs="*", default=[], help="unlabelled real sweeps (videos) for --style")
    ap.add_argument("--anatomy", choices=ANATOMIES, default="phantom",
                    help="the subjects' anatomy: the analytic phantom, real neonatal brains (MRI, --mri-data), "
                         "or mixed (half of the training subjects each; hold-out of both, reported apart)")
    ap.add_argument("--mri-data", type=Path, default=None, help="BONBID-HIE folder (1ADC_ss/, 3LABEL/) for --anatomy mri / mixed")
    ap.add_argument("--mri-dilate", type=float, default=0.0,
                    help="--anatomy mri: grow the lateral ventricles of every other patient by this many mm (ventriculomegaly)")
    return ap.parse_args(argv)


def run(args: argparse.Namespace, console: Console) -> dict[str, object]:
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    if args.style != "none" and not args.style_frames:
        raise NeocusError("a style needs real frames", where="style_frames", hint="give unlabelled real sweeps, e.g. the NCLS sweep videos")
    if args.anatomy != "phantom" and args.mri_data is None:
        raise NeocusError(f"the {args.anatomy} anatomy needs MRI volumes", where="mri_data", hint="give the BONBID-HIE folder")
    t0 = time.perf_counter()
    real = real_stills(args.real)
    train_set, holdouts, cached, mri_info = training_data(args, console)
    hold_set = ImageSet(*(np.concatenate([getattr(h, f) for h in holdouts.values()]) for f in ("images", "masks", "tissue", "labels")))
    t_render = time.perf_counter() - t0
    console.print(f"{len(train_set.labels)} training stills, {len(hold_set.labels)} hold-out stills "
                  f"({'cache' if cached else f'rendered in {t_render:.0f} s'}), {len(real)} real stills")
    style_images = style_masks = None
    if args.style != "none":
        style_images, style_masks = style_bank(args.style_frames)
        console.print(f"{len(style_images)} unlabelled real frames for the style")
    levers = Levers(args.randomise, args.randomise_p, args.style, args.style_p, style_images, style_masks)
    t1 = time.perf_counter()
    net = train(train_set, levers, console, seed=args.train_seed)
    t_train = time.perf_counter() - t1
    p_hold = predict(net, hold_set.images)
    p_real = predict(net, np.stack([r[3] for r in real]))
    y_real = np.array([r[2] for r in real])
    pred_real = p_real.argmax(1)
    pred_hold = p_hold.argmax(1)
    folders: dict[str, dict[str, object]] = {}
    for (folder, name, cls, _, _), p, pr in zip(real, p_real, pred_real):
        entry = folders.setdefault(folder, {"images": {}, "correct": 0, "n": 0})
        entry["images"][name] = {  # type: ignore[index]
            "truth": CLASSES[cls], "prediction": CLASSES[int(pr)], "probability": round(float(p[pr]), 4),
            "probabilities": {c: round(float(v), 4) for c, v in zip(CLASSES, p)},
        }
        entry["correct"] = int(entry["correct"]) + int(pr == cls)  # type: ignore[call-overload]
        entry["n"] = int(entry["n"]) + 1  # type: ignore[call-overload]
    plane_real = np.isin(y_real, CORONAL_CLASSES) == np.isin(pred_real, CORONAL_CLASSES)
    majority = int(np.bincount(y_real, minlength=len(CLASSES)).max())
    return {
        "real_accuracy": round(float((pred_real == y_real).mean()), 4),
        "real_correct": int((pred_real == y_real).sum()),
        "real_n": int(len(y_real)),
        "real_plane_accuracy": round(float(plane_real.mean()), 4),
        "real_majority_baseline": majority,
        "phantom_accuracy": round(float((pred_hold == hold_set.labels).mean()), 4),
        "phantom_n": int(len(hold_set.labels)),
        "classes": list(CLASSES),
        "confusion_real": _confusion(y_real, pred_real),
        "confusion_phantom": _confusion(hold_set.labels, pred_hold),
        "holdout_by_anatomy": holdout_by_anatomy(holdouts, pred_hold),
        "real_mean_probability_of_prediction": round(float(p_real.max(1).mean()), 4),
        "folders": folders,
        "recipe": RECIPE,
        "options": {"train_seed": args.train_seed, "appearance": args.appearance, "randomise": args.randomise, "randomise_p": args.randomise_p,
                    "style": args.style, "style_p": args.style_p, "style_frames": [p.name for p in args.style_frames],
                    "anatomy": args.anatomy, "mri_dilate": args.mri_dilate},
        "mri_patients": mri_info,
        "phantom_code_hash": _phantom_hash(args.appearance),
        "seconds": {"render": round(t_render, 1), "train": round(t_train, 1), "total": round(time.perf_counter() - t0, 1)},
    }


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(stderr=True)
    args = _args(argv)
    try:
        result = run(args, console)
    except NeocusError as exc:
        console.print(f"sim2real_probe: error: {exc.message}", markup=False, soft_wrap=True)
        return exc.exit_code
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "probe.json", json.dumps(result, indent=1) + "\n")
    holdouts = ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in result["holdout_by_anatomy"].items())  # type: ignore[union-attr]
    console.print(f"real {result['real_correct']}/{result['real_n']} (plane {result['real_plane_accuracy']:.2f}), "
                  f"hold-out {result['phantom_accuracy']:.3f} ({holdouts}); confusion (real, rows = truth {CLASSES}): "
                  f"{result['confusion_real']}; {result['seconds']} s -> {args.out / 'probe.json'}", markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
