"""Check a dataset folder against the format and report EVERY problem, each with its file and field.

:func:`validate_dataset` never stops at the first problem and never raises for a bad dataset; it
returns a list of :class:`Problem` (empty = clean). ``file`` is relative to the dataset folder (POSIX
separators), ``field`` a JSON path inside that file (``labels.findings.AHV[0]``; for annotation files
``line 3: boxes[0].h``; empty when the problem is the whole file), ``message`` says what is wrong.

Sweeps are probed cheaply with :func:`neocus.io.probe`: the format is sniffed from the content and the
frame count and size read from the header or container (video frame count, DICOM Number of Frames,
number of stills in a folder) without decoding pixels; a sweep ``neocus.io.load_sweep`` would refuse
before decoding is reported with the same words. The count checks annotated and view frame indices,
the size the annotation boxes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from neocus.data.dataset import read_json, view_image_path
from neocus.data.schema import (
    ANNOTATION_SUFFIX,
    ANNOTATIONS_DIR,
    CASE_FILE,
    CASES_DIR,
    DATASET_FILE,
    SCHEMA_VERSION,
    SKIP_RULES,
    VIEW_IMAGE_SUFFIX,
    VIEWS_DIR,
    CaseRecord,
    DatasetRecord,
    FrameAnnotation,
    Splits,
    _stem,
    case_rule_problems,
    format_loc,
    split_rule_problems,
)
from neocus.errors import DatasetError, InputFileError
from neocus.io import SweepInfo, probe
from neocus.results import AsDict
from neocus.vocab import VIEW_PLANE, View

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Problem(AsDict):
    """One thing wrong with a dataset: which file, which field in it, and what."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


class _Report:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix() or "."
        except ValueError:
            return str(path)

    def add(self, path: Path, field: str, message: str) -> None:
        self.problems.append(Problem(self.rel(path), field, message))


def validate_dataset(
    path: str | Path, *, probe_sweeps: bool = True, progress: Callable[[int, int], None] | None = None
) -> list[Problem]:
    """Every problem of the dataset at ``path`` (empty list = valid). Never raises for bad content.

    ``probe_sweeps``: open sweep files (header only) to check their format and frame count.
    ``progress(done, total)`` is called after each case folder is checked.
    """
    root = Path(path)
    report = _Report(root)
    if not root.is_dir():
        report.problems.append(Problem(str(root), "", "dataset folder not found" if not root.exists() else "not a folder"))
        return report.problems

    record = _check_json_record(report, root / DATASET_FILE, DatasetRecord)
    listed = list(record.cases) if isinstance(record, DatasetRecord) and record.cases is not None else None

    cases_dir = root / CASES_DIR
    folders: list[Path] = []
    if not cases_dir.is_dir():
        report.add(cases_dir, "", "cases folder missing")
    else:
        for entry in sorted(cases_dir.iterdir()):
            if entry.name.startswith("."):
                continue
            if not entry.is_dir():
                report.add(entry, "", "stray file in cases/ (each case is a folder)")
            elif not (entry / CASE_FILE).is_file():
                report.add(entry / CASE_FILE, "", "case folder has no case.json")
            else:
                folders.append(entry)

    folder_names = {f.name for f in folders}
    if listed is not None:
        seen: set[str] = set()
        for i, case_id in enumerate(listed):
            if case_id in seen:
                report.add(root / DATASET_FILE, f"cases[{i}]", f"case id '{case_id}' listed twice")
            seen.add(case_id)
            if case_id not in folder_names:
                report.add(root / DATASET_FILE, f"cases[{i}]", f"listed case '{case_id}' has no cases/{case_id}/case.json")
        for f in folders:
            if f.name not in seen:
                report.add(f, "", f"case folder not listed in {DATASET_FILE} cases")

    known_ids: set[str] = set()
    id_owner: dict[str, Path] = {}
    for done, folder in enumerate(folders, start=1):
        case = _check_case(report, folder, probe_sweeps=probe_sweeps)
        known_ids.add(folder.name)
        if progress is not None:
            progress(done, len(folders))
        if case is None:
            continue
        other = id_owner.get(case.case_id)
        if other is not None:
            report.add(folder / CASE_FILE, "case_id", f"case id '{case.case_id}' is also used by {report.rel(other / CASE_FILE)}")
        else:
            id_owner[case.case_id] = folder

    if isinstance(record, DatasetRecord) and record.splits is not None:
        universe = set(listed) & known_ids if listed is not None else known_ids
        _check_splits(report, root / DATASET_FILE, record.splits, universe)
    return report.problems


