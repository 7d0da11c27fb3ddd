"""Benchmark: HIE lesion segmentation time per volume (read + preprocess + networks + post-processing).

Usage: python benchmarks/bench_hie_infer.py [--data ../shared/data/real/bonbid-hie] [--model models/hie]
                                            [--cases 6] [--threads 2] [--repeats 2]

Times :func:`neocus.hie.segment` (the work after reading) on the first ``--cases`` patients, each
``--repeats`` times after one warm-up, with ``torch`` limited to ``--threads`` threads. Prints per
case the grid, the median wall and CPU seconds (CPU time is less sensitive to other jobs on a
shared machine; on an idle machine wall time is about CPU time / threads), and overall the median and worst seconds per volume. The machine's
load at the time matters: say what else ran when you quote a figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "real" / "bonbid-hie"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", type=Path, default=None, help="model folder (default: the bundled models/hie)")
    ap.add_argument("--cases", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    from neocus.hie import find_cases, load_case, load_model, segment

    t0 = time.perf_counter()
    model = load_model(args.model)
    print(f"model {model.source}: {len(model.networks)} networks, loaded in {time.perf_counter() - t0:.2f} s; torch threads {args.threads}; load average {os.getloadavg()[0]:.1f}")
    per_volume = []
    for files in find_cases(args.data, need_labels=False)[: args.cases]:
        t_read = time.perf_counter()
        case = load_case(files.adc, zadc=files.zadc)
        read_s = time.perf_counter() - t_read
        segment(case, model=model)  # warm-up
        runs, cpu = [], []
        for _ in range(args.repeats):
            t, c = time.perf_counter(), time.process_time()
            segment(case, model=model)
            runs.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        med = statistics.median(runs)
        per_volume.append(med + read_s)
        print(
            f"{files.case_id}: grid {case.adc.shape}, read {read_s:.2f} s, segment median {med:.2f} s wall, "
            f"{statistics.median(cpu):.2f} s CPU (runs {', '.join(f'{r:.2f}' for r in runs)}); load average {os.getloadavg()[0]:.1f}"
        )
    print(f"per volume (read + segment): median {statistics.median(per_volume):.2f} s, worst {max(per_volume):.2f} s over {len(per_volume)} volumes")


if __name__ == "__main__":
    main()
