"""Many cases: every case of a dataset (or every case folder of a folder) screened into one output
folder, with a summary table (CSV + HTML)::

    OUT/batch.json              marks the folder as a neocus screen batch (so a rerun resumes it)
    OUT/cases/<case_id>/        one case's output (neocus.screen.output), present only when complete
    OUT/summary.csv, summary.html

A case that fails is reported with its reason and the others go on; it leaves no folder, so a rerun
tries it again. A rerun of a killed batch skips the finished cases (their folders exist) and ignores
the temporary folder of the case that was being written.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neocus.atomic import atomic_write_text, check_output_dir
from neocus.errors import InputFileError, NeocusError
from neocus.screen.inputs import CASE_FILE, DATASET_FILE, is_case_folder
from neocus.screen.models import ScreenModels
from neocus.screen.output import RESULT_FILE, write_case
from neocus.screen.pipeline import screen
from neocus.screen.report import summary_html

BATCH_FILE = "batch.json"
BATCH_FORMAT = "neocus-screen-batch/1"
COLUMNS = ("case_id", "status", "decision", "severe_prob", "papile_grade", "usable_views", "seconds", "reason")


@dataclass(frozen=True)
class CaseTask:
    case_id: str  # the dataset's case id, or case-<k> for the k-th folder (folder names are not kept)
    inputs: tuple[Path, ...]


@dataclass(frozen=True)
class BatchResult:
    rows: tuple[dict[str, Any], ...]
    out: Path

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r["status"] == status)


def batch_tasks(root: str | Path) -> list[CaseTask] | None:
    """The cases under ``root`` when it is a batch: a dataset (its case ids) or a folder whose
    sub-folders are cases (numbered case-0001... in name order). None when ``root`` is one case."""
    root = Path(root)
    if not root.is_dir():
        return None
    if (root / DATASET_FILE).is_file():
        from neocus.data.dataset import Dataset

        return [CaseTask(c.case_id, (c.folder,)) for c in Dataset.load(root).cases]
    if is_case_folder(root):
        return None
    subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subs:
        return None
    return [CaseTask(f"case-{k:04d}", (p,)) for k, p in enumerate(subs, 1)]


def _row_from_result(case_id: str, doc: dict[str, Any], seconds: float | None, status: str) -> dict[str, Any]:
    prob = doc.get("severe_prob")
    return {"case_id": case_id, "status": status, "decision": doc["decision"], "severe_prob": None if prob is None else round(prob, 4),
            "papile_grade": doc.get("papile_grade"), "usable_views": doc.get("usable_views"),
            "seconds": None if seconds is None else round(seconds, 2), "reason": doc.get("reason")}


def prepare_batch_dir(out: Path, *, force: bool) -> int:
    """Make ``out`` ready: a new folder, a resumed batch (returns the number of finished cases), or with
    ``force`` an earlier batch replaced. Leftover temporary case folders of a killed run are removed."""
    resuming = (out / BATCH_FILE).is_file() and not force
    if not resuming:
        check_output_dir(out, force=force, marker=BATCH_FILE, kind="an earlier neocus screen batch")
        if out.exists() and force:
            shutil.rmtree(out)
    cases = out / "cases"
    cases.mkdir(parents=True, exist_ok=True)
    for tmp in cases.glob(".*.tmp"):
        shutil.rmtree(tmp, ignore_errors=True)
    atomic_write_text(out / BATCH_FILE, json.dumps({"format": BATCH_FORMAT}, indent=2) + "\n")
    return sum(1 for p in cases.iterdir() if (p / RESULT_FILE).is_file()) if resuming else 0


def _screen_one(task: CaseTask, out: Path, models: ScreenModels, options: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        result = write_case(screen(task.inputs, models=models, case_id=task.case_id, **options), out)
    except NeocusError as exc:  # the case's own problem: report it, go on
        return {"case_id": task.case_id, "status": "failed", "reason": failure_reason(exc)}
    except Exception as exc:  # noqa: BLE001 - a bug in one case must not stop the batch; it is reported
        return {"case_id": task.case_id, "status": "failed", "reason": f"internal error {type(exc).__name__}: {exc}"}
    return _row_from_result(task.case_id, result.to_dict(), time.perf_counter() - start, "done")


def failure_reason(exc: NeocusError) -> str:
    """What went wrong, naming the file only when it is one of neocus's own (a user's file names may
    carry a patient's name, so they stay out of the summary)."""
    name = Path(exc.where).name if exc.where else ""
    where = f"{name}: " if name in (CASE_FILE, DATASET_FILE) else ""
    return where + exc.what + (f" ({exc.hint})" if exc.hint else "")


def write_summary(rows: list[dict[str, Any]], out: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: "" if r.get(c) is None else r.get(c) for c in COLUMNS})
    atomic_write_text(out / "summary.csv", buf.getvalue())
    atomic_write_text(out / "summary.html", summary_html([{c: "-" if r.get(c) is None else r[c] for c in COLUMNS} for r in rows], COLUMNS))


def screen_batch(tasks: list[CaseTask], out: str | Path, *, models: ScreenModels, force: bool = False,
                 progress: Callable[[int, int, dict[str, Any]], None] | None = None, **options: Any) -> BatchResult:
    """Screen every case into ``out/cases/<case_id>`` (finished cases of an earlier run are kept, not
    redone); ``progress(done, total, row)`` after each case; ``options`` go to :func:`screen`."""
    out = Path(out)
    if not tasks:
        raise InputFileError("no cases to screen", where="inputs", hint="give a dataset or a folder of case folders")
    prepare_batch_dir(out, force=force)
    rows: list[dict[str, Any]] = []
    for k, task in enumerate(tasks, 1):
        folder = out / "cases" / task.case_id
        if (folder / RESULT_FILE).is_file():
            doc = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
            row = _row_from_result(task.case_id, doc, None, "resumed")
        else:
            row = _screen_one(task, folder, models, options)
        rows.append(row)
        write_summary(rows, out)
        if progress is not None:
            progress(k, len(tasks), row)
    return BatchResult(tuple(rows), out)
