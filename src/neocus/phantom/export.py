"""Write simulated cases as a neocus dataset (the format of :mod:`neocus.data`).

Layout written for each case (on top of what the dataset format requires)::

    cases/<case_id>/case.json                   CaseRecord: sweeps, fake-free metadata, labels
    cases/<case_id>/coronal.mp4 | coronal.dcm   the coronal sweep (MP4 or DICOM multi-frame)
    cases/<case_id>/sagittal.mp4 | sagittal.dcm the sagittal sweep
    cases/<case_id>/views/<VIEW>.png            the six standard-view stills
    cases/<case_id>/annotations/<stem>.jsonl    per frame: structure boxes, lesion boxes, view, quality
    cases/<case_id>/masks/<VIEW>_lesion.png     per still: lesion label map (LESION_KINDS index + 1)
    cases/<case_id>/masks/<VIEW>_ventricles.png per still: ventricle mask (0 / 255)
    cases/<case_id>/masks/<stem>.npz            per sweep: ``lesion`` [T,H,W] uint8, ``ventricles`` [T,H,W] bool
    cases/<case_id>/truth.json                  the phantom's full ground truth (subject, lesions,
                                                measured ventricles, still boxes, view windows, motion)

Reproducible: each case draws from its own seed (``SeedSequence(seed, spawn_key=(index,))``), so the
bytes do not depend on the number of workers; JSON is canonical, PNG / npz / MP4 / DICOM writers are
deterministic. Atomic: everything goes to a hidden temp folder beside ``out`` that is renamed to ``out``
only when every case is written; a failure (or Ctrl-C) removes it.

Size: about 530 lines: one config, the per-case writer and the parallel driver belong together.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import multiprocessing as mp
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from enum import StrEnum
from typing import Any

import cv2
import numpy as np
from pydicom.uid import generate_uid

from neocus.data import (
    BoxAnnotation,
    CaseLabels,
    CaseMetadata,
    CaseRecord,
    FrameAnnotation,
    LesionBoxAnnotation,
    Sex,
    ViewFrame,
    case_dir,
    view_image_path,
    write_annotations,
    write_case,
)
from neocus import atomic
from neocus.atomic import atomic_write_text
from neocus.data.schema import DATASET_FILE
from neocus.errors import NeocusError, parse_choice
from neocus.geometry import RotatedBox
from neocus.io.types import CropRecord
from neocus.io.write import write_dicom_cine, write_video
from neocus.phantom.api import SimulatedCase, simulate_case
from neocus.phantom.presets import get_preset
from neocus.phantom.screen import compose_screen
from neocus.phantom.truth import MIN_BOX_AREA_MM2, MIN_LESION_AREA_MM2, VIEW_QUALITY_THRESHOLD, FrameTruth, npz_bytes
from neocus.phantom.types import ImagePlane
from neocus.results import rounded
from neocus.vocab import Finding, Plane, View

CASE_ID_FORMAT = "phantom-{index:05d}"
N_FOLDS = 5


class SweepFormat(StrEnum):
    """How sweeps are written: ``mixed`` (coronal MP4, sagittal DICOM), all ``mp4`` or all ``dicom``."""

    MIXED = "mixed"
    MP4 = "mp4"
    DICOM = "dicom"


@dataclass(frozen=True)
class SimulationConfig:
    """What ``neocus simulate`` was asked for (also recorded in the dataset's provenance).

    ``frame_size_wh`` is ``(width, height)`` in pixels (None: the preset's own size); ``sweep_frames``
    about how many frames each sweep records (None: the operator style's natural duration);
    ``severe_fraction`` the share of severe cases (None: the population's own prevalence);
    ``sweep_format``: ``mp4``, ``dicom`` or ``mixed`` (coronal MP4, sagittal DICOM);
    ``sweeps`` False writes stills only.
    """

    cases: int
    seed: int = 0
    preset: str = "internal"
    severe_fraction: float | None = None
    frame_size_wh: tuple[int, int] | None = None
    sweep_frames: int | None = None
    sweeps: bool = True
    sweep_format: SweepFormat | str = SweepFormat.MIXED
    screen: bool = False
    workers: int = 1
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Raise :class:`NeocusError` for an option a user got wrong."""
        if self.cases < 1:
            raise NeocusError(f"must be at least 1, got {self.cases}", where="cases")
        if self.seed < 0:
            raise NeocusError(f"must be >= 0, got {self.seed}", where="seed")
        if self.severe_fraction is not None and not 0.0 <= self.severe_fraction <= 1.0:
            raise NeocusError(f"must lie in [0, 1], got {self.severe_fraction}", where="severe_fraction")
        if self.frame_size_wh is not None:
            w, h = self.frame_size_wh
            if not (32 <= w <= 2048 and 32 <= h <= 2048):
                raise NeocusError(f"must be between 32x32 and 2048x2048, got {w}x{h}", where="frame_size_wh")
        if self.sweep_frames is not None and not 2 <= self.sweep_frames <= 2000:
            raise NeocusError(f"must lie in 2..2000, got {self.sweep_frames}", where="sweep_frames")
        parse_choice(SweepFormat, self.sweep_format, what="sweep_format")
        if self.workers < 1:
            raise NeocusError(f"must be at least 1, got {self.workers}", where="workers")
        if self.screen and not self.sweeps:
            raise NeocusError("wraps sweeps, but no sweeps are written", where="screen")
        get_preset(self.preset)  # unknown names fail here, with the choices

    def out_size_hw(self) -> tuple[int, int] | None:
        """``(H, W)`` for the renderer."""
        return None if self.frame_size_wh is None else (int(self.frame_size_wh[1]), int(self.frame_size_wh[0]))


def parse_frame_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> ``(640, 480)`` (width, height); raises NeocusError on anything else."""
    parts = text.lower().replace(" ", "").split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise NeocusError(f"frame size must look like WIDTHxHEIGHT (e.g. 640x480), got {text!r}", where="frame_size_wh")
    return int(parts[0]), int(parts[1])


def case_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of case ``index`` of a dataset drawn with ``seed`` (independent of workers)."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(index),))


def severity_targets(n: int, fraction: float | None, *, seed: int) -> list[bool | None]:
    """Which cases must be severe: exactly ``round(n * fraction)`` of them, at seeded random positions.

    ``fraction`` None leaves every case to the population's prevalence (None entries).
    """
    if fraction is None:
        return [None] * n
    k = int(round(n * fraction))
    order = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(2**31 - 1,))).permutation(n)
    severe = set(order[:k].tolist())
    return [i in severe for i in range(n)]


# --------------------------------------------------------------------------------------------------
# Atomic output folder
# --------------------------------------------------------------------------------------------------


def check_output_dir(out: str | Path, *, replace: bool = False) -> None:
    """Raise :class:`NeocusError` unless ``out`` is a new (or empty) folder, or, with ``replace``, a
    neocus dataset (a folder holding ``dataset.json``) that may be replaced (the one rule of
    :func:`neocus.atomic.check_output_dir`)."""
    atomic.check_output_dir(out, force=replace, marker=DATASET_FILE, kind="a neocus dataset")


@contextmanager
def atomic_output_dir(out: str | Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield a temp folder beside ``out``; rename it to ``out`` on success, remove it on any failure.

    ``out`` must not exist, or be an empty folder, or (``replace``) a neocus dataset, which is swapped
    for the new one only on success. Parent folders created here are removed again on failure.
    """
    out = Path(out)
    check_output_dir(out, replace=replace)
    created: list[Path] = []
    parent = out.parent.resolve()
    for p in reversed([parent, *parent.parents]):
        if not p.exists():
            try:
                p.mkdir()
            except OSError as exc:
                for c in reversed(created):
                    shutil.rmtree(c, ignore_errors=True)
                raise NeocusError(f"cannot create the output folder: {exc.strerror}", where=p) from None
            created.append(p)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
    except OSError as exc:
        for c in reversed(created):
            shutil.rmtree(c, ignore_errors=True)
        raise NeocusError(f"cannot write here: {exc.strerror}", where=parent) from None
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        if out.exists() and any(out.iterdir()):  # replace: the old dataset goes only once the new one is whole
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
            os.replace(out, old / "previous")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
            return
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for c in reversed(created):
            shutil.rmtree(c, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------------
# One case
# --------------------------------------------------------------------------------------------------

MASKS_DIR = "masks"
TRUTH_FILE = "truth.json"
FAKE_MARK = "SIMULATED IMAGE - NEOCUS PHANTOM - NOT PATIENT DATA"
SWEEP_SUFFIX = {SweepFormat.MP4: ".mp4", SweepFormat.DICOM: ".dcm"}
CENTER_OF_POPULATION = {"internal": "PHANTOM-A", "external": "PHANTOM-B", "blind": "PHANTOM-C"}


def sweep_file_name(plane: Plane, sweep_format: SweepFormat | str) -> str:
    """``coronal.mp4`` / ``sagittal.dcm``...: ``mixed`` writes coronal as MP4 and sagittal as DICOM."""
    fmt = parse_choice(SweepFormat, sweep_format, what="sweep_format")
    if fmt is SweepFormat.MIXED:
        fmt = SweepFormat.MP4 if plane is Plane.CORONAL else SweepFormat.DICOM
    return f"{plane.value}{SWEEP_SUFFIX[fmt]}"


# Approximate median birth weight (kg) by gestational age (weeks), after the Fenton growth charts.
_BIRTH_WEIGHT_GA = (24.0, 28.0, 32.0, 36.0, 40.0, 42.0)
_BIRTH_WEIGHT_KG = (0.65, 1.15, 1.8, 2.7, 3.5, 3.75)


def fake_patient(case_id: str, *, male: bool, ga_weeks: float, age_days: int, rng: np.random.Generator) -> dict[str, str]:
    """Realistic-looking but FAKE DICOM patient / study tags (the name and comments say so)."""
    birth = datetime.date(2020, 1, 1) + datetime.timedelta(days=int(rng.integers(0, 5 * 365)))
    study = birth + datetime.timedelta(days=int(age_days))
    hh, mm, ss = int(rng.integers(7, 20)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
    weight_kg = float(np.interp(ga_weeks, _BIRTH_WEIGHT_GA, _BIRTH_WEIGHT_KG)) * float(np.exp(rng.normal(0, 0.12)))
    return {
        "PatientName": f"FAKE^PHANTOM^{case_id}",
        "PatientID": f"FAKE-{case_id}",
        "PatientBirthDate": birth.strftime("%Y%m%d"),
        "PatientSex": "M" if male else "F",
        "PatientAge": f"{int(age_days):03d}D",
        "PatientWeight": f"{weight_kg:.2f}",
        "PatientIdentityRemoved": "YES",
        "DeidentificationMethod": "neocus phantom: synthetic subject, fake identifiers",
        "StudyDate": study.strftime("%Y%m%d"),
        "StudyTime": f"{hh:02d}{mm:02d}{ss:02d}",
        "ContentDate": study.strftime("%Y%m%d"),
        "ContentTime": f"{hh:02d}{mm:02d}{ss:02d}",
        "StudyID": f"{int(rng.integers(1, 99999)):05d}",
        "AccessionNumber": f"FAKE{int(rng.integers(10**6, 10**7))}",
        "ImageComments": FAKE_MARK,
        "BodyPartExamined": "HEAD",
    }


def _box_fields(box: RotatedBox, crop: CropRecord | None) -> dict[str, float]:
    """A box in the stored frame's pixels (mapped onto the screen capture when there is one)."""
    cx, cy, w, h, a = box.as_tuple()
    if crop is not None:
        (cx, cy), = crop.to_source(np.array([[cx, cy]]))
        w, h = w / crop.scale, h / crop.scale
    angle = round(float(a), 2)
    if angle >= 90.0:  # rounding must not leave the convention's [-90, 90)
        angle -= 180.0
    return {"cx": round(float(cx), 2), "cy": round(float(cy), 2), "w": round(float(w), 2), "h": round(float(h), 2), "angle": angle}


def _frame_annotation(index: int, truth: FrameTruth, crop: CropRecord | None) -> FrameAnnotation:
    return FrameAnnotation(
        frame=index,
        boxes=[BoxAnnotation(label=b.structure, **_box_fields(b.box, crop)) for b in truth.boxes],
        lesions=[LesionBoxAnnotation(label=b.kind, **_box_fields(b.box, crop)) for b in truth.lesions],
        view=truth.view,
        view_quality=round(truth.quality[truth.view], 4) if truth.view is not None else None,
    )


def png_bytes(image: np.ndarray) -> bytes:
    """A greyscale (or label-map) uint8 image as PNG bytes (deterministic for the same pixels)."""
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 greyscale
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _uid(*parts: object) -> str:
    return generate_uid(entropy_srcs=["neocus-phantom", *(str(p) for p in parts)])


def write_simulated_case(root: Path, case: SimulatedCase, *, sweep_format: SweepFormat | str = SweepFormat.MIXED, screen: bool = False, seed: int = 0) -> CaseRecord:
    """Write one simulated case under ``root/cases/<case_id>/`` (layout in the module docstring)."""
    folder = case_dir(root, case.case_id)
    folder.mkdir(parents=True, exist_ok=True)
    subject = case.subject
    meta_rng = np.random.default_rng(case.screen_seed)
    age_days = int(meta_rng.integers(1, 29))
    tags = fake_patient(case.case_id, rng=meta_rng, male=subject.male, ga_weeks=subject.ga_weeks, age_days=age_days)
    population = case.extra.get("population", case.preset_name)
    center = CENTER_OF_POPULATION.get(population, "PHANTOM")

    truth: dict[str, Any] = {
        "generator": "neocus.phantom",
        "not_patient_data": True,
        "subject": subject.labels(),
        "preset": json.loads(case.preset.model_dump_json()),
        "thresholds": {
            "view_quality": VIEW_QUALITY_THRESHOLD,
            "min_box_area_mm2": MIN_BOX_AREA_MM2,
            "min_lesion_area_mm2": MIN_LESION_AREA_MM2,
        },
        "views": {},
        "sweeps": {},
    }
    findings: dict[View, list[Finding]] = {}
    for view, still in case.stills.items():
        _write_bytes(view_image_path(folder, view), png_bytes(still.image))
        _write_bytes(folder / MASKS_DIR / f"{view.value}_lesion.png", png_bytes(still.lesion))
        _write_bytes(folder / MASKS_DIR / f"{view.value}_ventricles.png", png_bytes(still.ventricles.astype(np.uint8) * 255))
        findings[view] = sorted(still.findings, key=list(Finding).index)
        truth["views"][view.value] = {
            "quality": round(still.quality, 4),
            "findings": [f.value for f in findings[view]],
            "pixel_spacing_mm": [round(float(x), 5) for x in still.frame.pixel_spacing_mm],
            "plane": _plane_json(still.frame.plane),
            "boxes": [{"label": b.structure.value, "side": b.side.value, **_box_fields(b.box, None)} for b in still.truth.boxes],
            "lesions": [{"label": b.kind.value, **_box_fields(b.box, None)} for b in still.truth.lesions],
        }

    sweeps: dict[str, Plane] = {}
    view_frames: dict[View, ViewFrame] = {}
    for plane, sweep in case.sweeps.items():
        name = sweep_file_name(plane, sweep_format)
        stem = name.rsplit(".", 1)[0]
        frames = sweep.frames
        crop: CropRecord | None = None
        if screen:
            caps = [
                compose_screen(dataclasses.replace(rf, image=img), rng=np.random.default_rng(case.screen_seed))
                for rf, img in zip(sweep.rendered, frames)
            ]
            frames = np.stack([c.image for c in caps])
            crop = caps[0].crop
        if name.endswith(".mp4"):
            write_video(folder / name, frames, sweep.plan.fps)
        else:
            # one screen pixel covers ``crop.scale`` frame pixels
            scale = 1.0 if crop is None else crop.scale
            spacing = (sweep.spacing_mm[0] * scale, sweep.spacing_mm[1] * scale)
            dtags = {
                **tags,
                "StudyInstanceUID": _uid(seed, case.case_id, "study"),
                "SeriesInstanceUID": _uid(seed, case.case_id, stem, "series"),
                "SOPInstanceUID": _uid(seed, case.case_id, stem, "instance"),
                "SeriesDescription": f"{plane.value} sweep (phantom)",
                "StudyDescription": "Cranial ultrasound (phantom)",
                "Manufacturer": "neocus phantom",
                "ManufacturerModelName": case.preset.scanner[:64],
                "TransducerData": case.preset.probe[:64],
                "InstitutionName": center,
                "BurnedInAnnotation": "YES" if screen else "NO",
            }
            write_dicom_cine(folder / name, frames, sweep.plan.fps, spacing_mm=spacing, tags=dtags)
        sweeps[name] = plane
        write_annotations(folder, name, [_frame_annotation(i, t, crop) for i, t in enumerate(sweep.truth)])
        _write_bytes(folder / MASKS_DIR / f"{stem}.npz", npz_bytes({"lesion": sweep.lesion, "ventricles": sweep.ventricles}))
        for view, win in sweep.windows.items():
            if win is not None:
                view_frames[view] = ViewFrame(sweep=name, frame=win.best_frame)
        truth["sweeps"][name] = {
            "plane": plane.value,
            "direction": sweep.plan.direction.value,
            "style": sweep.plan.style,
            "fps": sweep.plan.fps,
            "n_frames": int(frames.shape[0]),
            "pixel_spacing_mm": [round(float(x), 5) for x in sweep.spacing_mm],
            "screen_crop": None if crop is None else {"x": crop.x, "y": crop.y, "w": crop.w, "h": crop.h, "scale": round(crop.scale, 6)},
            "masks": f"{MASKS_DIR}/{stem}.npz",
            "view_windows": {
                v.value: (None if w is None else {"start": w.start, "end": w.end, "best_frame": w.best_frame, "best_quality": round(w.best_quality, 4)})
                for v, w in sweep.windows.items()
            },
            "quality": {v.value: [round(float(x), 4) for x in q] for v, q in sweep.quality.items()},
            "motion": rounded(sweep.plan.motion, 4),
        }

    labels = CaseLabels.derive(subject.ivh_grade, findings=findings or None, view_frames=view_frames)
    record = CaseRecord(
        case_id=case.case_id,
        sweeps=sweeps,
        metadata=CaseMetadata(
            subject=case.case_id,
            ga_weeks=round(float(subject.ga_weeks), 1),
            sex=Sex.MALE if subject.male else Sex.FEMALE,
            age_days=float(age_days),
            center=center,
            probe=case.preset.probe[:64],
            scanner=case.preset.scanner[:64],
        ),
        labels=labels,
    )
    truth["labels_from_stills"] = json.loads(labels.model_dump_json(exclude_none=True))
    atomic_write_text(folder / TRUTH_FILE, json.dumps(_finite(truth), indent=1, allow_nan=False) + "\n")
    write_case(root, record)
    return record


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN / infinite floats (e.g. a measurement that does not exist) become null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _plane_json(plane: ImagePlane) -> dict[str, list[float]]:
    return {k: [round(float(x), 5) for x in getattr(plane, k)] for k in ("apex", "lateral", "axial")}


# --------------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------------


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def _simulate_and_write(args: tuple[SimulationConfig, int, bool | None, str]) -> str:
    """Worker task: simulate case ``index`` and write it under ``root``; returns its case.json text."""
    config, index, severe, root = args
    case = simulate_case(
        case_seed(config.seed, index),
        case_id=CASE_ID_FORMAT.format(index=index),
        preset=config.preset,
        severe=severe,
        out_size_hw=config.out_size_hw(),
        sweeps=config.sweeps,
        sweep_frames=config.sweep_frames,
        keep_frames=config.screen,
    )
    record = write_simulated_case(Path(root), case, sweep_format=config.sweep_format, screen=config.screen, seed=config.seed)
    return record.model_dump_json()


def simulate_dataset(
    out: str | Path, config: SimulationConfig, *, progress: Callable[[int, int], None] | None = None, replace: bool = False
) -> Path:
    """Simulate ``config.cases`` cases into a new dataset folder ``out`` (atomically); returns ``out``.

    ``progress(done, total)`` is called after every case. ``replace``: ``out`` may be an existing neocus
    dataset, replaced when the new one is complete (any other non-empty folder is refused).
    """
    import neocus
    from neocus.data import DatasetRecord, Provenance, write_dataset_json
    from neocus.data.splits import make_splits

    config.check()
    out = Path(out)
    targets = severity_targets(config.cases, config.severe_fraction, seed=config.seed)
    with atomic_output_dir(out, replace=replace) as tmp:
        tasks = [(config, i, targets[i], str(tmp)) for i in range(config.cases)]
        records: list[CaseRecord] = []
        with ExitStack() as stack:
            results: Iterator[str]
            if config.workers == 1 or config.cases == 1:
                results = map(_simulate_and_write, tasks)
            else:
                pool = stack.enter_context(
                    mp.get_context("spawn").Pool(min(config.workers, config.cases), initializer=_init_worker)
                )
                results = pool.imap(_simulate_and_write, tasks)
            for text in results:
                records.append(CaseRecord.model_validate_json(text))
                if progress:
                    progress(len(records), config.cases)
        n_folds = min(N_FOLDS, len(records))
        splits = (
            make_splits(records, n_folds=n_folds, test_fraction=None, seed=config.seed) if n_folds >= 2 else None
        )
        params: dict[str, Any] = {
            "cases": config.cases,
            "severe_fraction": config.severe_fraction,
            "frame_size": list(config.frame_size_wh) if config.frame_size_wh else None,  # (W, H); the file key predates the name
            "sweep_frames": config.sweep_frames,
            "sweeps": config.sweeps,
            "sweep_format": config.sweep_format,
            "screen": config.screen,
            **config.extra,
        }
        record = DatasetRecord(
            name=config.name or f"phantom-{config.preset}-seed{config.seed}",
            description=(
                "Simulated neonatal cranial ultrasound from the neocus phantom (synthetic subjects, fake "
                "patient tags; not patient data). Models trained on it are not a clinical device."
            ),
            provenance=Provenance(
                generator="neocus.phantom",
                version=neocus.__version__,
                seed=config.seed,
                preset=config.preset,
                parameters=json.loads(json.dumps(params)),
            ),
            cases=sorted(r.case_id for r in records),
            splits=splits,
        )
        write_dataset_json(tmp, record)
    return out
