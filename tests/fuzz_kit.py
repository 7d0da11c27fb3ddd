"""The hostile-input fuzzer's targets and checks: every reader of neocus as a target, and one checked run
per input (the inputs: seeds in tests/fuzz_seeds.py, damaged by tests/fuzz_mutations.py).

A run is clean when the reader returns a sound result or raises a :class:`NeocusError` whose message is
one printable line that quotes no planted identifier -- and, either way, it finished within the time
box, printed nothing and raised no warning (the user sees neocus's one line, nothing else), left no
file behind, and allocated no more than :data:`MEMORY_CAP` (traced Python / numpy memory) under
:data:`LIMITS`. Anything else is *unclean*: :func:`run_checked` says what and gives a signature
(exception type and the innermost frames) that the long run (tests/fuzz_long.py) deduplicates on.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import tracemalloc
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fuzz_seeds import PLANTED_PHI

from neocus.errors import NeocusError
from neocus.io import DecodeLimits

#: Limits the fuzzed readers run under: a lie about a huge size must be refused from the header.
LIMITS = DecodeLimits(max_side=4096, max_bytes=64 * 1024**2)
#: Most memory one run may trace (Python and numpy allocations) under :data:`LIMITS`.
MEMORY_CAP = 512 * 1024**2
#: Most resident memory (native allocations included) one run may add to the process's peak.
RSS_GROWTH_CAP = 1024**3
#: Seconds one run may take before it counts as a hang.
TIME_BOX_S = 20.0
#: Longest error message that still reads as one line (a path plus a sentence).
MAX_MESSAGE = 1500

# --- one checked run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """``kind`` is ``result``, ``refused`` or ``unclean``; ``signature`` groups unclean runs by cause."""

    kind: str
    detail: str = ""
    signature: str = ""


class _Hang(BaseException):
    """Raised by the time box (a BaseException: the readers' ``except Exception`` must not swallow it)."""


def _exception_signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/neocus/" in f.filename]
    where = [f"{Path(f.filename).name}:{f.lineno}" for f in (ours[-1:] + frames[-1:])]
    return f"{type(exc).__name__} at {' / '.join(where)}"


def check_message(err: NeocusError) -> str | None:
    """What is wrong with a refusal's message, or ``None``."""
    text = err.message
    if not text.strip():
        return "empty message"
    if not text.isprintable():
        return f"unprintable character in the message: {text[:200]!r}"
    if len(text) > MAX_MESSAGE:
        return f"message of {len(text)} characters"
    if any(phi in text for phi in PLANTED_PHI):
        return "the message quotes a planted patient identifier"
    return None


@contextlib.contextmanager
def _time_box(seconds: float) -> Iterator[None]:
    def _alarm(_signum, _frame):
        raise _Hang

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _console_captured() -> Iterator[list[str]]:
    """What the run prints: Python's sys.stdout / sys.stderr and file descriptors 1 and 2 (C libraries)."""
    printed: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink, contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield printed
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            printed.append(sink.read(2000).decode("utf-8", "replace") + out.getvalue()[:2000] + err.getvalue()[:2000])


def _listing(folder: Path) -> set[tuple[str, int]]:
    return {(str(p), p.lstat().st_size) for p in folder.rglob("*")}


def run_checked(target: Target, path: Path, workdir: Path) -> Outcome:
    """Run ``target`` on ``path`` once under every check of the module docstring."""
    before, cwd_before = _listing(workdir), set(os.listdir("."))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
    outcome: Outcome | None = None
    with warnings.catch_warnings(record=True) as caught, _console_captured() as printed:
        warnings.simplefilter("always")
        try:
            with _time_box(TIME_BOX_S):
                result = target.call(path)
            problem = target.check(result)
            outcome = Outcome("unclean", f"unsound result: {problem}", f"unsound result of {target.name}: {problem[:60]}") if problem else Outcome("result")
        except NeocusError as err:
            problem = check_message(err)
            outcome = Outcome("unclean", problem, f"bad message from {_exception_signature(err)}: {problem[:40]}") if problem else Outcome("refused", err.message)
        except _Hang as exc:
            outcome = Outcome("unclean", f"no answer within {TIME_BOX_S:g} s", f"hang in {_exception_signature(exc)}")
        except Exception as exc:  # noqa: BLE001 - any other exception is what the fuzzer looks for
            outcome = Outcome("unclean", f"{type(exc).__name__}: {str(exc)[:300]}", _exception_signature(exc))
    peak = tracemalloc.get_traced_memory()[1] if tracing else 0
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    left = (_listing(workdir) - before) | {(n, 0) for n in set(os.listdir(".")) - cwd_before}
    if outcome.kind == "unclean":
        return outcome
    if printed[0].strip():
        said = re.sub(r"\d+(\.\d+)?", "N", printed[0].strip())  # one cause, whatever the numbers (times, sizes)
        return Outcome("unclean", f"printed: {printed[0].strip()[:300]!r}", f"{target.name} printed: {said[:60]!r}")
    if caught:
        w = caught[0]
        return Outcome("unclean", f"warning: {w.category.__name__}: {str(w.message)[:200]}", f"{w.category.__name__} at {Path(w.filename).name}:{w.lineno}")
    if left:
        return Outcome("unclean", f"left behind: {sorted(left)[:3]}", f"{target.name} left files behind")
    if peak > MEMORY_CAP or rss_growth > RSS_GROWTH_CAP:
        return Outcome("unclean", f"memory: traced peak {peak >> 20} MiB, resident growth {rss_growth >> 20} MiB", f"{target.name} memory blow-up")
    return outcome


# --- targets: every reader, with what a sound result looks like ------------------------------------


@dataclass(frozen=True)
class Target:
    """A reader: ``call(path)`` reads the input; ``check(result)`` says what is unsound about a result."""

    name: str
    call: Callable[[Path], object]
    check: Callable[[object], str | None]


def _check_sweep(sweep) -> str | None:
    f = sweep.frames
    if not (isinstance(f, np.ndarray) and f.dtype == np.uint8 and f.ndim == 3 and min(f.shape) >= 1):
        return f"frames {getattr(f, 'dtype', None)} {getattr(f, 'shape', None)}"
    m = sweep.meta
    if len(m.timestamps_s) != f.shape[0] or not np.all(np.isfinite(m.timestamps_s)):
        return "timestamps do not match the frames"
    if m.fps is not None and not (math.isfinite(m.fps) and m.fps > 0):
        return f"fps {m.fps}"
    if m.spacing_mm is not None and not all(math.isfinite(s) and s > 0 for s in m.spacing_mm):
        return f"spacing {m.spacing_mm}"
    return None


def _check_info(info) -> str | None:
    if not ((info.frames is None or info.frames >= 1) and info.height >= 1 and info.width >= 1):
        return f"frames {info.frames}, size {info.width}x{info.height}"
    return None


def _sweep_and_probe(path: Path) -> tuple[object, object]:
    """``load_sweep`` and ``probe`` of one input: both clean, and they agree (probe refuses nothing that
    load_sweep reads; load_sweep reads nothing that probe refuses, except damage inside compressed frames)."""
    from neocus.io import load_sweep, probe

    try:
        info = probe(path, limits=LIMITS)
    except NeocusError:
        info = None
    sweep = load_sweep(path, limits=LIMITS, show_progress=False)
    return sweep, info


def _check_sweep_and_probe(result) -> str | None:
    sweep, info = result
    if info is None:
        return "probe refused what load_sweep read"
    problem = _check_sweep(sweep) or _check_info(info)
    if problem:
        return problem
    if (info.height, info.width) != sweep.frames.shape[1:]:
        return f"probe says {info.width}x{info.height}, load_sweep {sweep.frames.shape[2]}x{sweep.frames.shape[1]}"
    if not info.kind.is_video and info.frames != sweep.frames.shape[0]:
        return f"probe says {info.frames} frames, load_sweep {sweep.frames.shape[0]}"
    return None


def _check_volume(volume) -> str | None:
    if volume.array.ndim != 3 or not all(math.isfinite(s) and s > 0 for s in volume.spacing):
        return f"volume {volume.array.shape}, spacing {volume.spacing}"
    return None


def _check_problems(problems) -> str | None:
    for p in problems:
        if "\n" in p.message or "\r" in p.message or len(p.message) > MAX_MESSAGE:
            return f"problem message not one line: {p.message[:100]!r}"
    return None


def _check_predictions(pred) -> str | None:
    if pred.n < 1 or not np.all(np.isfinite(pred.score)) or not set(np.unique(pred.label)) <= {0, 1}:
        return "predictions with no rows, non-finite scores or labels outside 0/1"
    return None


def _readers(path: Path):
    from fuzz_seeds import PREDICTIONS_CSV

    from neocus.stats.inputs import load_predictions, load_readers

    pred_path = path.parent / "predictions.fixture.csv"
    pred_path.write_bytes(PREDICTIONS_CSV)
    try:
        return load_readers(path, load_predictions(pred_path))
    finally:
        pred_path.unlink()


def _targets() -> dict[str, Target]:
    from neocus.data import Dataset
    from neocus.data.validate import validate_dataset
    from neocus.io import load_volume
    from neocus.io.images import read_image
    from neocus.stats.inputs import load_predictions

    targets = [
        Target("sweep", _sweep_and_probe, _check_sweep_and_probe),
        Target("still", lambda p: read_image(p, limits=LIMITS), _check_sweep),
        Target("volume", lambda p: load_volume(p, limits=LIMITS), _check_volume),
        Target("dataset_load", lambda p: [len(c.annotations(n)) for c in Dataset.load(p) for n in c.record.sweeps], lambda r: None),
        Target("validate", lambda p: validate_dataset(p), _check_problems),
        Target("predictions", load_predictions, _check_predictions),
        Target("readers", _readers, lambda r: None if r.call.size and np.all(np.isfinite(r.call)) else "reads without calls"),
    ]
    return {t.name: t for t in targets}


TARGETS = _targets()

#: Which seeds each target is fuzzed with (seeds absent here are skipped).
TARGET_SEEDS = {
    "sweep": ("dicom_native", "dicom_jpeg_cine", "dicom_palette", "dicom_rgb", "dicom_rle", "dicom_jpeg2k", "mp4", "avi",
              "png", "png16", "png_rgba", "jpeg", "frames_folder", "real_png"),
    "still": ("png", "png16", "jpeg", "real_png"),
    "volume": ("nifti", "nifti_gz", "mha", "nrrd", "real_mha"),
    "dataset_load": ("dataset",),
    "validate": ("dataset",),
    "predictions": ("predictions_csv",),
    "readers": ("readers_csv",),
}


def fresh_workdir(base: Path) -> Path:
    """An empty folder for one run under ``base``."""
    return Path(tempfile.mkdtemp(dir=base))


def discard(workdir: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(workdir)
