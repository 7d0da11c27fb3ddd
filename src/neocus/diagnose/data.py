"""Cases for the diagnosis model: from a neocus dataset (view stills + labels) or drawn from the phantom.

A :class:`CaseExample` holds one case's view images (uint8 ``[H, W]``), their labels and, for phantom
cases, the lesion masks (for the heatmap hit rate) and jittered neighbours of each view that training
draws from on the fly. :func:`collate` turns examples into padded tensors (missing views masked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from neocus.data.dataset import Dataset
from neocus.diagnose.config import FINDINGS, METADATA_FIELDS, METADATA_SCALE, VIEWS
from neocus.errors import InputFileError, NeocusError
from neocus.vocab import VIEWS_IN_SWEEP_ORDER, Finding, IvhGrade, View, case_findings, is_severe


@dataclass(frozen=True)
class ViewImage:
    """One view still with its labels (``findings`` None: unknown) and target mask (phantom only)."""

    image: np.ndarray  # uint8 [H, W]
    findings: frozenset[Finding] | None = None
    target_mask: np.ndarray | None = None  # bool [H, W]: lesion (or dilated ventricles) pixels


@dataclass(frozen=True)
class CaseExample:
    """One case: its views (in sweep order), labels (None: unknown), metadata and training alternates."""

    case_id: str
    views: dict[View, ViewImage]
    severe: int | None = None
    grade: int | None = None
    metadata: dict[str, float | None] = field(default_factory=dict)
    group: str | None = None
    alternates: dict[View, tuple[ViewImage, ...]] = field(default_factory=dict)

    @property
    def findings(self) -> frozenset[Finding] | None:
        per = [v.findings for v in self.views.values()]
        return None if any(f is None for f in per) else case_findings(per)


def to_grey_square(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """uint8 grey image resized to ``size_hw`` (area interpolation when shrinking)."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    if image.shape[:2] != tuple(size_hw):
        shrink = image.shape[0] > size_hw[0]
        image = cv2.resize(image, (size_hw[1], size_hw[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.ascontiguousarray(image, dtype=np.uint8)


def crop_to_roi(image: np.ndarray) -> np.ndarray:
    """The imaging region of a screen capture (:func:`neocus.io.roi.detect_roi`: burned-in text, bars and
    scales outside it are dropped, non-imaging pixels blanked), padded to a centred square."""
    from neocus.io.roi import detect_roi

    roi = detect_roi(image)
    c = roi.crop
    return pad_square(np.where(roi.mask, image[c.y:c.y + c.h, c.x:c.x + c.w], 0).astype(np.uint8))


def pad_square(image: np.ndarray) -> np.ndarray:
    """uint8 ``image`` centred on a black square (the letterbox the diagnosis model's stills have)."""
    side = max(image.shape[:2])
    out = np.zeros((side, side), dtype=np.uint8)
    y0, x0 = (side - image.shape[0]) // 2, (side - image.shape[1]) // 2
    out[y0:y0 + image.shape[0], x0:x0 + image.shape[1]] = image
    return out


def read_view_image(path: str | Path, size_hw: tuple[int, int], *, roi: bool = False) -> np.ndarray:
    """A view still from an image file as uint8 ``size_hw`` (``roi``: cropped to the imaging region
    first, for screen captures); an unreadable file is an :class:`InputFileError`."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError("view image not found", where=path)
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise InputFileError("cannot decode as an image", where=path, hint="give a PNG or JPEG still of a standard view")
    if image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if roi:
        image = crop_to_roi(to_grey_square(image, image.shape[:2]))
    return to_grey_square(image, size_hw)


def parse_view(name: str, *, where: str | Path) -> View:
    """A view from a file stem such as ``TVV`` (case-insensitive); anything else is a :class:`NeocusError`."""
    for v in View:
        if name.upper() == v.value.upper():
            return v
    raise InputFileError(f"'{name}' is not a standard view name", where=where, hint=f"name the files {', '.join(v.value for v in View)}")


def dataset_examples(dataset: Dataset, case_ids: Iterable[str] | None = None, *, size_hw: tuple[int, int]) -> list[CaseExample]:
    """The cases of a dataset that have view stills (``<case>/views/<VIEW>.png``), with their labels."""
    out = []
    for entry in dataset.cases if case_ids is None else dataset.subset(list(case_ids)):
        paths = entry.view_images()
        if not paths:
            continue
        labels = entry.record.labels
        per_view = labels.findings if labels is not None and labels.findings is not None else None
        views = {}
        for v, p in paths.items():
            found = None if per_view is None or v not in per_view else frozenset(per_view[v])
            views[v] = ViewImage(read_view_image(p, size_hw), found, _phantom_still_mask(entry.folder, v, found, size_hw))
        meta = entry.record.metadata
        out.append(CaseExample(
            case_id=entry.case_id,
            views=views,
            severe=None if labels is None or labels.severe is None else int(labels.severe),
            grade=None if labels is None or labels.ivh_grade is None else int(labels.ivh_grade),
            metadata={k: getattr(meta, k) for k in METADATA_FIELDS},
            group=meta.subject or entry.case_id,
        ))
    if not out:
        raise NeocusError("no case has view stills (views/<VIEW>.png)", where=dataset.root, hint="simulate with stills or add views")
    return out


def _read_mask(path: Path, size_hw: tuple[int, int]) -> np.ndarray | None:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if path.is_file() else None
    return None if img is None else cv2.resize(img, (size_hw[1], size_hw[0]), interpolation=cv2.INTER_NEAREST) > 0


def _phantom_still_mask(folder: Path, view: View, findings: frozenset[Finding] | None, size_hw: tuple[int, int]) -> np.ndarray | None:
    """The hit-rate target of a still of a phantom dataset (``masks/<VIEW>_lesion.png``, plus
    ``masks/<VIEW>_ventricles.png`` where the still shows dilation or hydrocephalus; docs/phantom.md),
    resized to ``size_hw``; None when the dataset has no such masks."""
    mask = _read_mask(folder / "masks" / f"{view.value}_lesion.png", size_hw)
    if mask is not None and findings and (Finding.VENTRICULAR_DILATION in findings or Finding.HYDROCEPHALUS in findings):
        vent = _read_mask(folder / "masks" / f"{view.value}_ventricles.png", size_hw)
        mask = mask if vent is None else mask | vent
    return mask


def phantom_example(seed: int, *, preset: str, size_hw: tuple[int, int], neighbours: int = 0, case_id: str | None = None) -> CaseExample:
    """One phantom case: a subject of the preset's population, its standard stills (blind preset: the views
    the acquisition came near) and ``neighbours`` jittered near-misses per view (quality >= the still's
    minimum), labelled like ``neocus simulate`` labels its cases (grade of the subject, findings of the stills)."""
    from neocus.phantom.api import STILL_MIN_QUALITY, jittered_neighbours, simulate_case

    case = simulate_case(seed, case_id=case_id or f"ph{seed}", preset=preset, sweeps=False, out_size_hw=tuple(size_hw))
    views = {v: _phantom_view(s) for v, s in case.stills.items()}
    rng = np.random.default_rng([seed, 0xD1A6])
    alternates = {}
    if neighbours > 0:
        for v in case.stills:
            near = jittered_neighbours(case.subject, view=v, preset=case.preset, rng=rng, n=neighbours, out_size_hw=tuple(size_hw))
            alternates[v] = tuple(_phantom_view(s) for s in near if s.quality >= STILL_MIN_QUALITY)
    subject = case.subject
    grade = int(subject.ivh_grade)
    union = case_findings(s.findings for s in case.stills.values()) if case.stills else frozenset({Finding.NORMAL})
    weight = float(np.interp(subject.ga_weeks, (24.0, 28.0, 32.0, 36.0, 40.0, 42.0), (650, 1150, 1800, 2700, 3500, 3750)))
    return CaseExample(
        case_id=case.case_id,
        views=views,
        severe=int(is_severe(IvhGrade(grade), union)),
        grade=grade,
        metadata={"ga_weeks": float(subject.ga_weeks), "age_days": float(rng.integers(1, 29)), "birth_weight_g": weight},
        group=case.case_id,
        alternates=alternates,
    )


def _phantom_view(still) -> ViewImage:
    mask = still.lesion > 0
    if Finding.VENTRICULAR_DILATION in still.findings or Finding.HYDROCEPHALUS in still.findings:
        mask = mask | still.ventricles
    return ViewImage(np.ascontiguousarray(still.image, dtype=np.uint8), frozenset(still.findings), mask)


# --------------------------------------------------------------------------------------------------
# Tensors
# --------------------------------------------------------------------------------------------------

IMAGE_MEAN = 0.25
IMAGE_STD = 0.25


def image_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``[..., H, W]`` -> standardised float tensor of the same shape."""
    return (torch.from_numpy(np.asarray(images, dtype=np.float32)) / 255.0 - IMAGE_MEAN) / IMAGE_STD


def metadata_vector(metadata: dict[str, float | None]) -> np.ndarray:
    """Standardised metadata values then 0/1 'known' flags (unknown values are 0)."""
    vals, known = [], []
    for k in METADATA_FIELDS:
        x = metadata.get(k)
        centre, spread = METADATA_SCALE[k]
        vals.append(0.0 if x is None else (float(x) - centre) / spread)
        known.append(0.0 if x is None else 1.0)
    return np.array(vals + known, dtype=np.float32)


@dataclass
class Batch:
    """Padded tensors of a list of cases (slot order: sweep order of the views present)."""

    images: torch.Tensor  # [B, V, 1, H, W]
    views: torch.Tensor  # [B, V] long
    present: torch.Tensor  # [B, V] bool
    metadata: torch.Tensor  # [B, 2M]
    findings: torch.Tensor  # [B, V, F] float (0/1), -1 where unknown
    severe: torch.Tensor  # [B] long, -1 unknown
    grade: torch.Tensor  # [B] long, -1 unknown
    slot_views: list[list[View]]

    def to(self, device: torch.device | str) -> Batch:
        for name in ("images", "views", "present", "metadata", "findings", "severe", "grade"):
            setattr(self, name, getattr(self, name).to(device))
        return self


def collate(cases: Sequence[dict[View, ViewImage]], labels: Sequence[CaseExample] | None = None,
            *, n_slots: int = len(VIEWS)) -> Batch:
    """Batch of cases given as view -> image (``labels`` gives severe / grade / metadata per case)."""
    b = len(cases)
    h, w = next(iter(cases[0].values())).image.shape
    images = np.zeros((b, n_slots, 1, h, w), dtype=np.uint8)
    views = np.zeros((b, n_slots), dtype=np.int64)
    present = np.zeros((b, n_slots), dtype=bool)
    findings = np.full((b, n_slots, len(FINDINGS)), -1.0, dtype=np.float32)
    slot_views: list[list[View]] = []
    for i, case in enumerate(cases):
        order = [v for v in VIEWS_IN_SWEEP_ORDER if v in case]
        slot_views.append(order)
        for j, v in enumerate(order):
            images[i, j, 0] = case[v].image
            views[i, j] = VIEWS.index(v)
            present[i, j] = True
            if case[v].findings is not None:
                findings[i, j] = [float(f in case[v].findings) for f in FINDINGS]
    if labels:
        meta = np.stack([metadata_vector(c.metadata) for c in labels])
    else:
        meta = np.zeros((b, 2 * len(METADATA_FIELDS)), dtype=np.float32)
    severe = [(-1 if c.severe is None else c.severe) for c in labels] if labels else [-1] * b
    grade = [(-1 if c.grade is None else c.grade) for c in labels] if labels else [-1] * b
    return Batch(
        images=image_tensor(images), views=torch.from_numpy(views), present=torch.from_numpy(present),
        metadata=torch.from_numpy(meta), findings=torch.from_numpy(findings),
        severe=torch.tensor(severe, dtype=torch.long), grade=torch.tensor(grade, dtype=torch.long), slot_views=slot_views,
    )


def _phantom_job(args: tuple[int, str, tuple[int, int], int]) -> CaseExample:
    seed, preset, size_hw, neighbours = args
    return phantom_example(seed, preset=preset, size_hw=size_hw, neighbours=neighbours, case_id=f"{preset}-{seed}")


def phantom_examples(
    n: int, *, preset: str, size_hw: tuple[int, int], neighbours: int = 0, seed_base: int = 0, workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[CaseExample]:
    """``n`` phantom cases with seeds ``seed_base .. seed_base + n - 1`` (held-out sets use another base),
    rendered in ``workers`` processes (the result does not depend on it)."""
    from neocus.phantom.api import PRESET_POPULATION

    if preset not in PRESET_POPULATION:
        raise NeocusError(f"unknown phantom preset {preset!r}", where="preset", hint=f"use one of: {', '.join(PRESET_POPULATION)}")
    jobs = [(seed_base + i, preset, tuple(size_hw), neighbours) for i in range(n)]
    out: list[CaseExample] = []
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for ex in pool.map(_phantom_job, jobs, chunksize=4):
                out.append(ex)
                if progress is not None:
                    progress(len(out), n)
        return out
    for job in jobs:
        out.append(_phantom_job(job))
        if progress is not None:
            progress(len(out), n)
    return out


def save_examples(path: str | Path, examples: Sequence[CaseExample]) -> Path:
    """Cache generated cases (pickle; scratch data, never part of the repository)."""
    import pickle

    from neocus.atomic import atomic_write_bytes

    return atomic_write_bytes(Path(path), pickle.dumps(list(examples), protocol=pickle.HIGHEST_PROTOCOL), make_parents=True)


def load_examples(path: str | Path) -> list[CaseExample]:
    """Cases cached by :func:`save_examples` (a file written by neocus itself: pickle is trusted here)."""
    import pickle

    path = Path(path)
    try:
        data = pickle.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputFileError("case cache not found", where=path) from None
    except Exception as exc:  # corrupt pickle: many exception types
        raise InputFileError(f"cannot read the case cache ({type(exc).__name__})", where=path, hint="delete it to regenerate") from None
    if not isinstance(data, list) or not all(isinstance(c, CaseExample) for c in data):
        raise InputFileError("not a neocus case cache", where=path, hint="delete it to regenerate")
    return data
