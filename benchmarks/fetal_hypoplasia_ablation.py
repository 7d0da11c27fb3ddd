"""Cerebellar hypoplasia on phantom hold-out: the classifier variants against each other and the TCD rule.

Renders (or reads, ``--holdout``) trans-cerebellar phantom cases ``0..N-1`` of ``--seed`` (never a
training seed: `fetal train hypoplasia` renders seeds 3000 + s and 4000 + s), the four conditions in
turn (:func:`neocus.fetal.hypoplasia_data.render_hypoplasia_pool`). For each model folder: the
calibrated and raw probability (the temperature and threshold were fitted on the validation pool by
the training), AUC with the DeLong interval, sensitivity and specificity at the validation threshold,
the fraction called positive per condition, Brier and ECE before and after calibration; paired DeLong
tests of every pair of methods. The networks get the image cropped on the true head box (as the
validation pool; the box stands in for the zoom); a model trained with ``--ga-and-scale`` (named
``VARIANT+ga_scale``) also gets each image's GA and the crop's true mm per pixel, and one trained with
``--median-tcd-px N`` too (``VARIANT+ga_tcdN``) is given the crop zoomed so that the median TCD for the
GA is N pixels, exactly as in its validation (:func:`neocus.fetal.hypoplasia_train.pool_inputs`).

The TCD rule (TCD < 5th centile for GA) runs on the true masks (the rule's upper bound) and, with
``--seg-model``, on the masks of that posterior-fossa model; it needs the pixel size and the GA (held
at 36 weeks after 36, as the phantom holds its TCD norm there); the networks need neither. A rule that
cannot measure (no cerebellum found) scores z = 0 and is not called positive (counted in ``n_missing``).
For reference, the AUC of the ratio TCD / head width from the true masks (no GA, no pixel size): what
the image alone tells once the scale is gone, as it is for the networks (they see a crop on the head);
and of that ratio with the GA (cross-validated logistic regression; still no pixel size).

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_hypoplasia_ablation.py --models DIR [DIR ...]
       [--seg-model DIR] [--holdout pool.npz] [--cases 240] [--seed 90017] [--json out.json] [--csv rows.csv]
       [--reliability out.png]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
from pathlib import Path

import numpy as np

from neocus.fetal.hypoplasia_data import CONDITIONS, cached_hypoplasia_pool, render_hypoplasia_pool
from neocus.fetal.hypoplasia_eval import binary_summary, tcd_rule
from neocus.fetal.hypoplasia_model import HypoplasiaCalibration, hypoplasia_logits, load_hypoplasia_model
from neocus.fetal.hypoplasia_train import pool_inputs
from neocus.fetal.phantom_masks import structure_masks
from neocus.results import rounded
from neocus.stats import auc_score, delong_test_paired

RULE_THRESHOLD = 1.6448536269514722  # -z at the 5th centile: TCD centile < 5 <=> -z > this


def model_name(config) -> str:
    """``VARIANT``, ``VARIANT+ga_scale`` (GA and crop scale to the head) or ``VARIANT+ga_tcdN`` (and the crop
    zoomed so that the median TCD for the GA is N pixels)."""
    if not config.ga_and_scale:
        return config.variant.value
    return config.variant.value + ("+ga_scale" if config.median_tcd_px is None else f"+ga_tcd{config.median_tcd_px:g}")


def rule_scores(pool, seg_model=None) -> tuple[np.ndarray, np.ndarray, int]:
    """-z and the call of the TCD rule per image (true masks, or ``seg_model``'s), and how many could not run."""
    from neocus.fetal.cerebellum import masks_from_classes, predict_posterior_fossa

    scores, calls, missing = [], [], 0
    for img, lab, px, ga in zip(pool.full_images, pool.full_labels, pool.pixel_mm, pool.ga_weeks):
        if seg_model is None:
            m = structure_masks(lab)
            m["head"] = m["skull"] | m["brain"]
        else:
            m = masks_from_classes(predict_posterior_fossa(img, seg_model)[1])
        r = tcd_rule(m["cerebellum"], m["cistern"], m["head"], pixel_mm=float(px), ga_weeks=min(float(ga), 36.0))
        missing += r.flag is None
        scores.append(0.0 if r.flag is None else r.score)
        calls.append(bool(r.flag))
    return np.array(scores), np.array(calls), missing


def ratio_scores(pool) -> np.ndarray:
    """Minus the ratio of the true cerebellum's transverse width to the head's (true masks, no GA, no
    pixel size): what an image alone, scale removed, tells (the ceiling of a GA-free rule on this phantom)."""
    from neocus.fetal.posterior_fossa import midline_axis, transverse_width_px

    out = []
    for lab in pool.full_labels:
        m = structure_masks(lab)
        head = m["skull"] | m["brain"]
        _, direction = midline_axis(head)
        out.append(-transverse_width_px(m["cerebellum"], direction_xy=direction) / transverse_width_px(head, direction_xy=direction))
    return np.array(out)


def ratio_with_ga(minus_ratio: np.ndarray, ga_weeks: np.ndarray, y: np.ndarray) -> np.ndarray:
    """10-fold cross-validated logistic regression of the label on log ratio, GA, GA^2 and log ratio x GA:
    what the ratio tells once the GA is known (still no pixel size)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    lr = np.log(-minus_ratio)
    x = np.c_[lr, ga_weeks, ga_weeks ** 2, lr * ga_weeks]
    return cross_val_predict(LogisticRegression(max_iter=2000, C=10.0), x, y, cv=10, method="predict_proba")[:, 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--seg-model")
    ap.add_argument("--holdout", help="read / keep the rendered hold-out here (.npz)")
    ap.add_argument("--cases", type=int, default=240)
    ap.add_argument("--seed", type=int, default=90017)
    ap.add_argument("--json")
    ap.add_argument("--csv")
    ap.add_argument("--reliability", help="reliability diagram (PNG) of every model, raw and calibrated")
    args = ap.parse_args()
    pool = (cached_hypoplasia_pool(args.holdout, args.cases, seed=args.seed, keep_full=True) if args.holdout
            else render_hypoplasia_pool(args.cases, seed=args.seed, keep_full=True))
    y, conds = pool.positive, [CONDITIONS[c].value for c in pool.conditions]
    rows = [{"case": i, "condition": c, "ga_weeks": round(float(g), 2), "tcd_true_centile": round(float(t), 2)}
            for i, (c, g, t) in enumerate(zip(conds, pool.ga_weeks, pool.tcd_centile))]
    summary, scores, curves = {"n": len(y), "seed": args.seed, "methods": {}, "tests": {}}, {}, {}
    for folder in args.models:
        model = load_hypoplasia_model(folder)
        name = model_name(model.config)
        x, side = pool_inputs(pool, model.config)
        logits = hypoplasia_logits(model.net, x, side=side)
        raw, cal = HypoplasiaCalibration().probability(logits), model.calibration.probability(logits)
        s = binary_summary(y, cal, threshold=model.calibration.threshold, conditions=conds, probability=True)
        s_raw = binary_summary(y, raw, threshold=0.5, conditions=conds, probability=True)
        summary["methods"][name] = s.to_dict() | {"brier_raw": s_raw.brier, "ece_raw": s_raw.ece,
                                                  "temperature": model.calibration.temperature}
        scores[name] = cal
        from neocus.diagnose.calibrate import reliability

        curves[f"{name} raw"], curves[f"{name} calibrated"] = reliability(y, raw), reliability(y, cal)
        for r, p in zip(rows, cal):
            r[f"p_{name}"] = round(float(p), 4)
    rule_sets = [("tcd_rule_true_masks", None)]
    if args.seg_model:
        from neocus.fetal.cerebellum import load_cerebellum_model

        rule_sets.append(("tcd_rule_predicted_masks", load_cerebellum_model(args.seg_model)))
    for name, seg in rule_sets:
        sc, calls, missing = rule_scores(pool, seg)
        s = binary_summary(y, sc, threshold=RULE_THRESHOLD, conditions=conds, probability=False)
        assert np.array_equal(sc >= RULE_THRESHOLD, calls), "the rule's call is -z >= 1.645"
        summary["methods"][name] = s.to_dict() | {"n_missing": missing}
        scores[name] = sc
        for r, v in zip(rows, sc):
            r[f"minus_z_{name}"] = round(float(v), 3)
    ratio = ratio_scores(pool)
    summary["methods"]["tcd_to_head_width_true_masks_no_ga"] = {"auc": auc_score(y, ratio)}
    summary["methods"]["tcd_to_head_width_true_masks_with_ga"] = {"auc": auc_score(y, ratio_with_ga(ratio, pool.ga_weeks, y))}
    for a, b in itertools.combinations(scores, 2):
        t = delong_test_paired(y, scores[a], scores[b])
        summary["tests"][f"{a} vs {b}"] = {"auc": t.auc, "auc_b": t.auc_b, "difference": t.difference, "ci": [t.ci.low, t.ci.high],
                                           "p_value": t.p_value}
    if args.reliability:
        from neocus.diagnose.calibrate import reliability_plot

        reliability_plot(curves, args.reliability, outcome="cerebellar hypoplasia")
    text = json.dumps(rounded(summary, 4), indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
