"""Reading and writing neocus datasets (layout and schema in :mod:`neocus.data.schema`).

Writers are atomic (temp file in the same folder, then rename) and canonical: the same record always
writes the same bytes (2-space indented JSON, keys in schema order, maps in canonical order, a final
newline; annotation lines are compact JSON sorted by frame). Readers raise :class:`DatasetError` with the
file and field at fault; ``neocus validate`` (:func:`neocus.data.validate.validate_dataset`) reports
every problem at once instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from neocus.data.schema import (
    ANNOTATION_SUFFIX,
    ANNOTATIONS_DIR,
    CASE_FILE,
    CASES_DIR,
    DATASET_FILE,
    VIEW_IMAGE_SUFFIX,
    VIEWS_DIR,
    CaseRecord,
    DatasetRecord,
    FrameAnnotation,
    Splits,
    _stem,
    case_rule_problems,
    format_loc,
    is_valid_id,
)
from neocus.atomic import atomic_write_text
from neocus.errors import DatasetError
from neocus.io.types import Sweep
from neocus.vocab import Plane, View

# --------------------------------------------------------------------------------------------------
# Serialisation
# --------------------------------------------------------------------------------------------------


def record_json(record: BaseModel) -> str:
    """Canonical JSON text of a record (indent 2, schema key order, None fields left out, final newline)."""
    data = record.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def annotation_line(annotation: FrameAnnotation) -> str:
    """One compact JSON line (no newline) of a frame annotation; empty lists and None fields left out."""
    data = annotation.model_dump(mode="json", exclude_none=True)
    if not data.get("lesions"):
        data.pop("lesions", None)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _validation_where(exc: ValidationError) -> str:
    return format_loc(exc.errors()[0]["loc"]) or "(record)"


def read_json(path: Path) -> Any:
    """Parsed JSON of one file; a missing / unreadable / invalid file raises DatasetError (file and reason)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError("file not found", where=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read: {exc}", where=path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", where=path) from None


def read_json_record(path: Path, model: type[BaseModel], *, context: dict[str, Any] | None = None) -> Any:
    """Parse one JSON file as ``model``; a missing / unreadable / invalid file raises DatasetError."""
    path = Path(path)
    data = read_json(path)
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DatasetError(
            f"field {_validation_where(exc)}: {first['msg']}{more}", where=path, hint="run `neocus validate` for every problem"
        ) from None


# --------------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------------


def case_dir(dataset_dir: str | Path, case_id: str) -> Path:
    """Folder of one case: ``DATASET/cases/<case_id>``. Rejects ids outside the safe charset."""
    if not is_valid_id(case_id):
        raise DatasetError(f"invalid case id {case_id!r} (letters, digits, '_', '.', '-'; 1-64 characters)")
    return Path(dataset_dir) / CASES_DIR / case_id


def view_image_path(case_folder: str | Path, view: View) -> Path:
    """``<case>/views/<VIEW>.png``."""
    return Path(case_folder) / VIEWS_DIR / f"{View(view).value}{VIEW_IMAGE_SUFFIX}"


def annotation_path(case_folder: str | Path, sweep_name: str) -> Path:
    """``<case>/annotations/<sweep stem>.jsonl`` for a sweep file name."""
    return Path(case_folder) / ANNOTATIONS_DIR / f"{_stem(sweep_name)}{ANNOTATION_SUFFIX}"


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def write_dataset_json(dataset_dir: str | Path, record: DatasetRecord) -> Path:
    """Write ``DATASET/dataset.json`` atomically (and create ``cases/``); returns the file's path."""
    root = Path(dataset_dir)
    (root / CASES_DIR).mkdir(parents=True, exist_ok=True)
    path = root / DATASET_FILE
    atomic_write_text(path, record_json(record))
    return path


