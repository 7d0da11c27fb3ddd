"""``neocus simulate`` as a user runs it: wall time, CPU time and cases/min at the defaults and at the
fast settings, and the time the command itself predicted.

Run:  python benchmarks/bench_simulate_cli.py                 (defaults and 256x256, about 5 minutes on 2 cores)
      python benchmarks/bench_simulate_cli.py --cases 1        (one case per setting)
      python benchmarks/bench_simulate_cli.py --only 256x256   (one setting)

Each setting runs the real command in a child process (``python -m neocus.cli``-style entry point) into
a temporary folder, so imports and worker start-up count as they do for a user. CPU seconds are the
children's user + system time; "CPU s per case" subtracts the start-up cost measured by a run that only
imports the command (so it is the figure behind ``neocus simulate``'s time estimate). The machine may
be shared: the load average is printed beside each figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENTRY = "import sys; from neocus.cli import main; sys.exit(main())"
SETTINGS = {
    "defaults": [],
    "256x256": ["--frame-size", "256x256"],
    "stills 640x480": ["--stills-only"],
    "stills 256x256": ["--stills-only", "--frame-size", "256x256"],
}


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _run(args: list[str]) -> tuple[float, float, str]:
    """``(wall s, CPU s, stdout)`` of one command in a child process."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    env = {**os.environ, "COLUMNS": "200"}  # the plan line on one line
    done = subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, check=False, env=env)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"failed: neocus {' '.join(args)}\n{done.stderr}")
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2, help="cases per setting (default 2: both cores busy)")
    parser.add_argument("--only", choices=list(SETTINGS), help="run one setting")
    opts = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    _, startup, _ = _run(["simulate", "--help"])
    print(f"start-up (import, help): {startup:.1f} CPU s")
    tmp = Path(tempfile.mkdtemp(prefix="bench_simulate_"))
    try:
        for name, extra in SETTINGS.items():
            if opts.only and name != opts.only:
                continue
            out = tmp / name.replace(" ", "_")
            load = os.getloadavg()[0]
            wall, cpu, stdout = _run(["simulate", "--out", str(out), "--cases", str(opts.cases), "--seed", "0", *extra])
            plan = next((ln for ln in stdout.splitlines() if "expected about" in ln), "?")
            per_case = (cpu - startup) / opts.cases
            print(
                f"{name:>15}: {opts.cases} cases in {wall:.1f} s wall = {60 * opts.cases / wall:.2f} cases/min; "
                f"{cpu:.1f} CPU s ({per_case:.1f} CPU s per case after start-up); load {load:.1f}\n"
                f"{'':>15}  the command said: {plan.strip()}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
