"""Detector speed under onnxruntime on this CPU: frames/s (batched, letterboxing included, decoding
excluded), peak memory, FLOPs per frame, and the INT8 (dynamic quantisation) model beside FP32.

    PYTHONPATH=src python benchmarks/bench_detector.py --config default --config paper --threads 2

Weights are random (speed does not depend on them). Prints one JSON line per config and precision.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from neocus.detect.checkpoint import save_model
from neocus.detect.config import load_config
from neocus.detect.data import letterbox
from neocus.detect.export import export_onnx, quantize_int8
from neocus.detect.model import RotatedRtDetr


def flops_per_frame(model: RotatedRtDetr, size: int) -> float:
    with FlopCounterMode(display=False) as fc, torch.inference_mode():
        model(torch.zeros(1, 1, size, size))
    return float(fc.get_total_flops())


def bench(onnx_path: Path, size: int, *, batch: int, seconds: float, threads: int, frame_hw: tuple[int, int]) -> float:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    frames = np.random.default_rng(0).integers(0, 255, (batch, *frame_hw), dtype=np.uint8)

    def step() -> None:
        x = np.stack([letterbox(f, size=size).image for f in frames]).astype(np.float32)[:, None] / 255.0
        sess.run(None, {"images": x})

    step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 2:
        step()
        n += 1
    return n * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", action="append", default=None, help="config name or .json (repeatable)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--int8", action="store_true", help="also time the INT8 model")
    ap.add_argument("--frame-hw", type=int, nargs=2, default=(480, 640), help="source frame size before letterboxing")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.config or ["default", "paper"]:
        cfg = load_config(name)
        model = RotatedRtDetr(cfg.model).eval()
        s = cfg.model.input_size
        flops = flops_per_frame(model, s)
        with tempfile.TemporaryDirectory() as d:
            pt = save_model(Path(d) / "m.pt", model, cfg)
            onnx = export_onnx(pt, out_path=Path(d) / "m.onnx")
            variants = {"fp32": onnx}
            if args.int8:
                variants["int8"] = quantize_int8(onnx, out_path=Path(d) / "m.int8.onnx")
            for prec, path in variants.items():
                fps = bench(path, s, batch=args.batch, seconds=args.seconds, threads=args.threads, frame_hw=tuple(args.frame_hw))
                print(json.dumps({"config": cfg.name, "precision": prec, "input": s, "backbone": cfg.model.backbone,
                                  "width": cfg.model.width, "queries": cfg.model.num_queries, "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
                                  "gflops_per_frame": round(flops / 1e9, 3), "frames_per_s": round(fps, 2),
                                  "achieved_gflops_per_s": round(fps * flops / 1e9, 2), "batch": args.batch, "threads": args.threads,
                                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}), flush=True)


if __name__ == "__main__":
    main()
