"""Cerebellar hypoplasia on phantom hold-out: the TCD rule on predicted masks, the anatomy-constrained
score (:mod:`neocus.fetal.hypoplasia_score`) and the classifiers, as one ablation with paired DeLong tests.

Two pools of trans-cerebellar phantom images (:func:`neocus.fetal.hypoplasia_data.cached_hypoplasia_pool`,
full renders kept, 216x288 or, with ``--render-hw 432x576``, the phantom's own size): the **validation** pool (``--val``, seed 4000, 400 images: the hypoplasia
classifier's own validation seed, never trained on) and the **hold-out** (``--holdout``, seed 90017,
240 images: the classifier's hold-out). On each image the posterior-fossa model (``--seg-model``)
predicts the masks and :func:`~neocus.fetal.fossa_measure.fossa_measurement` gives the TCD (sub-pixel, as
``fetal measure``) and cisterna magna z-scores for the GA (held at 36 weeks after 36, as the phantom holds its norms there;
as in benchmarks/fetal_hypoplasia_ablation.py). Methods:

* ``tcd_rule``: -z of the TCD (no TCD: 0, counted in ``n_missing``), called at the 5th centile;
* ``score``: the logistic score over (TCD z, cisterna magna z), fitted on the validation pool only;
* with ``--classifiers``: each classifier's logit on the pool's squashed head crop as in its
  validation (a GA-aware model gets GA and scale), ``full:CLASSIFIER``, its logit by the single-image
  path of ``fetal measure`` (:func:`~neocus.fetal.hypoplasia_model.model_input` on the full render, head
  box of the true head), and ``score+CLASSIFIER``, the logistic over (TCD z, cisterna magna z, logit),
  fitted on the validation pool only;
* ``tcd_rule_true_masks``: the rule on the phantom's true masks (the ceiling).

``validation`` in the output: each method's AUC on the validation pool (the fitted scores by 5-fold
cross-validation there), by which the bundled method is chosen; the hold-out only scores.
``--write-score FILE`` writes the score fitted on the whole validation pool, fused with the first
classifier's single-image logit when ``--classifiers`` are given (what ``fetal measure`` computes: the
bundled ``models/fetal/hypoplasia/hypoplasia_score.json``).

Usage: OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/fetal_hypoplasia_score.py --seg-model DIR
       --val val.npz --holdout holdout.npz [--render-hw 432x576] [--classifiers DIR ...] [--cache DIR]
       [--write-score FILE] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from neocus.fetal.hypoplasia_data import RENDER_HW, cached_hypoplasia_pool, head_box_xywh
from neocus.fetal.hypoplasia_score import FEATURES, FUSED_FEATURES, fit_hypoplasia_score, save_hypoplasia_score
from neocus.results import rounded
from neocus.stats import delong_test_paired, roc_auc

RULE_THRESHOLD = 1.6448536269514722  # -z at the 5th centile


def rates(y: np.ndarray, call: np.ndarray) -> dict[str, float]:
    """Sensitivity and specificity of boolean calls against labels."""
    return {"sensitivity": float(call[y == 1].mean()), "specificity": float(1 - call[y == 0].mean())}


def report(summary: dict, json_path: str | None) -> None:
    """Print the summary as JSON (rounded to 4 places) and write it to ``json_path`` when given."""
    text = json.dumps(rounded(summary, 4), indent=1)
    print(text)
    if json_path:
        Path(json_path).write_text(text + "\n", encoding="utf-8")


def measure_pool(pool, seg_model) -> dict[str, np.ndarray]:
    """TCD and cisterna magna z-scores per image from the predicted masks and (TCD) from the true masks; NaN where none."""
    from neocus.fetal.fossa_measure import fossa_measurement
    from neocus.fetal.phantom_masks import structure_masks
    from neocus.fetal.posterior_fossa import measure_posterior_fossa

    def z(r):
        return np.nan if r is None or r.z is None else float(r.z)

    out: dict[str, list[float]] = {"tcd_z": [], "cm_z": [], "true_tcd_z": []}
    for img, lab, px, ga in zip(pool.full_images, pool.full_labels, pool.pixel_mm, pool.ga_weeks):
        r, _ = fossa_measurement(img, seg_model, pixel_mm=float(px), ga_weeks=min(float(ga), 36.0))  # as fetal measure (sub-pixel TCD)
        t = structure_masks(lab)
        rt = measure_posterior_fossa(t["cerebellum"], t["cistern"], t["skull"] | t["brain"], pixel_mm=float(px), ga_weeks=min(float(ga), 36.0))
        out["tcd_z"].append(z(r.tcd))
        out["cm_z"].append(z(r.cisterna_magna))
        out["true_tcd_z"].append(z(rt.tcd))
    return {k: np.array(v) for k, v in out.items()}


def classifier_logits(pool, folders) -> dict[str, np.ndarray]:
    """Each classifier's logits on the pool's crops (``logit:NAME``) and by the single-image path on the full
    renders (``full:NAME``, GA-aware models only: the path ``fetal measure`` takes)."""
    from neocus.fetal.cerebellum import class_map
    from neocus.fetal.hypoplasia_model import hypoplasia_logits, load_hypoplasia_model, model_input
    from neocus.fetal.hypoplasia_train import pool_inputs

    out = {}
    for folder in folders:
        model = load_hypoplasia_model(folder)
        x, side = pool_inputs(pool, model.config)
        out[f"logit:{Path(folder).name}"] = hypoplasia_logits(model.net, x, side=side)
        if model.config.ga_and_scale:
            full = [model_input(img, model, head_box_xywh=head_box_xywh(class_map(lab)), ga_weeks=float(ga), pixel_mm=float(px))
                    for img, lab, ga, px in zip(pool.full_images, pool.full_labels, pool.ga_weeks, pool.pixel_mm)]
            out[f"full:{Path(folder).name}"] = hypoplasia_logits(model.net, np.stack([f[0] for f in full])[:, None],
                                                                 side=np.concatenate([f[1] for f in full]))
    return out


def cv_probability(x: np.ndarray, y: np.ndarray, *, features) -> np.ndarray:
    """5-fold cross-validated probabilities of the score fitted like the bundled one (validation pool only)."""
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros(len(y))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(x, y):
        out[test] = fit_hypoplasia_score(x[train], y[train], features=features).probability(np.nan_to_num(x[test], nan=0.0))
    return out


def features(pool, seg_model, classifiers, cache: Path | None, tag: str) -> dict[str, np.ndarray]:
    path = None if cache is None else cache / f"features_{tag}.npz"
    if path is not None and path.is_file():
        return dict(np.load(path))
    f = measure_pool(pool, seg_model) | classifier_logits(pool, classifiers)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **f)
    return f


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seg-model", required=True)
    ap.add_argument("--val", required=True, help="validation pool .npz (seed 4000, 400 images; rendered when missing)")
    ap.add_argument("--holdout", required=True, help="hold-out pool .npz (240 images of --holdout-seed; rendered when missing)")
    ap.add_argument("--holdout-seed", type=int, default=90017, help="seed of the hold-out pool (never a training or validation seed; default 90017)")
    ap.add_argument("--classifiers", nargs="*", default=[])
    ap.add_argument("--cache", help="folder for the per-image features (re-used when there)")
    ap.add_argument("--render-hw", default=f"{RENDER_HW[0]}x{RENDER_HW[1]}", help="render size HxW of both pools (3:4; default 216x288)")
    ap.add_argument("--write-score", help="write the score fitted on the validation pool here (JSON; fused with the first classifier)")
    ap.add_argument("--json")
    args = ap.parse_args()
    from neocus.fetal.cerebellum import load_cerebellum_model

    seg = load_cerebellum_model(args.seg_model)
    cache = Path(args.cache) if args.cache else None
    render_hw = tuple(int(v) for v in args.render_hw.lower().split("x"))
    val = cached_hypoplasia_pool(args.val, 400, seed=4000, keep_full=True, render_hw=render_hw)
    hold = cached_hypoplasia_pool(args.holdout, 240, seed=args.holdout_seed, keep_full=True, render_hw=render_hw)
    fv, fh = (features(p, seg, args.classifiers, cache, t) for p, t in ((val, "val"), (hold, "holdout")))
    yv, yh = val.positive, hold.positive
    logits = [k for k in fh if k.startswith(("logit:", "full:"))]  # the pool crop's, then the single-image path's
    fitted_on = f"phantom validation pool, seed 4000, 400 images rendered at {render_hw[0]}x{render_hw[1]}"
    score = fit_hypoplasia_score(np.c_[fv["tcd_z"], fv["cm_z"]], yv, fitted_on=fitted_on)
    scores = {"tcd_rule": -np.nan_to_num(fh["tcd_z"], nan=0.0),
              "score": score.probability(np.nan_to_num(np.c_[fh["tcd_z"], fh["cm_z"]], nan=0.0))}
    on_val = {"tcd_rule": -np.nan_to_num(fv["tcd_z"], nan=0.0), "score": cv_probability(np.c_[fv["tcd_z"], fv["cm_z"]], yv, features=FEATURES)}
    summary = {"render_hw": list(render_hw), "n": int(len(yh)), "n_positive": int(yh.sum()), "score": score.to_dict(), "methods": {},
               "validation": {}, "tests": {}, "n_missing_tcd": int(np.isnan(fh["tcd_z"]).sum()), "n_missing_cm": int(np.isnan(fh["cm_z"]).sum())}
    fused_scores = {}
    for k in logits:
        name = k.removeprefix("logit:")
        scores[name], on_val[name] = fh[k], fv[k]
        xv, xh = np.c_[fv["tcd_z"], fv["cm_z"], fv[k]], np.c_[fh["tcd_z"], fh["cm_z"], fh[k]]
        fused_scores[name] = fit_hypoplasia_score(xv, yv, features=FUSED_FEATURES, fitted_on=f"{fitted_on}; classifier {name}")
        scores[f"score+{name}"] = fused_scores[name].probability(np.nan_to_num(xh, nan=0.0))
        on_val[f"score+{name}"] = cv_probability(xv, yv, features=FUSED_FEATURES)
        summary[f"score+{name}"] = fused_scores[name].to_dict()
    # what `fetal measure` runs: the fused score of the first classifier's single-image path (else its pool crops, else the score)
    first = Path(args.classifiers[0]).name if args.classifiers else None
    written = fused_scores.get(f"full:{first}", fused_scores.get(first, score))
    if args.write_score:
        save_hypoplasia_score(written, args.write_score)
    scores["tcd_rule_true_masks"] = -np.nan_to_num(fh["true_tcd_z"], nan=0.0)
    on_val["tcd_rule_true_masks"] = -np.nan_to_num(fv["true_tcd_z"], nan=0.0)
    for name, s in on_val.items():
        r = roc_auc(yv, s)
        summary["validation"][name] = {"auc": r.auc, "ci": [r.ci.low, r.ci.high]}
    for name, s in scores.items():
        r = roc_auc(yh, s)
        summary["methods"][name] = {"auc": r.auc, "ci": [r.ci.low, r.ci.high]}
    calls = {"tcd_rule": scores["tcd_rule"] >= RULE_THRESHOLD, "score": scores["score"] >= score.threshold}
    for name, fused in fused_scores.items():
        calls[f"score+{name}"] = scores[f"score+{name}"] >= fused.threshold
    for name, call in calls.items():
        summary["methods"][name] |= rates(yh, call)
    for a, b in itertools.combinations(scores, 2):
        t = delong_test_paired(yh, scores[a], scores[b])
        summary["tests"][f"{a} vs {b}"] = {"difference": t.difference, "ci": [t.ci.low, t.ci.high], "p_value": t.p_value}
    report(summary, args.json)


if __name__ == "__main__":
    main()