def write_case(dataset_dir: str | Path, record: CaseRecord) -> Path:
    """Write ``cases/<case_id>/case.json`` atomically; returns the case folder (sweeps go beside it).

    The label rules are checked again (a record parsed with the rules switched off may break them),
    so what is written always re-reads; a broken rule raises DatasetError and writes nothing.
    """
    broken = case_rule_problems(record)
    if broken:
        field, message = broken[0]
        raise DatasetError(f"field {field}: {message}", where=f"case {record.case_id}", hint="labels must follow neocus.vocab's rules")
    folder = case_dir(dataset_dir, record.case_id)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / CASE_FILE, record_json(record))
    return folder


def write_annotations(case_folder: str | Path, sweep_name: str, annotations: Iterable[FrameAnnotation]) -> Path:
    """Write all annotations of one sweep (sorted by frame; one line per frame) atomically.

    Raises DatasetError when two annotations name the same frame.
    """
    items = sorted(annotations, key=lambda a: a.frame)
    path = annotation_path(case_folder, sweep_name)
    dup = _repeated(a.frame for a in items)
    if dup:
        raise DatasetError(f"frames annotated twice: {dup}", where=path)
    atomic_write_text(path, "".join(annotation_line(a) + "\n" for a in items))
    return path


def _repeated(values: Iterable[Any]) -> list[Any]:
    """The values that occur more than once, sorted."""
    return sorted(v for v, n in Counter(values).items() if n > 1)


def append_annotation(case_folder: str | Path, sweep_name: str, annotation: FrameAnnotation) -> Path:
    """Add one frame's annotation to a sweep's file (rewritten atomically, kept sorted by frame)."""
    path = annotation_path(case_folder, sweep_name)
    existing = read_annotations(path) if path.exists() else []
    return write_annotations(case_folder, sweep_name, [*existing, annotation])


def write_splits(dataset_dir: str | Path, splits: Splits) -> Path:
    """Store ``splits`` in an existing ``dataset.json`` (rewritten atomically)."""
    root = Path(dataset_dir)
    record = read_json_record(root / DATASET_FILE, DatasetRecord)
    return write_dataset_json(root, record.model_copy(update={"splits": splits}))


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def read_case(path: str | Path) -> CaseRecord:
    """Read one ``case.json`` (a file or its case folder)."""
    p = Path(path)
    return read_json_record(p / CASE_FILE if p.is_dir() else p, CaseRecord)


def read_annotations(path: str | Path) -> list[FrameAnnotation]:
    """Read an annotation ``.jsonl`` file; blank lines are skipped; errors name the line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError("file not found", where=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read: {exc}", where=path) from None
    out: list[FrameAnnotation] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(FrameAnnotation.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise DatasetError(f"line {number}, field {_validation_where(exc)}: {first['msg']}", where=path) from None
    return out


def discover_case_ids(dataset_dir: str | Path) -> list[str]:
    """Names of the folders under ``cases/`` that hold a ``case.json``, sorted."""
    cases = Path(dataset_dir) / CASES_DIR
    if not cases.is_dir():
        return []
    return sorted(p.name for p in cases.iterdir() if p.is_dir() and (p / CASE_FILE).is_file())


@dataclass(frozen=True)
class CaseEntry:
    """One case of a loaded dataset: its record and its folder, with paths to what lies in it."""

    record: CaseRecord
    folder: Path

    @property
    def case_id(self) -> str:
        return self.record.case_id

    def sweep_path(self, name: str) -> Path:
        if name not in self.record.sweeps:
            raise DatasetError(f"case {self.case_id} has no sweep {name!r}", where="name", hint=f"sweeps: {sorted(self.record.sweeps)}")
        return self.folder / name

    def sweep_paths(self, *, plane: Plane | None = None) -> dict[str, Path]:
        """Sweep file name -> path, optionally only those of one plane."""
        return {n: self.folder / n for n, p in self.record.sweeps.items() if plane is None or p is Plane(plane)}

    def load_sweep(self, name: str, **kwargs: Any) -> Sweep:
        """Decode one of the case's sweeps with :func:`neocus.io.load_sweep` (keyword options passed on)."""
        from neocus.io import load_sweep

        return load_sweep(self.sweep_path(name), **kwargs)

    def view_image_path(self, view: View) -> Path:
        return view_image_path(self.folder, view)

    def view_images(self) -> dict[View, Path]:
        """Standard-view stills present on disk, in sweep order."""
        return {v: p for v in View if (p := view_image_path(self.folder, v)).is_file()}

    def annotation_path(self, sweep_name: str) -> Path:
        return annotation_path(self.folder, sweep_name)

    def annotations(self, sweep_name: str) -> list[FrameAnnotation]:
        """Annotations of one sweep ([] when the sweep has no annotation file)."""
        path = self.annotation_path(self.sweep_path(sweep_name).name)
        return read_annotations(path) if path.is_file() else []


