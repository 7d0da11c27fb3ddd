"""Detector training and evaluation frames: the phantom recipe (rendered on demand, cached in one
file per recipe), neocus datasets with per-frame box annotations, letterboxing and batches.

Seeds: training frames of seed ``s`` come from ``SeedSequence([TRAIN_TAG, s, ...])``; held-out
evaluation frames of seed ``s`` from ``SeedSequence([EVAL_TAG, preset, s, ...])``. The two tags
differ, so no evaluation frame (or subject) is ever a training frame.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from neocus.atomic import atomic_target
from neocus.detect.augment import Sample, augment, mixup, mosaic
from neocus.detect.classes import CLASS_INDEX
from neocus.errors import DatasetError, parse_choice
from neocus.vocab import View

TRAIN_TAG = 0x7A11
EVAL_TAG = 0xE7A1
FRAMES_PER_SUBJECT = 6


# --------------------------------------------------------------------------------------------------
# Letterbox
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Letterbox:
    """A frame fitted into the square model input (``image``): ``input = frame * scale + (pad_x, pad_y)``."""

    image: np.ndarray
    scale: float
    pad_x: float
    pad_y: float

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        b = np.array(boxes, dtype=np.float64).reshape(-1, 5)
        b[:, 0] = (b[:, 0] - self.pad_x) / self.scale
        b[:, 1] = (b[:, 1] - self.pad_y) / self.scale
        b[:, 2:4] /= self.scale
        return b

    def to_input(self, boxes: np.ndarray) -> np.ndarray:
        b = np.array(boxes, dtype=np.float64).reshape(-1, 5)
        b[:, 0] = b[:, 0] * self.scale + self.pad_x
        b[:, 1] = b[:, 1] * self.scale + self.pad_y
        b[:, 2:4] *= self.scale
        return b


def letterbox(image: np.ndarray, *, size: int) -> Letterbox:
    """Resize ``image [H, W]`` so its long side is ``size`` and pad (zeros) to ``size x size``, centred."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((size, size), dtype=image.dtype)
    py, px = (size - nh) // 2, (size - nw) // 2
    out[py:py + nh, px:px + nw] = resized
    return Letterbox(image=out, scale=scale, pad_x=float(px), pad_y=float(py))


def letterbox_sample(sample: Sample, *, size: int) -> Sample:
    lb = letterbox(sample.image, size=size)
    boxes = lb.to_input(sample.boxes).astype(np.float32)
    keep = (boxes[:, 2] * boxes[:, 3] >= 4.0) if len(boxes) else np.zeros(0, bool)
    return Sample(lb.image, boxes[keep], sample.labels[keep])


# --------------------------------------------------------------------------------------------------
# The phantom recipe
# --------------------------------------------------------------------------------------------------


def _structure_sample(image: np.ndarray, boxes) -> Sample:  # noqa: ANN001
    rows = [(CLASS_INDEX[b.structure], b.box.as_tuple()) for b in boxes if b.structure in CLASS_INDEX]
    return Sample(
        image=np.ascontiguousarray(image),
        boxes=np.array([r[1] for r in rows], dtype=np.float32).reshape(-1, 5),
        labels=np.array([r[0] for r in rows], dtype=np.int64),
    )


class PhantomRecipe:
    """Frames of random phantom subjects: expert stills and near-miss neighbours of random views,
    random preset variation and output size, ``FRAMES_PER_SUBJECT`` frames per subject."""

    def __init__(self, presets: Sequence[str], *, tag: int, seed: int):
        from neocus.phantom.presets import PresetName

        self.presets = [parse_choice(PresetName, p, what="preset").value for p in presets]
        self.tag, self.seed = tag, int(seed)
        self._subject: tuple[int, object] | None = None

    def describe(self) -> dict[str, object]:
        return {"presets": self.presets, "tag": self.tag, "seed": self.seed, "frames_per_subject": FRAMES_PER_SUBJECT}

    def _subject_for(self, k: int, preset: str):  # noqa: ANN202
        from neocus.phantom.api import PRESET_POPULATION, new_subject

        if self._subject is None or self._subject[0] != k:
            ss = np.random.SeedSequence([self.tag, self.seed, k])
            self._subject = (k, new_subject(ss, population=PRESET_POPULATION[preset]))
        return self._subject[1]

    def frame(self, index: int) -> Sample:
        from neocus.phantom.api import jittered_neighbours, standard_still
        from neocus.phantom.presets import get_preset

        k = index // FRAMES_PER_SUBJECT
        preset_name = self.presets[k % len(self.presets)]
        subject = self._subject_for(k, preset_name)
        rng = np.random.default_rng([self.tag, self.seed, index, 1])
        preset = get_preset(preset_name).vary(rng=rng)
        view = list(View)[int(rng.integers(len(View)))]
        h = int(rng.integers(224, 420))
        size = (h, int(h * rng.uniform(1.0, 1.45)))
        if rng.random() < 0.4:
            still = standard_still(subject, view=view, preset=preset, rng=rng, out_size_hw=size)
        else:
            still = jittered_neighbours(subject, view=view, preset=preset, rng=rng, n=1, out_size_hw=size)[0]
        return _structure_sample(still.image, still.truth.boxes)


