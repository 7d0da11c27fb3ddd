"""Speed of the fetal head phantom: images per second, one thread.

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_fetal_phantom.py [--cases 40] [--size 432x576] [--seed 0]

Times ``simulate_case`` (draw sizes and surroundings, render the B-mode image and the label map) for
cases 0..N-1 of a seed, after 2 warm-up cases, and apart the PNG encoding the dataset writer adds.
Prints images per second and the median / worst seconds per image.
"""

from __future__ import annotations

import argparse
import statistics
import time

from neocus.fetal.phantom_dataset import png_bytes, simulate_case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--size", default="432x576")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    size_hw = tuple(int(x) for x in args.size.split("x"))
    for i in range(2):
        simulate_case(args.seed + 1, i, out_size_hw=size_hw)
    sim, enc = [], []
    for i in range(args.cases):
        t0 = time.perf_counter()
        _, img = simulate_case(args.seed, i, out_size_hw=size_hw)
        t1 = time.perf_counter()
        png_bytes(img.image, pixel_mm=img.pixel_mm)
        png_bytes(img.labels)
        enc.append(time.perf_counter() - t1)
        sim.append(t1 - t0)
    total = sum(sim) + sum(enc)
    print(f"{args.cases} images at {size_hw[0]}x{size_hw[1]}: {args.cases / total:.2f} images/s with PNG encoding "
          f"({args.cases / sum(sim):.2f} images/s simulation alone); per image median {statistics.median(sim):.3f} s, "
          f"worst {max(sim):.3f} s; PNG encoding median {statistics.median(enc) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
