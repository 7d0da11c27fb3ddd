"""Reading the evaluation CSV files: a model's predictions and, optionally, radiologists' reads.

PRED.csv (one row per case)::

    case_id,label,score[,prediction][,<condition columns>][,<metadata columns>]

* ``case_id``: unique pseudonymous id; ``label``: 0/1 reference standard (1 = severe);
  ``score``: the model's probability of severe (any finite number, higher = more likely severe);
  ``prediction``: optional 0/1 call of the model (used when no threshold is asked for).
* Condition columns (optional, used for the per-condition matrices): one 0/1 column per image
  finding of :class:`neocus.vocab.Finding` (``normal``, ``ivh``, ``ependymal_cyst``,
  ``ventricular_dilation``, ``hydrocephalus``, ``pvl``) and/or ``ivh_grade`` (Papile grade 0-4).
* Every other column is metadata (e.g. ``ga_group``, ``probe``, ``center``), kept as text, usable for
  subgroup analyses. An empty metadata cell is allowed (the case is left out of that subgroup analysis).

READERS.csv (one row per read)::

    reader_id,group,case_id,call[,with_ai][,time_s]

* ``group``: the reader's experience group (e.g. junior / mid / senior); ``call``: 0/1 or an ordinal
  confidence such as 1-5 (higher = more likely severe); ``with_ai``: 0/1 (default 0);
  ``time_s``: reading time in seconds (optional, may be empty).
* Every ``case_id`` must appear in PRED.csv; a reader reads a case at most once per condition.

Any problem raises :class:`neocus.errors.InputFileError` naming the file, the column and the line
(line 1 is the header).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neocus.errors import InputFileError
from neocus.vocab import Finding, IvhGrade

PRED_REQUIRED: tuple[str, ...] = ("case_id", "label", "score")
READERS_REQUIRED: tuple[str, ...] = ("reader_id", "group", "case_id", "call")
IVH_GRADE_COLUMN = "ivh_grade"
FINDING_COLUMNS: tuple[str, ...] = tuple(f.value for f in Finding)


@dataclass(frozen=True, eq=False)
class Predictions:
    """A model's predictions on a test set (arrays aligned with ``case_ids``).

    ``prediction`` is None when the file has no prediction column. ``findings`` maps each finding
    column present to its 0/1 array; ``ivh_grade`` is None when absent. ``metadata`` maps every other
    column to its text values ("" where empty).
    """

    source: str
    case_ids: tuple[str, ...]
    label: np.ndarray
    score: np.ndarray
    prediction: np.ndarray | None
    findings: dict[str, np.ndarray]
    ivh_grade: np.ndarray | None
    metadata: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return len(self.case_ids)


@dataclass(frozen=True, eq=False)
class ReaderReads:
    """Readers' calls, one entry per read; ``case_index`` points into :class:`Predictions`."""

    source: str
    reader_id: np.ndarray
    group: np.ndarray
    case_index: np.ndarray
    call: np.ndarray
    with_ai: np.ndarray
    time_s: np.ndarray

    @property
    def n(self) -> int:
        return int(self.call.size)


