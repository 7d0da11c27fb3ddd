"""Detector speed under onnxruntime on this CPU: frames/s (batched, letterboxing included, decoding
excluded), peak memory, FLOPs per frame, and INT8 models (static QDQ calibrated on phantom frames,
dynamic weight-only) beside FP32.

    PYTHONPATH=src python benchmarks/bench_detector.py --config default --config paper --threads 2
    PYTHONPATH=src python benchmarks/bench_detector.py --model models/detector/default.pt --int8 --cache CACHE

Without ``--model`` the weights are random (speed does not depend on them). ``--cache`` reads the
calibration frames of the static INT8 model from a phantom frame cache (else they are rendered).
Prints one JSON line per model and precision.
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

from neocus.detect.checkpoint import load_model, save_model
from neocus.detect.config import load_config
from neocus.detect.data import calibration_frames, letterbox
from neocus.detect.export import export_onnx, quantize_int8, quantize_static_int8
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
    ap.add_argument("--model", type=Path, action="append", default=None, help="a trained model.pt (repeatable; instead of --config)")
    ap.add_argument("--int8", action="store_true", help="also time the INT8 models (static QDQ and dynamic)")
    ap.add_argument("--cache", type=Path, default=None, help="phantom frame cache for the INT8 calibration frames")
    ap.add_argument("--frame-hw", type=int, nargs=2, default=(480, 640), help="source frame size before letterboxing")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    todo = [(load_model(m).model, load_model(m).config, m) for m in args.model or []]
    todo += [(RotatedRtDetr(load_config(n).model), load_config(n), None) for n in args.config or ([] if args.model else ["default", "paper"])]
    for model, cfg, src in todo:
        model = model.eval()
        s = cfg.model.input_size
        flops = flops_per_frame(model, s)
        with tempfile.TemporaryDirectory() as d:
            pt = src if src is not None else save_model(Path(d) / "m.pt", model, cfg)
            onnx = export_onnx(pt, out_path=Path(d) / "m.onnx")
            variants = {"fp32": onnx}
            if args.int8:
                calib = calibration_frames(s, n=32, cache_dir=args.cache)
                variants["int8-static"] = quantize_static_int8(onnx, calib, out_path=Path(d) / "m.qdq.onnx")
                variants["int8-dynamic"] = quantize_int8(onnx, out_path=Path(d) / "m.int8.onnx")
            for prec, path in variants.items():
                fps = bench(path, s, batch=args.batch, seconds=args.seconds, threads=args.threads, frame_hw=tuple(args.frame_hw))
                print(json.dumps({"config": cfg.name, "model": str(src) if src else "random weights", "precision": prec, "input": s, "backbone": cfg.model.backbone,
                                  "width": cfg.model.width, "queries": cfg.model.num_queries, "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
                                  "gflops_per_frame": round(flops / 1e9, 3), "frames_per_s": round(fps, 2),
                                  "achieved_gflops_per_s": round(fps * flops / 1e9, 2), "batch": args.batch, "threads": args.threads,
                                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}), flush=True)


if __name__ == "__main__":
    main()
