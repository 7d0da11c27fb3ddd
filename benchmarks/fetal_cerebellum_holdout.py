"""Posterior-fossa segmentation on phantom hold-out: cerebellum and cistern Dice, TCD and cisterna
magna depth from the predicted masks against the phantom's truth, per condition and per GA band
(18-25, 25-32, 32-40 weeks), and the TCD z-score error (predicted minus true, the norm at min(GA, 36)).

Renders trans-cerebellar cases ``0..N-1`` of ``--seed`` (never a training seed: `fetal train
cerebellum` uses the pools of seeds 1000 + s and 2000 + s) with the conditions normal, cerebellar
hypoplasia and mega cisterna magna in turn and the three looks in turn, at the phantom's default
size; predicts with the model folder; measures with :func:`neocus.fetal.posterior_fossa.measure_posterior_fossa`
on the predicted masks and, as the floor of the method, on the true label masks. The TCD is given by
both calipers: pixel centres + 1 (``tcd``) and the sub-pixel 0.5 iso-line of the cerebellum
probability (``tcd_iso``; on the true masks, of the 0/1 mask).

With ``--zoom DIR`` (a zoom-stage folder, :mod:`neocus.fetal.fossa_zoom`; ``bundled``: the bundled
one) every case is scored twice from the same first-stage prediction: the first stage alone
(``first.``) and with the zoom stage (``zoom.``).

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_cerebellum_holdout.py --model DIR
       [--zoom DIR|bundled] [--cases 90] [--seed 90016] [--csv rows.csv] [--json summary.json]
"""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np

from neocus.fetal.cerebellum import CLASS_NAMES, load_cerebellum_model, masks_from_classes, predict_posterior_fossa
from neocus.fetal.fossa_zoom import apply_zoom, default_zoom_dir, load_zoom_model
from neocus.fetal.norms import FetalMeasure, assess
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


def _tcd_z(tcd_mm: float | None, ga: float) -> float | None:
    return None if tcd_mm is None else assess(tcd_mm, measure=FetalMeasure.TCD, ga_weeks=ga).z


def _scores(prob: np.ndarray, true: dict, img, ga: float) -> dict:
    """Dice, both TCD calipers, cisterna magna and TCD z of one prediction ``prob`` [C, H, W]."""
    pred = masks_from_classes(prob.argmax(0).astype(np.uint8))
    got = measure_posterior_fossa(pred["cerebellum"], pred["cistern"], pred["head"], pixel_mm=img.pixel_mm, ga_weeks=ga)
    iso = measure_posterior_fossa(pred["cerebellum"], pred["cistern"], pred["head"], pixel_mm=img.pixel_mm, ga_weeks=ga,
                                  cerebellum_prob=prob[CLASS_NAMES.index("cerebellum")])
    return {"cerebellum_dice": _dice(pred["cerebellum"], true["cerebellum"]), "cistern_dice": _dice(pred["cistern"], true["cistern"]),
            "head_dice": _dice(pred["head"], true["skull"] | true["brain"]), "tcd_mm": got.tcd_mm, "tcd_iso_mm": iso.tcd_mm,
            "cm_mm": got.cisterna_magna_mm, "tcd_z": _tcd_z(got.tcd_mm, ga), "tcd_iso_z": _tcd_z(iso.tcd_mm, ga)}


