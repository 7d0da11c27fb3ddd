"""Time of `neocus.screen.screen()` per case, split by stage, beside decode-only time for the same
sweeps; and the wall time of the `neocus screen` process on given sweeps (start-up and model loading
included). Target (issue #12): <= 5 s per case of two ~150-frame sweeps at scanner resolution on a
2-core CPU; <= 10 s for the whole `neocus screen` process on the two real NCLS sweeps.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_screen.py --models DIR --case CASE_DIR \
        [--simulate] [--repeats 3] [--threads 1] [--cli SWEEP ...]

``--simulate`` first writes CASE_DIR (one internal-preset phantom case, 640x480, ~150-frame sweeps;
it must not exist). ``--cli SWEEP ...`` also times the `neocus screen SWEEP ... --models DIR` process.
The diagnosis and heatmap stages are also timed on the case's view stills (``views/``), since with a
weak detector the sweeps' views are unsuitable and those stages do not run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def simulate_case(folder: Path) -> Path:
    from neocus.phantom.export import simulate_dataset
    from neocus.screen.demo import simulation_config

    simulate_dataset(folder, simulation_config(cases=1, seed=5, size_wh=(640, 480), sweep_frames=150, sweep_format="mixed"))
    return next((folder / "cases").iterdir())


def decode_only(case: Path) -> float:
    from neocus.io import load_sweep
    from neocus.screen.inputs import resolve_inputs

    t0 = time.perf_counter()
    for item in resolve_inputs([case]):
        load_sweep(item.path, show_progress=False)
    return time.perf_counter() - t0


def time_cli(sweeps: list[str], models: str, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", "import sys; from neocus.cli import main; sys.exit(main())", "screen", *sweeps, "--out", f"{tmp}/out", "--models", models, "--threads", str(threads)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
        wall = time.perf_counter() - t0
    if proc.returncode not in (0, 6):
        raise SystemExit(f"neocus screen failed ({proc.returncode}): {proc.stderr.strip()}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", required=True, help="models folder (detector/, diagnosis/)")
    ap.add_argument("--case", required=True, type=Path, help="case folder with two sweeps")
    ap.add_argument("--simulate", action="store_true", help="simulate the case first (640x480, ~150 frames per sweep)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--heatmap", default="finer-cam")
    ap.add_argument("--cli", nargs="*", default=[], help="sweeps to time the whole `neocus screen` process on")
    args = ap.parse_args()
    import torch

    from neocus.screen import load_models, screen

    torch.set_num_threads(args.threads)
    case = simulate_case(args.case) if args.simulate else args.case
    models = load_models(args.models, detector_threads=args.threads)
    screen([case], models=models, heatmap=args.heatmap)  # warm-up (imports, first-call costs)
    runs, decode = [], []
    for _ in range(args.repeats):
        decode.append(decode_only(case))
        t0 = time.perf_counter()
        r = screen([case], models=models, heatmap=args.heatmap)
        runs.append((time.perf_counter() - t0, r.timings_s))
    frames = [i.n_frames for i in r.inputs]
    sizes = {tuple(i.size_wh) for i in r.inputs}
    total = np.median([t for t, _ in runs])
    dec = np.median(decode)
    print(f"case: {len(frames)} sweeps, frames {frames}, size {sorted(sizes)}; {args.threads} thread(s); {args.repeats} repeats; "
          f"detector backend {r.models[0]['version'].get('backend')}; decision {r.decision.value} ({r.usable_views} usable views)")
    for stage in r.timings_s:
        print(f"  {stage:9s} {np.median([t.get(stage, 0.0) for _, t in runs]):7.3f} s")
    print(f"screen() per case: median {total:.3f} s; decode only: median {dec:.3f} s; ratio {total / dec:.1f}")
    if (case / "views").is_dir():  # the diagnosis and heatmap stages on the case's six stills
        stills = [screen([case / "views"], models=models, heatmap=args.heatmap).timings_s for _ in range(args.repeats)]
        print("on the case's view stills (diagnosis runs even when the sweeps' views are unsuitable):")
        for stage in ("diagnose", "heatmaps"):
            print(f"  {stage:9s} {np.median([t.get(stage, 0.0) for t in stills]):7.3f} s")
    if args.cli:
        walls = [time_cli(args.cli, args.models, args.threads) for _ in range(args.repeats)]
        print(f"`neocus screen` process on {len(args.cli)} sweeps: median {np.median(walls):.2f} s wall (min {min(walls):.2f}, max {max(walls):.2f})")


if __name__ == "__main__":
    main()
