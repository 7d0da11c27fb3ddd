"""Atomic file output: write to a temporary file beside the target, rename it on success.

Every writer in neocus goes through here, so a failure never leaves a partial file behind, and what it
writes gets the permissions the user's umask gives (not the 0600 / 0700 of a temporary file). Only the
standard library is imported, so light modules (data, stats, pictures) can use it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from neocus.errors import NeocusError


def _umask() -> int:
    """The process's umask (read by setting and restoring it: the only way the standard library offers)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_target(path: str | Path, *, make_parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it to ``path`` when the block succeeds.

    The folder must exist unless ``make_parents``; the temporary file is removed whatever happens.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not path.parent.is_dir():
        raise NeocusError("the output folder does not exist", where=path.parent, hint="create it first")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise NeocusError(f"cannot write here: {exc.strerror or exc}", where=path.parent, hint="check the folder's permissions") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the output follows the user's umask
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: str | Path, data: bytes, *, make_parents: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_target(path, make_parents=make_parents) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically, creating its folder if needed."""
    path = Path(path)
    with atomic_target(path, make_parents=True) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    return path


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; when the block succeeds it replaces ``path`` (an existing
    folder there is removed: the caller checks first that replacing it is allowed). On failure the
    temporary folder is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the output follows the user's umask
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_output_dir(out: str | Path, *, force: bool = False, marker: str | None = None,
                     kind: str = "a neocus output") -> None:
    """The one rule for output folders: a new or empty folder is written; a non-empty one only with
    ``force``, and then (given ``marker``) only when it holds ``marker``, i.e. is an earlier output of the
    same kind. Any other folder is never replaced. ``kind`` names that output in the message."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NeocusError("exists and is not a folder", where=out, hint="choose a new `out` folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not force:
        raise NeocusError("output folder exists and is not empty", where=out,
                          hint="choose a new folder or pass `force` to replace an earlier neocus output")
    if marker is not None and not (out / marker).is_file():
        raise NeocusError(f"output folder is not empty and holds no {marker}, so it is not {kind} to replace",
                          where=out, hint="choose a new `out` folder")


def atomic_write_folder(files: Mapping[str, bytes], out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """Write ``files`` (name -> bytes) as the folder ``out_dir`` through :func:`atomic_dir`. A non-empty
    ``out_dir`` is refused unless ``force``."""
    out = Path(out_dir)
    check_output_dir(out, force=force)
    with atomic_dir(out) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
    return [out / n for n in files]