def _load_json(report: _Report, path: Path) -> Any:
    """Parsed JSON of ``path`` or None (problem recorded)."""
    try:
        return read_json(path)
    except DatasetError as exc:
        report.add(path, "", exc.what)
        return None


def _check_json_record(report: _Report, path: Path, model: type[BaseModel]) -> Any:
    """Validate a JSON record, reporting each field error; label rules are left to the caller."""
    data = _load_json(report, path)
    if data is None:
        return None
    if not isinstance(data, dict):
        report.add(path, "", f"expected a JSON object, found {type(data).__name__}")
        return None
    version = data.get("schema_version")
    if "schema_version" not in data and model is DatasetRecord:
        report.add(path, "schema_version", f"missing (expected '{SCHEMA_VERSION}')")
    elif "schema_version" in data and version != SCHEMA_VERSION:
        report.add(path, "schema_version", f"unsupported schema version {version!r} (this neocus reads '{SCHEMA_VERSION}')")
    checked = {**data, "schema_version": SCHEMA_VERSION}
    try:
        return model.model_validate(checked, context={SKIP_RULES: True})
    except ValidationError as exc:
        errors = exc.errors()
    for err in errors:
        report.add(path, format_loc(err["loc"]), _message(err))
    # Partial record: drop the optional top-level fields that failed, so that the rest (sweeps,
    # splits, annotations...) is still checked. A failed required field leaves no record.
    bad = {err["loc"][0] if err["loc"] else None for err in errors}
    optional = {name for name, info in model.model_fields.items() if not info.is_required()}
    if not bad <= optional:
        return None
    try:
        return model.model_validate({k: v for k, v in checked.items() if k not in bad}, context={SKIP_RULES: True})
    except ValidationError:
        return None


def _message(err: Any) -> str:
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] in ("missing", "extra_forbidden"):
        return "required field missing" if err["type"] == "missing" else "unknown field (not in the schema)"
    return msg


def _check_case(report: _Report, folder: Path, *, probe_sweeps: bool) -> CaseRecord | None:
    case_file = folder / CASE_FILE
    case = _check_json_record(report, case_file, CaseRecord)
    _check_views(report, folder)
    if case is None:
        return None
    if case.case_id != folder.name:
        report.add(case_file, "case_id", f"'{case.case_id}' differs from its folder name '{folder.name}'")
    for field, message in case_rule_problems(case):
        report.add(case_file, field, message)

    probes: dict[str, SweepInfo | None] = {}  # None: not probed, or not readable
    for name in case.sweeps:
        sweep = folder / name
        if not sweep.exists():
            report.add(case_file, f"sweeps.{name}", f"sweep file {name} missing from the case folder")
            continue
        probes[name] = _probe(report, case_file, name, sweep) if probe_sweeps else None

    if case.labels is not None:
        for view, where in case.labels.view_frames.items():
            info = probes.get(where.sweep)
            count = info.frames if info else None
            if count is not None and where.frame >= count:
                report.add(case_file, f"labels.view_frames.{view.value}.frame", f"frame {where.frame} beyond the sweep's {count} frames")

    _check_annotations(report, folder, case, probes)
    return case


def _probe(report: _Report, case_file: Path, name: str, sweep: Path) -> SweepInfo | None:
    """The sweep's header facts, or ``None`` with the reason it is not readable reported."""
    try:
        return probe(sweep)
    except InputFileError as exc:
        reason = exc.what
    except Exception as exc:  # noqa: BLE001  a validator reports, it never crashes on a bad file
        reason = f"{type(exc).__name__}: {exc}"
    report.add(case_file, f"sweeps.{name}", f"sweep {name} is not readable: {reason}")
    return None


