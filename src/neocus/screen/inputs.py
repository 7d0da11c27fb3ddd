"""What a screen reads: a case folder (a dataset case or a folder of sweeps / stills), sweep files
(MP4 / DICOM cine / a folder of frames, any mix of planes) or view stills, turned into a list of inputs.

Inputs are named in outputs by position only (``input_1``, ``input_2``, ...): file names may carry a
patient's name, so they never reach result.json or the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from neocus.errors import InputFileError, NeocusError
from neocus.io.sniff import Kind, detect_kind, list_frame_files
from neocus.vocab import View

CASE_FILE = "case.json"
DATASET_FILE = "dataset.json"


@dataclass(frozen=True)
class InputItem:
    """One input of a case: its path (never written out), its de-identified name and what it is."""

    path: Path
    name: str  # input_<k>
    kind: Kind | None  # None: could not be identified (``error`` says why)
    error: str | None = None

    @property
    def is_still(self) -> bool:
        return self.kind is not None and self.kind.is_still


def still_view(path: Path) -> View | None:
    """The view a still's file name gives (``TVV.png``, or the NCLS release's ``COR2.png``), else None."""
    from neocus.diagnose.infer import NCLS_FILE_VIEWS

    stem = path.stem.upper()
    if stem in NCLS_FILE_VIEWS:
        return NCLS_FILE_VIEWS[stem]
    return next((v for v in View if v.value.upper() == stem), None)


def _kind(path: Path) -> tuple[Kind | None, str | None]:
    try:
        return detect_kind(path), None
    except InputFileError as exc:
        return None, exc.what


def _case_record_paths(folder: Path) -> list[Path]:
    """Sweeps listed by a dataset case's case.json (sorted by name), or its views/ stills when it has none."""
    from neocus.data.dataset import read_case

    record = read_case(folder / CASE_FILE)
    sweeps = [folder / n for n in sorted(record.sweeps)]
    if sweeps:
        return sweeps
    views = folder / "views"
    return sorted(p for p in views.iterdir() if p.is_file()) if views.is_dir() else []


def is_frame_folder(folder: Path) -> bool:
    """True when ``folder`` is one sweep stored as numbered frames: it holds PNG / JPEG files only (no
    case.json, no video or DICOM, no sub-folder of frames) and none of them is named by a view."""
    frames = list_frame_files(folder)
    if not frames or (folder / CASE_FILE).is_file() or any(still_view(f) is not None for f in frames):
        return False
    others = [p for p in folder.iterdir() if not p.name.startswith(".") and p not in frames]
    return not any(p.is_dir() or _kind(p)[0] is not None for p in others)


def folder_paths(folder: Path) -> list[Path]:
    """The files (and frame folders) of a case folder that a screen reads, in name order."""
    if (folder / CASE_FILE).is_file():
        return _case_record_paths(folder)
    out = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir():
            if p.name == "views":
                out += sorted(q for q in p.iterdir() if q.is_file())
            elif is_frame_folder(p):
                out.append(p)
            continue
        out.append(p)
    return out


def is_case_folder(folder: Path) -> bool:
    """True when ``folder`` holds something a screen reads directly (a case.json, a sweep or a still)."""
    if (folder / CASE_FILE).is_file():
        return True
    for p in folder.iterdir():
        if p.is_file() and not p.name.startswith("."):
            kind, _ = _kind(p)
            if kind is not None and not kind.is_volume:
                return True
    return False


def resolve_inputs(inputs: Sequence[str | Path]) -> list[InputItem]:
    """The inputs of one case. A path that does not exist is a :class:`NeocusError`; a file that is not
    a sweep or still is kept with its ``error`` (the screen reports it and goes on with the others);
    files of other kinds inside a case folder (notes, text) are skipped."""
    paths = [Path(p) for p in inputs]
    if not paths:
        raise NeocusError("no input given", where="inputs", hint="give a case folder, sweep files or view stills")
    for p in paths:
        if not p.exists():
            raise InputFileError("no such file or folder", where=p, hint="check the path")
    files: list[tuple[Path, bool]] = []  # (path, named by the user)
    for p in paths:
        if p.is_dir() and not is_frame_folder(p):
            files += [(q, False) for q in folder_paths(p)]
        else:
            files.append((p, True))
    items = []
    for path, named in files:
        kind, error = _kind(path)
        if kind is not None and kind.is_volume:
            kind, error = None, f"is a 3-D volume ({kind.value}), not a sweep"
        if kind is None and not named and path.suffix.lower() in ("", ".txt", ".json", ".md", ".csv", ".jsonl", ".npz"):
            continue  # notes and labels beside the images of a case folder
        items.append(InputItem(path, f"input_{len(items) + 1}", kind, error))
    return items