CHUNK = 50
"""Frames per cache file: a pool of n frames reads (and writes) files of ``CHUNK`` consecutive frames,
so pools of different sizes share their frames and an interrupted render keeps what it finished."""


def _cache_key(recipe: PhantomRecipe, chunk: int) -> str:
    text = json.dumps({**recipe.describe(), "chunk": chunk, "size": CHUNK, "v": 1}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _render_chunk(recipe: PhantomRecipe, chunk: int, n: int, cache_dir: Path | None,
                  progress: Callable[[int], None] | None) -> list[Sample]:
    path = cache_dir / f"phantom-{_cache_key(recipe, chunk)}.npz" if cache_dir is not None else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            if int(z["n"]) >= n:
                if progress is not None:
                    progress(n)
                return [Sample(z[f"i{k}"], z[f"b{k}"], z[f"l{k}"]) for k in range(n)]
    out = []
    for k in range(n):
        out.append(recipe.frame(chunk * CHUNK + k))
        if progress is not None:
            progress(1)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"n": np.array(n)}
        for k, smp in enumerate(out):
            arrays |= {f"i{k}": smp.image, f"b{k}": smp.boxes, f"l{k}": smp.labels}
        with atomic_target(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
    return out


def render_pool(recipe: PhantomRecipe, n: int, *, cache_dir: Path | None = None,
                progress: Callable[[int], None] | None = None) -> list[Sample]:
    """Frames ``0 .. n-1`` of the recipe, read from ``cache_dir`` where rendered before."""
    out: list[Sample] = []
    for chunk in range((n + CHUNK - 1) // CHUNK):
        out += _render_chunk(recipe, chunk, min(CHUNK, n - chunk * CHUNK), cache_dir, progress)
    return out


def phantom_eval_set(preset: str, n: int, *, seed: int = 0, cache_dir: Path | None = None,
                     progress: Callable[[int], None] | None = None) -> list[Sample]:
    """A held-out phantom set of one preset (seed namespace ``EVAL_TAG``, never used in training)."""
    from neocus.phantom.presets import PresetName

    idx = list(PresetName).index(parse_choice(PresetName, preset, what="preset"))
    return render_pool(PhantomRecipe([preset], tag=EVAL_TAG, seed=seed * 16 + idx), n, cache_dir=cache_dir, progress=progress)


# --------------------------------------------------------------------------------------------------
# neocus datasets
# --------------------------------------------------------------------------------------------------


def dataset_samples(path: str | Path, *, case_ids: Sequence[str] | None = None) -> list[Sample]:
    """Every annotated frame (with at least one detector-class box) of a neocus dataset.

    Boxes are in pixels of the frame as stored, as the dataset format says. A dataset without any
    box annotation is a :class:`DatasetError`.
    """
    from neocus.data import Dataset

    ds = Dataset.load(path)
    cases = ds.subset(case_ids) if case_ids is not None else ds.cases
    out: list[Sample] = []
    for case in cases:
        for name in case.sweep_paths():
            notes = [a for a in case.annotations(name) if a.boxes]
            if not notes:
                continue
            frames = case.load_sweep(name, show_progress=False).frames
            for a in notes:
                rows = [(CLASS_INDEX[b.label], b.as_tuple()) for b in a.boxes if b.label in CLASS_INDEX]
                out.append(Sample(frames[a.frame], np.array([r[1] for r in rows], np.float32).reshape(-1, 5),
                                  np.array([r[0] for r in rows], np.int64)))
    if not out:
        raise DatasetError("no frame has box annotations", where=Path(path),
                           hint="the detector needs annotations/<sweep>.jsonl with boxes (e.g. a dataset from `neocus simulate`)")
    return out


# --------------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------------


def to_tensor(images: Sequence[np.ndarray]) -> torch.Tensor:
    """uint8 ``[H, W]`` frames -> float ``[B, 1, H, W]`` in [0, 1]."""
    return torch.from_numpy(np.stack(images)).float().div_(255.0).unsqueeze(1)


def targets_of(samples: Sequence[Sample], size: int) -> list[dict[str, torch.Tensor]]:
    """Targets in model units: boxes as fractions of the input (angle in degrees)."""
    scale = np.array([size, size, size, size, 1.0], np.float32)
    return [{"labels": torch.from_numpy(s.labels.astype(np.int64)),
             "boxes": torch.from_numpy((s.boxes.reshape(-1, 5) / scale).astype(np.float32))} for s in samples]


def training_batch(pool: Sequence[Sample], size: int, batch: int, *, mosaic_prob: float, mixup_prob: float,
                   rng: np.random.Generator) -> list[Sample]:
    """One augmented batch of letterboxed samples drawn from ``pool``."""

    def one() -> Sample:
        s = augment(pool[int(rng.integers(len(pool)))], rng=rng)
        return letterbox_sample(s, size=size)

    out = []
    for _ in range(batch):
        if rng.random() < mosaic_prob:
            s = mosaic([one() for _ in range(4)], (size, size))
        else:
            s = one()
        if rng.random() < mixup_prob:
            s = mixup(s, one(), rng=rng)
        out.append(s)
    return out
