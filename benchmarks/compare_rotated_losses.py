"""Which rotated box loss trains best: the same small run with ProbIoU, KLD and exact rotated IoU.

    PYTHONPATH=src:tests python benchmarks/compare_rotated_losses.py --steps 150 --out /tmp/losscmp

A tiny detector (config ``tiny``) learns the toy task of tests/_detect_toy.py (bright rotated bars,
two classes, any angle) with each loss, same seed and batches; mAP on 100 held-out toy frames.
Prints one JSON line per loss. Small and synthetic: it ranks the losses, it does not predict phantom mAP.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch
from _detect_toy import toy_pool

from neocus.detect.config import load_config
from neocus.detect.evaluate import FramePrediction, evaluate_detections
from neocus.detect.infer import Detector
from neocus.detect.train import train_detector


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = load_config("tiny")
    train, test = toy_pool(200, seed=args.seed), toy_pool(100, seed=args.seed + 1000)
    for kind in ("probiou", "kld", "iou"):
        cfg = dataclasses.replace(base, train=dataclasses.replace(base.train, rotated_loss=kind, batch_size=4))
        r = train_detector(train, cfg, out_dir=args.out / kind, steps=args.steps, seed=args.seed, log_every=25)
        det = Detector(r.model_path, score_threshold=0.001, max_detections=20)
        preds = [FramePrediction(*det.detect_frames(s.image)[0].arrays()) for s in test]
        m = evaluate_detections(preds, [(s.boxes, s.labels) for s in test], class_names=["bright", "grey"])
        print(json.dumps({"loss": kind, "steps": args.steps, "map50": round(m.map50, 4), "map50_95": round(m.map50_95, 4),
                          "final_train_loss": round(r.final_loss, 3), "seconds": round(r.seconds, 1)}), flush=True)


if __name__ == "__main__":
    main()
