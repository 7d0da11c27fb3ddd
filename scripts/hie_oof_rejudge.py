"""Out-of-fold figures of finished `neocus hie train` runs under other inference choices, without training.

Usage: python scripts/hie_oof_rejudge.py tta RUN_DIR DATA_DIR OUT_DIR   # left-right flip TTA
       python scripts/hie_oof_rejudge.py paired RUN_A RUN_B            # per-patient comparison of two judged runs

`tta`: every patient's map still comes only from the fold model that never saw it, and the
post-processing (threshold, minimum size, Z-ADC gate, per-component filter) is refitted on out-of-fold
maps only, exactly as `neocus hie train` does (`judge_run`); OUT_DIR gets `cv_metrics.json` /
`cv_cases.csv` / `postprocess.json` and the mean Dice is printed. (The mean of several runs' maps, an
ensemble, is `neocus hie ensemble RUN... --data DIR --out DIR`.)
`paired`: B - A per patient from the two runs' `cv_cases.csv`: mean difference with a Student-t
interval, Wilcoxon signed-rank p, how many patients gain / lose; for Dice and NSD.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from neocus.hie.infer import load_model, predict_proba
from neocus.hie.metrics import summarise_metric
from neocus.hie.train import judge_run, load_samples


def tta(run_dir: str, data: str, out_dir: str) -> None:
    run, out = Path(run_dir), Path(out_dir)
    folds = json.loads((run / "folds.json").read_text(encoding="utf-8"))["folds"]
    (out / "oof").mkdir(parents=True, exist_ok=True)
    shutil.copy(run / "folds.json", out / "folds.json")
    model = load_model(run)
    config = dataclasses.replace(model.config, tta_flip=True)
    samples = load_samples(data, config)
    for k, held in enumerate(folds):
        for s in (s for s in samples if s.case_id in held):
            np.save(out / "oof" / f"{s.case_id}.npy", predict_proba([model.networks[k]], s.image, config).astype(np.float16))
    post, _, mean_dice = judge_run(out, samples, folds, config=config)
    print(f"{out.name}: out-of-fold mean Dice {mean_dice:.4f}; post-processing {post.to_dict()}")


def paired(run_a: str, run_b: str, *, metrics: tuple[str, ...] = ("dice", "nsd")) -> None:
    from scipy.stats import wilcoxon

    rows = [{r["case_id"]: r for r in csv.DictReader(open(Path(p) / "cv_cases.csv", encoding="utf-8"))} for p in (run_a, run_b)]
    if rows[0].keys() != rows[1].keys():
        raise SystemExit("the two runs judged different patients")
    ids = sorted(rows[0])
    for name in metrics:
        a = np.array([float(rows[0][c][name]) for c in ids])
        b = np.array([float(rows[1][c][name]) for c in ids])
        diff = b - a
        s = summarise_metric(diff.tolist())
        p = wilcoxon(b, a).pvalue if np.any(diff != 0) else 1.0
        print(
            f"{name}: B - A mean {s.mean:+.4f} [{s.ci[0]:+.4f}, {s.ci[1]:+.4f}] (n={s.n}), median {np.median(diff):+.4f}, "
            f"Wilcoxon p {p:.3f}; B better for {int((diff > 0).sum())}, worse for {int((diff < 0).sum())}, equal for {int((diff == 0).sum())}"
        )


if __name__ == "__main__":
    {"tta": tta, "paired": paired}[sys.argv[1]](*sys.argv[2:])