def _read_rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[dict[str, str]]]:
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            if not header:
                raise InputFileError("empty file (no header line)", where=path)
            reader.fieldnames = header
            rows = []
            for row in reader:
                if None in row:
                    raise InputFileError(f"line {reader.line_num}: more fields than the header has", where=path)
                rows.append({k: (v or "").strip() for k, v in row.items()})
    except FileNotFoundError:
        raise InputFileError("file not found", where=path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(f"cannot read as CSV: {exc}", where=path) from None
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputFileError(f"duplicate column(s) {', '.join(dupes)}", where=path)
    missing = [c for c in required if c not in header]
    if missing:
        raise InputFileError(
            f"missing column(s) {', '.join(missing)}", where=path, hint=f"required columns: {', '.join(required)}"
        )
    if not rows:
        raise InputFileError("no data rows", where=path)
    return header, rows


def _bad(path: Path, line: int, column: str, what: str) -> InputFileError:
    return InputFileError(f"line {line}, column {column!r}: {what}", where=path)


def _number(path: Path, line: int, column: str, text: str) -> float:
    if text == "":
        raise _bad(path, line, column, "empty value")
    try:
        value = float(text)
    except ValueError:
        raise _bad(path, line, column, f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise _bad(path, line, column, f"not a finite number: {text!r}")
    return value


def _zero_one(path: Path, line: int, column: str, text: str) -> int:
    value = _number(path, line, column, text)
    if value not in (0.0, 1.0):
        raise _bad(path, line, column, f"must be 0 or 1, got {text!r}")
    return int(value)


def load_predictions(path: str | Path) -> Predictions:
    """Read and check PRED.csv (see module docstring)."""
    path = Path(path)
    header, rows = _read_rows(path, PRED_REQUIRED)
    has_pred = "prediction" in header
    finding_cols = [c for c in header if c in FINDING_COLUMNS]
    meta_cols = [c for c in header if c not in (*PRED_REQUIRED, "prediction", IVH_GRADE_COLUMN, *finding_cols)]
    case_ids: list[str] = []
    seen: dict[str, int] = {}
    label, score, pred, grade = [], [], [], []
    findings: dict[str, list[int]] = {c: [] for c in finding_cols}
    meta: dict[str, list[str]] = {c: [] for c in meta_cols}
    for i, row in enumerate(rows):
        line = i + 2
        cid = row["case_id"]
        if not cid:
            raise _bad(path, line, "case_id", "empty value")
        if cid in seen:
            raise _bad(path, line, "case_id", f"duplicate case id (first on line {seen[cid]})")
        seen[cid] = line
        case_ids.append(cid)
        label.append(_zero_one(path, line, "label", row["label"]))
        score.append(_number(path, line, "score", row["score"]))
        if has_pred:
            pred.append(_zero_one(path, line, "prediction", row["prediction"]))
        for c in finding_cols:
            findings[c].append(_zero_one(path, line, c, row[c]))
        if IVH_GRADE_COLUMN in header:
            g = _number(path, line, IVH_GRADE_COLUMN, row[IVH_GRADE_COLUMN])
            if g not in {float(v) for v in IvhGrade}:
                raise _bad(path, line, IVH_GRADE_COLUMN, f"must be a Papile grade 0-4, got {row[IVH_GRADE_COLUMN]!r}")
            grade.append(int(g))
        for c in meta_cols:
            meta[c].append(row[c])
    return Predictions(
        source=str(path),
        case_ids=tuple(case_ids),
        label=np.asarray(label, dtype=np.int8),
        score=np.asarray(score, dtype=np.float64),
        prediction=np.asarray(pred, dtype=np.int8) if has_pred else None,
        findings={c: np.asarray(v, dtype=np.int8) for c, v in findings.items()},
        ivh_grade=np.asarray(grade, dtype=np.int8) if IVH_GRADE_COLUMN in header else None,
        metadata={c: np.asarray(v, dtype=object) for c, v in meta.items()},
    )


def load_readers(path: str | Path, predictions: Predictions) -> ReaderReads:
    """Read and check READERS.csv against the cases of ``predictions`` (see module docstring)."""
    path = Path(path)
    header, rows = _read_rows(path, READERS_REQUIRED)
    index = {cid: i for i, cid in enumerate(predictions.case_ids)}
    has_ai, has_time = "with_ai" in header, "time_s" in header
    reader_id, group, case_index, call, with_ai, time_s = [], [], [], [], [], []
    seen: dict[tuple[str, str, int], int] = {}
    reader_group: dict[str, str] = {}
    for i, row in enumerate(rows):
        line = i + 2
        rid, grp, cid = row["reader_id"], row["group"], row["case_id"]
        for col, val in (("reader_id", rid), ("group", grp), ("case_id", cid)):
            if not val:
                raise _bad(path, line, col, "empty value")
        if cid not in index:
            raise _bad(path, line, "case_id", f"unknown case id {cid!r} (not in {predictions.source})")
        if reader_group.setdefault(rid, grp) != grp:
            raise _bad(path, line, "group", f"reader {rid!r} is in group {reader_group[rid]!r} on an earlier line, here {grp!r}")
        ai = _zero_one(path, line, "with_ai", row["with_ai"]) if has_ai else 0
        key = (rid, cid, ai)
        if key in seen:
            raise _bad(path, line, "case_id", f"reader {rid!r} already read case {cid!r} (line {seen[key]})")
        seen[key] = line
        reader_id.append(rid)
        group.append(grp)
        case_index.append(index[cid])
        call.append(_number(path, line, "call", row["call"]))
        with_ai.append(ai)
        if has_time and row["time_s"] != "":
            t = _number(path, line, "time_s", row["time_s"])
            if t < 0:
                raise _bad(path, line, "time_s", f"reading time must be >= 0 seconds, got {row['time_s']!r}")
            time_s.append(t)
        else:
            time_s.append(math.nan)
    return ReaderReads(
        source=str(path),
        reader_id=np.asarray(reader_id, dtype=object),
        group=np.asarray(group, dtype=object),
        case_index=np.asarray(case_index, dtype=np.intp),
        call=np.asarray(call, dtype=np.float64),
        with_ai=np.asarray(with_ai, dtype=np.int8),
        time_s=np.asarray(time_s, dtype=np.float64),
    )
