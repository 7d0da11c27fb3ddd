"""The fetal head phantom written as a dataset: the 2-D still variant of the neocus dataset format.

Layout (``neocus-fetal-still/1``, see docs/dataset-format.md)::

    DATASET/
      dataset.json            schema_version, name, provenance (generator, seed, parameters), label ids, case ids
      cases/<case_id>/
        image.png             the B-mode still, 8-bit grey, pixel size in the PNG's pHYs chunk (metres)
        labels.png            the label map, 8-bit, ids of dataset.json's "labels" (0 = outside the sector)
        case.json             plane, condition, GA, pixel size, the true sizes (mm), the head's sizes, pose, preset

Case ``i`` of seed ``s`` is drawn from its own generator ``numpy.random.default_rng([s, i])``, so a case
does not depend on how many cases are written, and the same seed writes the same bytes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neocus.atomic import atomic_dir, check_output_dir
from neocus.errors import DatasetError, NeocusError
from neocus.fetal.phantom_anatomy import LABEL_IDS
from neocus.fetal.phantom_params import GA_RANGE_WEEKS
from neocus.fetal.phantom_render import DEFAULT_OUT_SIZE_HW, FetalLook, FetalPhantomImage, simulate_fetal_image
from neocus.results import rounded
from neocus.vocab import FetalCondition, FetalPlane

SCHEMA_VERSION = "neocus-fetal-still/1"
GENERATOR = "neocus.fetal.phantom"
GENERATOR_VERSION = "1"
#: how often each plane and condition is drawn
PLANE_WEIGHTS = {FetalPlane.TRANS_THALAMIC: 0.25, FetalPlane.TRANS_VENTRICULAR: 0.25, FetalPlane.TRANS_CEREBELLAR: 0.3, FetalPlane.OTHER: 0.2}
CONDITION_WEIGHTS = {FetalCondition.NORMAL: 0.4, FetalCondition.CEREBELLAR_HYPOPLASIA: 0.2, FetalCondition.MEGA_CISTERNA_MAGNA: 0.2, FetalCondition.VENTRICULOMEGALY: 0.2}
MAX_CASES = 100_000


@dataclass(frozen=True)
class FetalCaseSpec:
    """What case ``index`` of a seed shows (drawn before its anatomy)."""

    index: int
    plane: FetalPlane
    condition: FetalCondition
    ga_weeks: float
    look: FetalLook

    @property
    def case_id(self) -> str:
        return f"fetal-{self.index:05d}"


def case_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(index)])


def case_spec(index: int, *, rng: np.random.Generator) -> FetalCaseSpec:
    """Draw plane, condition, GA (uniform 18-40 weeks) and look of one case."""
    planes, conds = list(PLANE_WEIGHTS), list(CONDITION_WEIGHTS)
    plane = planes[int(rng.choice(len(planes), p=list(PLANE_WEIGHTS.values())))]
    cond = conds[int(rng.choice(len(conds), p=list(CONDITION_WEIGHTS.values())))]
    ga = float(rng.uniform(*GA_RANGE_WEEKS))
    look = list(FetalLook)[int(rng.integers(len(FetalLook)))]
    return FetalCaseSpec(index=index, plane=plane, condition=cond, ga_weeks=ga, look=look)


def simulate_case(seed: int, index: int, *, out_size_hw: tuple[int, int] = DEFAULT_OUT_SIZE_HW) -> tuple[FetalCaseSpec, FetalPhantomImage]:
    """Case ``index`` of ``seed``: its spec and its rendered image."""
    rng = case_rng(seed, index)
    spec = case_spec(index, rng=rng)
    image = simulate_fetal_image(spec.ga_weeks, plane=spec.plane, condition=spec.condition, look=spec.look, out_size_hw=out_size_hw, rng=rng)
    return spec, image


def png_bytes(array: np.ndarray, *, pixel_mm: float | None = None) -> bytes:
    """An 8-bit grey PNG; with ``pixel_mm``, a pHYs chunk in pixels per metre (what ``fetal measure`` reads)."""
    from PIL import Image

    buf = io.BytesIO()
    img = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8), mode="L")
    if pixel_mm is not None:
        dpi = 25.4 / float(pixel_mm)
        img.save(buf, format="PNG", dpi=(dpi, dpi), optimize=False)
    else:
        img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def case_record(spec: FetalCaseSpec, image: FetalPhantomImage) -> dict:
    """The ``case.json`` content of one case."""
    return rounded({
        "schema_version": SCHEMA_VERSION,
        "case_id": spec.case_id,
        "image": "image.png",
        "labels": "labels.png",
        "plane": spec.plane,
        "condition": spec.condition,
        "ga_weeks": spec.ga_weeks,
        "pixel_mm": image.pixel_mm,
        "look": spec.look,
        "truth": image.truth.to_dict(),
        "head": image.params.to_dict(),
        "pose": {"centre_x_mm": image.pose.centre_x_mm, "centre_d_mm": image.pose.centre_d_mm, "angle_rad": image.pose.angle_rad, "mirrored": image.pose.mirrored},
        "preset": image.preset,
    }, 6)


def check_dataset_args(n_cases: int, seed: int, out_size_hw: tuple[int, int]) -> None:
    if isinstance(n_cases, bool) or not isinstance(n_cases, int) or not 1 <= n_cases <= MAX_CASES:
        raise NeocusError(f"number of cases {n_cases!r} must be a whole number from 1 to {MAX_CASES}", where="n_cases", hint="give e.g. 200")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise NeocusError(f"seed {seed!r} must be a whole number >= 0", where="seed", hint="give e.g. 0")
    h, w = out_size_hw
    if not (64 <= int(h) <= 2048 and 64 <= int(w) <= 2048):
        raise NeocusError(f"image size {out_size_hw!r} (H, W) is outside 64-2048 pixels", where="out_size_hw", hint="give e.g. (432, 576)")


def write_fetal_dataset(
    out_dir: str | Path,
    *,
    n_cases: int,
    seed: int,
    out_size_hw: tuple[int, int] = DEFAULT_OUT_SIZE_HW,
    name: str = "fetal-phantom",
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Simulate ``n_cases`` cases and write them as a ``neocus-fetal-still/1`` dataset (atomically)."""
    check_dataset_args(n_cases, seed, out_size_hw)
    out = Path(out_dir)
    check_output_dir(out, force=force, marker="dataset.json", kind="a neocus dataset")
    ids = []
    with atomic_dir(out) as tmp:
        for i in range(n_cases):
            spec, image = simulate_case(seed, i, out_size_hw=out_size_hw)
            case_dir = tmp / "cases" / spec.case_id
            case_dir.mkdir(parents=True)
            (case_dir / "image.png").write_bytes(png_bytes(image.image, pixel_mm=image.pixel_mm))
            (case_dir / "labels.png").write_bytes(png_bytes(image.labels))
            (case_dir / "case.json").write_text(json.dumps(case_record(spec, image), indent=1, sort_keys=True) + "\n", encoding="utf-8")
            ids.append(spec.case_id)
            if progress is not None:
                progress(i + 1, n_cases)
        record = {
            "schema_version": SCHEMA_VERSION,
            "name": name,
            "provenance": {"generator": GENERATOR, "version": GENERATOR_VERSION, "seed": seed,
                           "parameters": {"n_cases": n_cases, "out_size_hw": list(out_size_hw)}},
            "labels": {s.value: i for s, i in LABEL_IDS.items()},
            "cases": ids,
        }
        (tmp / "dataset.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return out


@dataclass(frozen=True)
class FetalCase:
    """One case of a fetal still dataset, as read back."""

    case_id: str
    image_path: Path
    labels_path: Path
    record: dict

    @property
    def plane(self) -> FetalPlane:
        return FetalPlane(self.record["plane"])

    @property
    def condition(self) -> FetalCondition:
        return FetalCondition(self.record["condition"])


def read_fetal_dataset(root: str | Path) -> list[FetalCase]:
    """The cases of a ``neocus-fetal-still/1`` dataset; a :class:`DatasetError` names what is wrong."""
    root = Path(root)
    meta = root / "dataset.json"
    if not meta.is_file():
        raise DatasetError("no dataset.json: not a neocus fetal dataset", where=root, hint="give a folder written by the fetal simulator")
    try:
        record = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"dataset.json cannot be read: {exc}", where=meta, hint="write the dataset again") from None
    if record.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(f"schema_version {record.get('schema_version')!r} is not {SCHEMA_VERSION}", where=meta, hint="give a fetal still dataset")
    cases = []
    for cid in record.get("cases", []):
        folder = root / "cases" / str(cid)
        try:
            case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"case.json of {cid} cannot be read: {exc}", where=folder, hint="write the dataset again") from None
        for key in ("image", "labels"):
            if not (folder / case.get(key, "")).is_file():
                raise DatasetError(f"{key} file of {cid} is missing", where=folder, hint="write the dataset again")
        cases.append(FetalCase(case_id=str(cid), image_path=folder / case["image"], labels_path=folder / case["labels"], record=case))
    return cases
