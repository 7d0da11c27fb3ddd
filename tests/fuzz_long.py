"""The long fuzzing run: every (reader, seed) pair of tests/fuzz_kit.py in turn, hypothesis-drawn damage
without end until the time is up; unclean outcomes are recorded (not raised), one per cause.

    OMP_NUM_THREADS=1 nice -n 15 python tests/fuzz_long.py --minutes 35 --out /tmp/neocus-fuzz

writes ``OUT/findings.jsonl`` (one line per distinct cause: signature, detail, target, seed, plan, how
often), ``OUT/inputs/<n>/`` (the first input of each cause, to turn into a corpus entry or a test) and
``OUT/summary.json`` (runs, results, refusals and unclean runs per pair). The fuzzing runs in a worker
process: a crash of the process itself (a segmentation fault in a C library) is recorded in
``OUT/crashes.jsonl`` with the input that caused it (``OUT/crashes/<n>/``), and a new worker goes on. Set ``NEOCUS_SHARED_DATA`` to
the shared data folder to fuzz the real files too. Exit status 1 when anything unclean was found.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_kit import TARGET_SEEDS, TARGETS, discard, fresh_workdir, run_checked  # noqa: E402
from fuzz_mutations import Plan, materialise, plans  # noqa: E402
from fuzz_seeds import Seed, real_seeds, synthetic_seeds  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402


class _Findings:
    def __init__(self, out: Path):
        self.out = out
        self.first: dict[str, dict] = {}
        self.counts: Counter[str] = Counter()
        self.tally: dict[str, Counter[str]] = {}

    def record(self, pair: str, seed: Seed, plan: Plan, path: Path, outcome) -> None:
        self.tally.setdefault(pair, Counter())[outcome.kind] += 1
        if outcome.kind != "unclean":
            return
        self.counts[outcome.signature] += 1
        if outcome.signature in self.first:
            return
        n = len(self.first)
        keep = self.out / "inputs" / str(n)
        keep.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, keep / "input", symlinks=True)
        elif path.exists():
            shutil.copy2(path, keep / "input")
        self.first[outcome.signature] = {"n": n, "signature": outcome.signature, "detail": outcome.detail, "pair": pair, "seed": seed.name, "name": plan.name, "ops": repr(plan.ops)}
        print(f"[{time.strftime('%H:%M:%S')}] NEW #{n} {pair}: {outcome.signature} -- {outcome.detail[:160]}", flush=True)

    def save(self) -> None:
        with open(self.out / "findings.jsonl", "w") as fh:
            for sig, first in self.first.items():
                fh.write(json.dumps({**first, "count": self.counts[sig]}) + "\n")
        (self.out / "summary.json").write_text(json.dumps({p: dict(c) for p, c in self.tally.items()}, indent=1))


def _round(target: str, seed: Seed, examples: int, deadline: float, base: Path, findings: _Findings) -> None:
    current = base.parent / "current"
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(plan=plans(seed))
    def one_input(plan: Plan) -> None:
        if time.time() > deadline:
            return
        workdir = fresh_workdir(base)
        try:
            try:
                path = materialise(seed, plan, workdir)
            except OSError as exc:  # a damage the file system refuses (a name it cannot hold): skip it
                print(f"skipped an input: {exc}", flush=True)
                return
            current.write_text(json.dumps({"pair": f"{target}-{seed.name}", "path": str(path), "ops": repr(plan.ops)}))
            findings.record(f"{target}-{seed.name}", seed, plan, path, run_checked(TARGETS[target], path, workdir))
        finally:
            discard(workdir)

    one_input()


#: Seconds one input may take before the worker is killed as hung (inside C code the time box cannot reach).
HANG_S = 120


def _watched(command: list[str], current: Path) -> int:
    """Run a worker; kill it (SIGKILL, recorded as a crash) when one input takes longer than HANG_S."""
    proc = subprocess.Popen(command)
    while proc.poll() is None:
        time.sleep(5)
        if current.exists() and time.time() - current.stat().st_mtime > HANG_S:
            print(f"[{time.strftime('%H:%M:%S')}] HANG: no new input for {HANG_S} s", flush=True)
            proc.kill()
    return proc.wait()


def _supervise(args: argparse.Namespace, argv: list[str]) -> int:
    """Run workers until the time is up; record each crash with its input and start a new worker."""
    deadline = time.time() + 60 * args.minutes
    crashes = 0
    worker = 0
    while time.time() < deadline - 5:
        out = args.out / f"worker{worker}"
        minutes = (deadline - time.time()) / 60
        returncode = _watched([sys.executable, __file__, *argv, "--worker", "--minutes", f"{minutes:.3f}", "--out", str(out)], out / "current")
        if returncode >= 0:
            break
        current = json.loads((out / "current").read_text()) if (out / "current").exists() else {}
        keep = args.out / "crashes" / str(crashes)
        keep.mkdir(parents=True, exist_ok=True)
        if current and Path(current["path"]).exists():
            src = Path(current["path"])
            shutil.copytree(src, keep / "input", symlinks=True) if src.is_dir() else shutil.copy2(src, keep / "input")
        with open(args.out / "crashes.jsonl", "a") as fh:
            fh.write(json.dumps({"n": crashes, "signal": -returncode, **current}) + "\n")
        print(f"[{time.strftime('%H:%M:%S')}] CRASH #{crashes} (signal {-returncode}) on {current}", flush=True)
        crashes += 1
        worker += 1
    return 1 if crashes or any((args.out / f"worker{i}" / "findings.jsonl").read_text().strip() for i in range(worker + 1) if (args.out / f"worker{i}" / "findings.jsonl").exists()) else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=35.0, help="how long to run (default 35)")
    parser.add_argument("--out", type=Path, required=True, help="folder for findings.jsonl, inputs/ and summary.json")
    parser.add_argument("--examples", type=int, default=40, help="inputs per pair before moving to the next (default 40)")
    parser.add_argument("--targets", nargs="*", default=sorted(TARGETS), help="readers to fuzz (default all)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.worker:
        passed = [a for i, a in enumerate(argv) if a not in ("--minutes", "--out") and (i == 0 or argv[i - 1] not in ("--minutes", "--out"))]
        return _supervise(args, passed)
    seeds = {**synthetic_seeds(), **real_seeds()}
    pairs = [(t, seeds[s]) for t in args.targets for s in TARGET_SEEDS[t] if s in seeds]
    print(f"fuzzing {len(pairs)} pairs for {args.minutes:g} min: " + ", ".join(f"{t}-{s.name}" for t, s in pairs), flush=True)
    findings = _Findings(args.out)
    base = args.out / "work"
    base.mkdir(exist_ok=True)
    tracemalloc.start()
    deadline = time.time() + 60 * args.minutes
    rounds = 0
    while time.time() < deadline:
        for target, seed in pairs:
            if time.time() >= deadline:
                break
            _round(target, seed, args.examples, deadline, base, findings)
        rounds += 1
        findings.save()
        runs = sum(sum(c.values()) for c in findings.tally.values())
        print(f"[{time.strftime('%H:%M:%S')}] round {rounds}: {runs} runs, {len(findings.first)} distinct unclean causes", flush=True)
    findings.save()
    shutil.rmtree(base, ignore_errors=True)
    return 1 if findings.first else 0


if __name__ == "__main__":
    sys.exit(main())