def _check_views(report: _Report, folder: Path) -> None:
    views_dir = folder / VIEWS_DIR
    if not views_dir.is_dir():
        return
    names = {view_image_path(folder, v).name for v in View}
    for entry in sorted(views_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.name not in names:
            report.add(entry, "", f"not a standard view image: name it <VIEW>{VIEW_IMAGE_SUFFIX} with VIEW one of {', '.join(v.value for v in View)}")
            continue
        try:
            with open(entry, "rb") as fh:
                head = fh.read(len(_PNG_MAGIC))
        except OSError as exc:
            report.add(entry, "", f"cannot read: {exc}")
            continue
        if head != _PNG_MAGIC:
            report.add(entry, "", "not a PNG image")


def _check_annotations(report: _Report, folder: Path, case: CaseRecord, probes: dict[str, SweepInfo | None]) -> None:
    ann_dir = folder / ANNOTATIONS_DIR
    if not ann_dir.is_dir():
        return
    sweep_of_stem = {_stem(name): name for name in case.sweeps}
    for path in sorted(ann_dir.iterdir()):
        if path.name.startswith("."):
            continue
        if path.suffix != ANNOTATION_SUFFIX or not path.is_file():
            report.add(path, "", f"not an annotation file (expected <sweep stem>{ANNOTATION_SUFFIX})")
            continue
        sweep = sweep_of_stem.get(path.stem)
        if sweep is None:
            report.add(path, "", f"no sweep named '{path.stem}.*' in case.json sweeps")
        info = probes.get(sweep) if sweep else None
        count = info.frames if info else None
        size = (info.height, info.width) if info else None
        plane = case.sweeps.get(sweep) if sweep else None
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            report.add(path, "", f"cannot read: {exc}")
            continue
        first_line: dict[int, int] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            at = f"line {number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                report.add(path, at, f"not valid JSON: {exc.msg}")
                continue
            try:
                ann = FrameAnnotation.model_validate(data)
            except ValidationError as exc:
                for err in exc.errors():
                    report.add(path, f"{at}: {format_loc(err['loc'])}", _message(err))
                continue
            if ann.frame in first_line:
                report.add(path, f"{at}: frame", f"frame {ann.frame} annotated twice (first on line {first_line[ann.frame]})")
            else:
                first_line[ann.frame] = number
            if count is not None and ann.frame >= count:
                report.add(path, f"{at}: frame", f"frame {ann.frame} beyond the sweep's {count} frames")
            if ann.view is not None and plane is not None and VIEW_PLANE[ann.view] is not plane:
                report.add(path, f"{at}: view", f"view {ann.view.value} is {VIEW_PLANE[ann.view].value} but the sweep is {plane.value}")
            if size is not None:
                for field, boxes in (("boxes", ann.boxes), ("lesions", ann.lesions)):
                    for i, box in enumerate(boxes):
                        if not (0.0 <= box.cx <= size[1] and 0.0 <= box.cy <= size[0]):
                            report.add(
                                path, f"{at}: {field}[{i}]",
                                f"box centre ({box.cx:g}, {box.cy:g}) outside the {size[1]}x{size[0]} frame "
                                "(boxes are in pixels of the frame as stored)",
                            )
            if ann.mask is not None and not (folder / ann.mask).is_file():
                report.add(path, f"{at}: mask", f"mask file {ann.mask} missing")


def _check_splits(report: _Report, path: Path, splits: Splits, known: set[str]) -> None:
    for field, message in split_rule_problems(splits):
        report.add(path, field, message)
    lists = [("splits.train", splits.train), ("splits.test", splits.test)]
    lists += [(f"splits.folds.{k}", ids) for k, ids in splits.folds.items()]
    for field, ids in lists:
        for i, case_id in enumerate(ids):
            if case_id not in known:
                report.add(path, f"{field}[{i}]", f"unknown case '{case_id}'")
