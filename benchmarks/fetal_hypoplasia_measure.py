"""Cerebellar hypoplasia through ``fetal measure`` end to end, on the phantom hold-out.

Each full render of the hold-out pool (:func:`neocus.fetal.hypoplasia_data.cached_hypoplasia_pool`, seed
90017, 240 images, by default at the phantom's own 432x576) goes through ``measure_fetal_head`` exactly as
``fetal measure IMAGE --plane trans-cerebellar --ga GA --pixel-mm PX`` runs it: the bundled skull model
finds the head (its box centres the classifier's crop), the bundled posterior-fossa model measures TCD
and cisterna magna depth, the bundled hypoplasia model (classifier + fused score) makes the call. No
true mask is used. Prints the AUC (DeLong CI) of the block's probability and of the classifier alone,
sensitivity / specificity of the flag and of the TCD rule beside it, how many blocks were null or fell
back to the classifier, and the same with the GA held at 36 weeks (``--ga-cap 36``: the phantom holds
its sizes after 36 weeks, while the norms keep growing).

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_hypoplasia_measure.py --holdout holdout432.npz
       [--render-hw 432x576] [--hypoplasia-model DIR] [--ga-cap 36] [--json out.json]
"""

from __future__ import annotations

import argparse

import numpy as np
from fetal_hypoplasia_score import rates, report  # the sibling benchmark (benchmarks/ is on the path when run as a script)

from neocus.fetal.hypoplasia_data import DEFAULT_PHANTOM_HW, cached_hypoplasia_pool
from neocus.stats import roc_auc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout", required=True, help="hold-out pool .npz (240 images of --holdout-seed; rendered when missing)")
    ap.add_argument("--holdout-seed", type=int, default=90017, help="seed of the hold-out pool (never a training or validation seed; default 90017)")
    ap.add_argument("--render-hw", default=f"{DEFAULT_PHANTOM_HW[0]}x{DEFAULT_PHANTOM_HW[1]}")
    ap.add_argument("--hypoplasia-model", default=None, help="default: the bundled models/fetal/hypoplasia")
    ap.add_argument("--ga-cap", type=float, default=None, help="give fetal measure min(GA, this) instead of the GA")
    ap.add_argument("--json")
    args = ap.parse_args()
    from neocus.fetal.cerebellum import default_cerebellum_dir, load_cerebellum_model
    from neocus.fetal.hypoplasia_measure import load_hypoplasia_bundle
    from neocus.fetal.measure import FetalImage, measure_fetal_head
    from neocus.fetal.skull_model import load_skull_model

    render_hw = tuple(int(v) for v in args.render_hw.lower().split("x"))
    pool = cached_hypoplasia_pool(args.holdout, 240, seed=args.holdout_seed, keep_full=True, render_hw=render_hw)
    skull, fossa = load_skull_model(None), load_cerebellum_model(default_cerebellum_dir())
    bundle = load_hypoplasia_bundle(args.hypoplasia_model)
    rows = []
    for img, ga, px in zip(pool.full_images, pool.ga_weeks, pool.pixel_mm):
        g = float(ga) if args.ga_cap is None else min(float(ga), args.ga_cap)
        r, _ = measure_fetal_head(FetalImage(img, None), skull, ga_weeks=g, pixel_mm=float(px), plane="trans_cerebellar",
                                  fossa_model=fossa, hypoplasia_model=bundle)
        h = r.hypoplasia
        rows.append({"probability": np.nan if h is None else h.probability, "flag": bool(h is not None and h.flag),
                     "classifier": np.nan if h is None else h.classifier["probability"],
                     "method": None if h is None else h.method, "rule": None if h is None else h.tcd_rule["call"], "seconds": r.seconds})
    y = pool.positive
    p = np.array([r["probability"] for r in rows])
    ok = np.isfinite(p)
    out = {"render_hw": list(render_hw), "ga_cap": args.ga_cap, "n": len(rows), "n_null": int((~ok).sum()),
           "n_classifier_alone": sum(r["method"] == "classifier" for r in rows),
           "median_seconds": float(np.median([r["seconds"] for r in rows]))}
    for name, s in (("probability", p), ("classifier_alone", np.array([r["classifier"] for r in rows]))):
        a = roc_auc(y[ok], s[ok])
        out[name] = {"auc": a.auc, "ci": [a.ci.low, a.ci.high]}
    out["probability"] |= rates(y[ok], np.array([r["flag"] for r in rows])[ok])
    rule = np.array([bool(r["rule"]) for r in rows])
    out["tcd_rule"] = rates(y[ok], rule[ok]) | {"n_no_call": sum(r["rule"] is None for r in rows)}
    report(out, args.json)


if __name__ == "__main__":
    main()