def _case(model, zoom, seed: int, i: int) -> dict:
    rng = case_rng(seed, i)
    cond, look = CONDITIONS[i % 3], list(FetalLook)[(i // 3) % len(FetalLook)]
    img = simulate_fetal_image(float(rng.uniform(*GA_RANGE_WEEKS)), plane=FetalPlane.TRANS_CEREBELLAR, condition=cond, look=look, rng=rng)
    true = structure_masks(img.labels)
    ga = min(img.truth.ga_weeks, 36.0)
    head = true["skull"] | true["brain"]
    floor = measure_posterior_fossa(true["cerebellum"], true["cistern"], head, pixel_mm=img.pixel_mm)
    floor_iso = measure_posterior_fossa(true["cerebellum"], true["cistern"], head, pixel_mm=img.pixel_mm,
                                        cerebellum_prob=true["cerebellum"].astype(np.float32))
    row = {"case": i, "condition": cond.value, "look": look.value, "ga_weeks": round(img.truth.ga_weeks, 2), "pixel_mm": round(img.pixel_mm, 4),
           "tcd_true_mm": img.truth.tcd_mm, "tcd_true_z": _tcd_z(img.truth.tcd_mm, ga), "tcd_from_true_masks_mm": floor.tcd_mm,
           "tcd_iso_from_true_masks_mm": floor_iso.tcd_mm, "cm_true_mm": img.truth.cisterna_magna_mm, "cm_from_true_masks_mm": floor.cisterna_magna_mm}
    prob, _ = predict_posterior_fossa(img.image, model, zoom=False)
    variants = {"first": prob} | ({"zoom": apply_zoom(img.image, prob, zoom)} if zoom is not None else {})
    for name, p in variants.items():
        row |= {f"{name}.{k}": v for k, v in _scores(p, true, img, ga).items()}
    return row


def _mean_abs(rows: list[dict], key: str, truth: str) -> tuple[float | None, int]:
    err = [abs(r[key] - r[truth]) for r in rows if r[key] is not None and r[truth] is not None]
    return (float(np.mean(err)) if err else None), len(rows) - len(err)


def _mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    return (float(np.mean(values)), float(np.std(values))) if values else (None, None)


def summarise(rows: list[dict], variants: tuple[str, ...]) -> dict:
    out = {}
    groups = [("all", rows)] + [(c.value, [r for r in rows if r["condition"] == c.value]) for c in CONDITIONS]
    groups += [(f"ga_{lo:g}-{hi:g}", [r for r in rows if lo <= r["ga_weeks"] < hi]) for lo, hi in GA_BANDS]
    for name, sel in groups:
        if not sel:
            continue
        s = {"n": len(sel)}
        for k, key, truth in (("tcd_true_masks", "tcd_from_true_masks_mm", "tcd_true_mm"), ("tcd_iso_true_masks", "tcd_iso_from_true_masks_mm", "tcd_true_mm"),
                              ("cm_true_masks", "cm_from_true_masks_mm", "cm_true_mm")):
            s[f"{k}_mae_mm"], s[f"{k}_null"] = _mean_abs(sel, key, truth)
        for v in variants:
            for k in ("cerebellum_dice", "cistern_dice", "head_dice"):
                s[f"{v}.{k}"] = float(np.mean([r[f"{v}.{k}"] for r in sel]))
            for k, truth in (("tcd", "tcd_true_mm"), ("tcd_iso", "tcd_true_mm"), ("cm", "cm_true_mm")):
                s[f"{v}.{k}_mae_mm"], s[f"{v}.{k}_null"] = _mean_abs(sel, f"{v}.{k}_mm", truth)
            for k in ("tcd", "tcd_iso"):
                s[f"{v}.{k}_mean_error_mm"] = _mean_sd([r[f"{v}.{k}_mm"] - r["tcd_true_mm"] for r in sel if r[f"{v}.{k}_mm"] is not None])[0]
                s[f"{v}.{k}_z_error_mean"], s[f"{v}.{k}_z_error_sd"] = _mean_sd(
                    [r[f"{v}.{k}_z"] - r["tcd_true_z"] for r in sel if r[f"{v}.{k}_z"] is not None and r["tcd_true_z"] is not None])
        out[name] = s
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--zoom", default=None, help="zoom-stage folder, or 'bundled'")
    ap.add_argument("--cases", type=int, default=90)
    ap.add_argument("--seed", type=int, default=90016)
    ap.add_argument("--csv")
    ap.add_argument("--json")
    args = ap.parse_args()
    model = load_cerebellum_model(args.model, zoom=False)
    zoom = None if args.zoom is None else load_zoom_model(default_zoom_dir() if args.zoom == "bundled" else args.zoom)
    variants = ("first", "zoom") if zoom is not None else ("first",)
    rows = [_case(model, zoom, args.seed, i) for i in range(args.cases)]
    summary = summarise(rows, variants)
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=1)
    fmt = lambda v: "null" if v is None else f"{v:.3f}"  # noqa: E731
    for v in variants:
        print(f"\n[{v}] group | n | cerebellum Dice | cistern Dice | head Dice | TCD MAE mm (null) | TCD iso MAE mm | TCD mean error mm | "
              "TCD iso mean error | TCD z error (pixel) | TCD z error (iso) | CM MAE mm (null)")
        for name, s in summary.items():
            print(f"{name} | {s['n']} | {s[v + '.cerebellum_dice']:.3f} | {s[v + '.cistern_dice']:.3f} | {s[v + '.head_dice']:.3f} | "
                  f"{fmt(s[v + '.tcd_mae_mm'])} ({s[v + '.tcd_null']}) | {fmt(s[v + '.tcd_iso_mae_mm'])} | {fmt(s[v + '.tcd_mean_error_mm'])} | "
                  f"{fmt(s[v + '.tcd_iso_mean_error_mm'])} | {fmt(s[v + '.tcd_z_error_mean'])} +- {fmt(s[v + '.tcd_z_error_sd'])} | "
                  f"{fmt(s[v + '.tcd_iso_z_error_mean'])} +- {fmt(s[v + '.tcd_iso_z_error_sd'])} | {fmt(s[v + '.cm_mae_mm'])} ({s[v + '.cm_null']})")
    print("\n[true masks] group | TCD MAE mm (pixel caliper) | TCD MAE mm (iso caliper) | CM MAE mm")
    for name, s in summary.items():
        print(f"{name} | {fmt(s['tcd_true_masks_mae_mm'])} | {fmt(s['tcd_iso_true_masks_mae_mm'])} | {fmt(s['cm_true_masks_mae_mm'])}")


if __name__ == "__main__":
    main()
