"""Overfit probe of the detector: a handful of fixed phantom training frames, no augmentation, many
steps; prints the training loss and mAP on those same frames (a healthy detector drives the loss
down and the mAP toward 1; one that cannot has a bug or too little capacity).

    PYTHONPATH=src python benchmarks/overfit_detector.py --config tiny --frames 8 --steps 500 \\
        --set model.input_size=192 --cache CACHE [--min-short-side 0]

``--min-short-side`` widens thin boxes as training and evaluation do (default: the detector's floor).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from neocus.detect.augment import Sample
from neocus.detect.config import config_from_dict, config_to_dict, load_config
from neocus.detect.criterion import DetectionLoss, hungarian_match, mean_iou_of_matches
from neocus.detect.data import MIN_SHORT_SIDE, TRAIN_TAG, PhantomRecipe, letterbox_sample, render_pool, targets_of, to_tensor, widen_thin_boxes
from neocus.detect.evaluate import FramePrediction, evaluate_detections
from neocus.detect.infer import decode
from neocus.detect.model import RotatedRtDetr
from neocus.detect.train import lr_factor, make_optimizer


def _config(name: str, sets: list[str]):  # noqa: ANN202
    d = config_to_dict(load_config(name))
    for item in sets:
        key, value = item.split("=", 1)
        section, field = key.split(".")
        d[section][field] = json.loads(value)
    return config_from_dict(d)


def _evaluate(model: RotatedRtDetr, images: torch.Tensor, samples: list[Sample]):  # noqa: ANN202
    model.eval()
    with torch.no_grad():
        scores, boxes = model(images)
    model.train()
    preds = [FramePrediction(*decode(scores[i].numpy(), boxes[i].numpy(), max_detections=100, score_threshold=0.001)) for i in range(len(samples))]
    return evaluate_detections(preds, [(s.boxes, s.labels) for s in samples])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--set", action="append", default=[], help="section.field=JSON value, e.g. model.input_size=192")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--min-short-side", type=float, default=MIN_SHORT_SIDE)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = _config(args.config, args.set)
    size = cfg.model.input_size
    pool = render_pool(PhantomRecipe(["internal", "internal_microconvex", "external", "blind"], tag=TRAIN_TAG, seed=0), args.frames, cache_dir=args.cache)
    samples = [widen_thin_boxes(letterbox_sample(s, size=size), min_short_side=args.min_short_side) for s in pool]
    images, targets = to_tensor([s.image for s in samples]), targets_of(samples, size)
    torch.manual_seed(0)
    model = RotatedRtDetr(cfg.model)
    opt = make_optimizer(model, cfg)
    base = [g["lr"] for g in opt.param_groups]
    crit, gen, t0 = DetectionLoss(cfg.train), torch.Generator().manual_seed(0), time.time()
    for step in range(args.steps):
        for g, lr in zip(opt.param_groups, base):
            g["lr"] = lr * lr_factor(step, warmup=cfg.train.warmup_steps, total=args.steps)
        out = model(images, targets, generator=gen)
        loss, parts = crit(out, targets)
        opt.zero_grad()
        loss.backward()
        if cfg.train.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        opt.step()
        if step % 100 == 0 or step == args.steps - 1:
            m = _evaluate(model, images, samples)
            iou = mean_iou_of_matches(out.boxes[-1].detach(), targets, hungarian_match(out.logits[-1], out.boxes[-1], targets))
            print(json.dumps({"step": step, "seconds": round(time.time() - t0), **{k: round(v, 3) for k, v in parts.items()},
                              "matched_iou": round(iou, 3), "map50": round(m.map50, 3), "map50_95": round(m.map50_95, 3)}), flush=True)
    print(json.dumps({"per_class_ap50": {c.structure: round(c.ap50, 2) for c in m.per_class}}))


if __name__ == "__main__":
    main()