class Dataset:
    """A dataset folder, loaded: ``dataset.json`` plus every case's ``case.json``.

    Loading checks that each case parses (labels rules included) and that its folder is named by its
    case id; it does not open sweeps. Cases are ordered by case id.
    """

    def __init__(self, root: Path, record: DatasetRecord, cases: Sequence[CaseEntry]):
        self.root = root
        self.record = record
        self._cases = {c.case_id: c for c in cases}

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        root = Path(path)
        if not root.exists():
            raise DatasetError("dataset folder not found", where=root)
        if not root.is_dir():
            raise DatasetError("not a folder (a dataset is a folder holding dataset.json and cases/)", where=root)
        record = read_json_record(root / DATASET_FILE, DatasetRecord)
        ids = list(record.cases) if record.cases is not None else discover_case_ids(root)
        dup = _repeated(ids)
        if dup:
            raise DatasetError(f"field cases: case ids listed twice: {', '.join(dup)}", where=root / DATASET_FILE)
        entries = []
        for case_id in sorted(ids):
            folder = case_dir(root, case_id)
            case = read_json_record(folder / CASE_FILE, CaseRecord)
            if case.case_id != case_id:
                raise DatasetError(
                    f"field case_id: '{case.case_id}' differs from its folder name '{case_id}'", where=folder / CASE_FILE
                )
            entries.append(CaseEntry(case, folder))
        return cls(root, record, entries)

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def splits(self) -> Splits | None:
        return self.record.splits

    @property
    def case_ids(self) -> list[str]:
        return list(self._cases)

    @property
    def cases(self) -> list[CaseEntry]:
        return list(self._cases.values())

    def case(self, case_id: str) -> CaseEntry:
        try:
            return self._cases[case_id]
        except KeyError:
            raise DatasetError(f"no case '{case_id}' in the dataset", where=self.root) from None

    def fold(self, k: int) -> tuple[list[CaseEntry], list[CaseEntry]]:
        """(training, validation) cases of cross-validation fold ``k`` of the stored splits."""
        splits = self._require_splits()
        if k not in splits.folds:
            raise DatasetError(f"no fold {k} in the stored splits (folds: {sorted(splits.folds)})", where=self.root / DATASET_FILE)
        return self.subset(splits.fold_train(k)), self.subset(splits.folds[k])

    def test_cases(self) -> list[CaseEntry]:
        """The held-out test cases of the stored splits."""
        return self.subset(self._require_splits().test)

    def _require_splits(self) -> Splits:
        if self.record.splits is None:
            raise DatasetError("the dataset has no splits", where=self.root / DATASET_FILE, hint="draw them with neocus.data.splits.make_splits")
        return self.record.splits

    def subset(self, case_ids: Iterable[str]) -> list[CaseEntry]:
        """Entries of the given ids, in the given order (unknown ids raise DatasetError)."""
        return [self.case(c) for c in case_ids]

    def __iter__(self) -> Iterator[CaseEntry]:
        return iter(self._cases.values())

    def __len__(self) -> int:
        return len(self._cases)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._cases

    def __repr__(self) -> str:
        return f"Dataset({str(self.root)!r}, name={self.name!r}, cases={len(self)})"
