"""Benchmark: diagnosis inference time per case (6 views), torch and onnxruntime, on this CPU.

One case = every fold x every TTA variant (flip: the case and its mirror, one batch of 2), the rule,
and (torch) Finer-CAM heatmaps of the six views from the first fold. onnxruntime runs the same fold x
TTA forward passes from exported folds; heatmaps need gradients, so the ONNX figure adds the torch
heatmap time measured separately. Weights are random (speed does not depend on them) unless --model
is given. Prints wall time and process CPU time per case: on a shared machine the CPU time divided by
the threads used is the robust figure; wall time is what a user waits.

    python benchmarks/bench_diagnose.py [--folds 5] [--size 96] [--tta flip] [--threads 2] [--cases 5] [--model DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from neocus.diagnose.bundle import load_bundle
from neocus.diagnose.config import CalibrationMethod, DiagnosisConfig, ModelConfig, TtaMode, config_json
from neocus.diagnose.data import CaseExample, ViewImage, collate
from neocus.diagnose.infer import _variants, diagnose_case
from neocus.diagnose.model import DiagnosisNet
from neocus.diagnose.onnx_export import OnnxDiagnosis, export_onnx
from neocus.explain import case_heatmaps
from neocus.vocab import View


def random_bundle(root: Path, folds: int, size: int, backbone: str):
    cfg = DiagnosisConfig(model=ModelConfig(backbone=backbone, image_size_hw=(size, size)), calibration=CalibrationMethod.NONE,
                          folds=tuple(range(folds))).check()
    for f in range(folds):
        torch.save(DiagnosisNet(cfg.model).state_dict(), root / f"fold{f}.pt")
    (root / "config.json").write_text(config_json(cfg))
    return load_bundle(root)


def timed(fn, n: int) -> tuple[float, float]:
    fn()  # warm-up
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return (time.perf_counter() - w0) / n, (time.process_time() - c0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--backbone", default="atto")
    ap.add_argument("--tta", default="flip")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", type=int, default=5)
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = load_bundle(args.model) if args.model else random_bundle(Path(tmp), args.folds, args.size, args.backbone)
        size = bundle.config.model.image_size_hw
        case = CaseExample("bench", {v: ViewImage(rng.integers(0, 255, size=size, dtype=np.uint8)) for v in View})
        tta = TtaMode(args.tta)
        print(f"{bundle.config.model.backbone.value} at {size[0]}x{size[1]}, {len(bundle.models)} folds, TTA {tta.value}, "
              f"{args.threads} threads, load average {os.getloadavg()[0]:.1f}")
        with torch.no_grad():
            w, c = timed(lambda: diagnose_case(bundle, case, tta=tta), args.cases)
        print(f"torch  forward (folds x TTA) + rule : wall {w:.3f} s  cpu {c:.3f} s per case")
        wh, ch = timed(lambda: case_heatmaps(bundle.models[0], case.views, method="finer-cam"), args.cases)
        print(f"torch  Finer-CAM, 6 views (fold 0)  : wall {wh:.3f} s  cpu {ch:.3f} s per case")
        print(f"torch  total                        : wall {w + wh:.3f} s  cpu {c + ch:.3f} s per case")
        sessions = [OnnxDiagnosis(export_onnx(m, Path(tmp) / f"f{i}.onnx"), threads=args.threads) for i, m in enumerate(bundle.models)]
        variants = [v for v, _ in _variants(case.views, tta)]
        b = collate(variants, [case] * len(variants))
        arrays = (b.images.numpy(), b.views.numpy(), b.present.numpy(), b.metadata.numpy())
        wo, co = timed(lambda: [s.run(*arrays) for s in sessions], args.cases)
        print(f"onnxruntime forward (folds x TTA)   : wall {wo:.3f} s  cpu {co:.3f} s per case")
        print(f"onnxruntime + torch heatmaps        : wall {wo + wh:.3f} s  cpu {co + ch:.3f} s per case")


if __name__ == "__main__":
    main()
