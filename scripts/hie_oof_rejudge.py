"""Out-of-fold figures of finished `neocus hie train` runs under other inference choices, without training.

Usage: python scripts/hie_oof_rejudge.py tta RUN_DIR DATA_DIR OUT_DIR        # left-right flip TTA
       python scripts/hie_oof_rejudge.py ensemble DATA_DIR OUT_DIR RUN_DIR...  # mean of runs' OOF maps

Every patient's map still comes only from fold models that never saw it (for an ensemble the runs must
share their folds), and the post-processing is refitted on out-of-fold maps only, as in training;
OUT_DIR gets the run's `cv_metrics.json` / `cv_cases.csv` and the mean Dice is printed.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from neocus.hie.infer import load_model, predict_proba
from neocus.hie.models import Channel
from neocus.hie.train import judge_out_of_fold, load_samples


def main(mode: str, *args: str) -> None:
    if mode == "tta":
        runs, data, out = [Path(args[0])], args[1], Path(args[2])
    else:
        data, out, runs = args[0], Path(args[1]), [Path(a) for a in args[2:]]
    folds = json.loads((runs[0] / "folds.json").read_text(encoding="utf-8"))["folds"]
    if any(json.loads((r / "folds.json").read_text(encoding="utf-8"))["folds"] != folds for r in runs):
        raise SystemExit("the runs hold out different patients: an ensemble of them would not be out of fold")
    (out / "oof").mkdir(parents=True, exist_ok=True)
    shutil.copy(runs[0] / "folds.json", out / "folds.json")
    model = load_model(runs[0])
    config = dataclasses.replace(model.config, tta_flip=True) if mode == "tta" else model.config
    samples = load_samples(data, config)
    for k, held in enumerate(folds):
        for s in (s for s in samples if s.case_id in held):
            if mode == "tta":
                prob = predict_proba([model.networks[k]], s.image, config)
            else:
                prob = np.mean([np.load(r / "oof" / f"{s.case_id}.npy").astype(np.float32) for r in runs], axis=0)
            np.save(out / "oof" / f"{s.case_id}.npy", prob.astype(np.float16))
    gates = {s.case_id: s.image[list(config.channels).index(Channel.ZLOW)] for s in samples} if Channel.ZLOW in config.channels else None
    post, _, mean_dice = judge_out_of_fold(out, samples, folds, gate_masks=gates)
    print(f"{out.name}: out-of-fold mean Dice {mean_dice:.4f}; post-processing {post.to_dict()}")


if __name__ == "__main__":
    main(*sys.argv[1:])
