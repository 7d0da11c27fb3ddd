"""Posterior-fossa segmentation on phantom hold-out: cerebellum and cistern Dice, TCD and cisterna
magna depth from the predicted masks against the phantom's truth, per condition and per GA band
(18-25, 25-32, 32-40 weeks).

Renders trans-cerebellar cases ``0..N-1`` of ``--seed`` (never a training seed: `fetal train
cerebellum` uses the pools of seeds 1000 + s and 2000 + s) with the conditions normal, cerebellar
hypoplasia and mega cisterna magna in turn and the three looks in turn, at the phantom's default
size; predicts with the model folder; measures with :func:`neocus.fetal.posterior_fossa.measure_posterior_fossa`
on the predicted masks and, as the floor of the method, on the true label masks.

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_cerebellum_holdout.py --model DIR
       [--cases 90] [--seed 90016] [--csv rows.csv] [--json summary.json]
"""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np

from neocus.fetal.cerebellum import load_cerebellum_model, masks_from_classes, predict_posterior_fossa
from neocus.fetal.phantom_dataset import case_rng
from neocus.fetal.phantom_masks import structure_masks
from neocus.fetal.phantom_params import GA_RANGE_WEEKS
from neocus.fetal.phantom_render import FetalLook, simulate_fetal_image
from neocus.fetal.posterior_fossa import measure_posterior_fossa
from neocus.vocab import FetalCondition, FetalPlane

CONDITIONS = (FetalCondition.NORMAL, FetalCondition.CEREBELLAR_HYPOPLASIA, FetalCondition.MEGA_CISTERNA_MAGNA)
GA_BANDS = ((18.0, 25.0), (25.0, 32.0), (32.0, 40.0))  # weeks, [lower, upper): the phantom draws GA in [18, 40)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def _case(model, seed: int, i: int) -> dict:
    rng = case_rng(seed, i)
    cond, look = CONDITIONS[i % 3], list(FetalLook)[(i // 3) % len(FetalLook)]
    img = simulate_fetal_image(float(rng.uniform(*GA_RANGE_WEEKS)), plane=FetalPlane.TRANS_CEREBELLAR, condition=cond, look=look, rng=rng)
    true = structure_masks(img.labels)
    _, cls = predict_posterior_fossa(img.image, model)
    pred = masks_from_classes(cls)
    ga = min(img.truth.ga_weeks, 36.0)
    got = measure_posterior_fossa(pred["cerebellum"], pred["cistern"], pred["head"], pixel_mm=img.pixel_mm, ga_weeks=ga)
    floor = measure_posterior_fossa(true["cerebellum"], true["cistern"], true["skull"] | true["brain"], pixel_mm=img.pixel_mm)
    return {"case": i, "condition": cond.value, "look": look.value, "ga_weeks": round(img.truth.ga_weeks, 2), "pixel_mm": round(img.pixel_mm, 4),
            "cerebellum_dice": _dice(pred["cerebellum"], true["cerebellum"]), "cistern_dice": _dice(pred["cistern"], true["cistern"]),
            "head_dice": _dice(pred["head"], true["skull"] | true["brain"]),
            "tcd_true_mm": img.truth.tcd_mm, "tcd_mm": got.tcd_mm, "tcd_from_true_masks_mm": floor.tcd_mm,
            "cm_true_mm": img.truth.cisterna_magna_mm, "cm_mm": got.cisterna_magna_mm, "cm_from_true_masks_mm": floor.cisterna_magna_mm,
            "tcd_centile": None if got.tcd is None else got.tcd.centile, "tcd_true_centile": img.truth.tcd_centile}


def _mae(rows: list[dict], key: str, truth: str) -> tuple[float | None, int]:
    err = [abs(r[key] - r[truth]) for r in rows if r[key] is not None]
    return (float(np.mean(err)) if err else None), len(rows) - len(err)


def summarise(rows: list[dict]) -> dict:
    out = {}
    groups = [("all", rows)] + [(c.value, [r for r in rows if r["condition"] == c.value]) for c in CONDITIONS]
    groups += [(f"ga_{lo:g}-{hi:g}", [r for r in rows if lo <= r["ga_weeks"] < hi]) for lo, hi in GA_BANDS]
    for name, sel in groups:
        if not sel:
            continue
        s = {"n": len(sel)}
        for k in ("cerebellum_dice", "cistern_dice", "head_dice"):
            s[k] = float(np.mean([r[k] for r in sel]))
        for k, key, truth in (("tcd", "tcd_mm", "tcd_true_mm"), ("cm", "cm_mm", "cm_true_mm"),
                              ("tcd_true_masks", "tcd_from_true_masks_mm", "tcd_true_mm"), ("cm_true_masks", "cm_from_true_masks_mm", "cm_true_mm")):
            s[f"{k}_mae_mm"], s[f"{k}_null"] = _mae(sel, key, truth)
        err = [r["tcd_mm"] - r["tcd_true_mm"] for r in sel if r["tcd_mm"] is not None]
        s["tcd_mean_error_mm"] = float(np.mean(err)) if err else None
        out[name] = s
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--cases", type=int, default=90)
    ap.add_argument("--seed", type=int, default=90016)
    ap.add_argument("--csv")
    ap.add_argument("--json")
    args = ap.parse_args()
    model = load_cerebellum_model(args.model)
    rows = [_case(model, args.seed, i) for i in range(args.cases)]
    summary = summarise(rows)
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=1)
    fmt = lambda v: "null" if v is None else f"{v:.3f}"  # noqa: E731
    print("group | n | cerebellum Dice | cistern Dice | head Dice | TCD MAE mm (null) | TCD mean error mm | CM MAE mm (null) | TCD MAE true masks | CM MAE true masks")
    for name, s in summary.items():
        print(f"{name} | {s['n']} | {s['cerebellum_dice']:.3f} | {s['cistern_dice']:.3f} | {s['head_dice']:.3f} | {fmt(s['tcd_mae_mm'])} ({s['tcd_null']}) | "
              f"{fmt(s['tcd_mean_error_mm'])} | {fmt(s['cm_mae_mm'])} ({s['cm_null']}) | {fmt(s['tcd_true_masks_mae_mm'])} | {fmt(s['cm_true_masks_mae_mm'])}")


if __name__ == "__main__":
    main()
