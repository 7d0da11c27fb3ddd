"""A trained diagnosis model on disk: ``config.json``, ``fold{k}.pt`` (state dicts), ``calibration.json``
(fitted on out-of-fold predictions), ``oof.csv`` and ``reliability.png``.

The default bundle lives in ``models/diagnosis`` of the source tree and is found without a flag.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from neocus.atomic import atomic_write_text
from neocus.bundled import bundled_model_dir
from neocus.diagnose.calibrate import Calibration, fit_calibration, reliability, reliability_plot
from neocus.diagnose.config import CalibrationMethod, DiagnosisConfig, config_json, load_config
from neocus.diagnose.model import DiagnosisNet
from neocus.diagnose.storage import expand_state
from neocus.errors import InputFileError, NeocusError

CONFIG_FILE = "config.json"
CALIBRATION_FILE = "calibration.json"
DEFAULT_BUNDLE = bundled_model_dir("diagnosis")


def write_bundle(out: Path, *, config: DiagnosisConfig, results: Sequence, cases: Mapping) -> Path:
    """Collect fold weights into ``out``, fit the calibration on the out-of-fold predictions, write the files."""
    ids, y, p = [], [], []
    for r in results:
        if r.weights_path.resolve() != (out / r.weights_path.name).resolve():
            shutil.copyfile(r.weights_path, out / r.weights_path.name)
        for cid, prob in zip(r.val_case_ids, r.val_severe_prob):
            if cases[cid].severe is not None:
                ids.append(cid)
                y.append(cases[cid].severe)
                p.append(prob)
    calib = Calibration()
    if config.calibration is not CalibrationMethod.NONE and len(set(y)) == 2:
        calib = fit_calibration(y, p, method=config.calibration)
        raw, cal = reliability(y, p), reliability(y, calib.apply(p))
        reliability_plot({"out-of-fold, raw": raw, f"out-of-fold, {config.calibration.value}": cal}, out / "reliability.png")
        summary = {"n": len(y), "ece_raw": raw.ece, "ece_calibrated": cal.ece}
    else:
        config = replace(config, calibration=CalibrationMethod.NONE)
        summary = {"n": len(y)}
    atomic_write_text(out / CALIBRATION_FILE, json.dumps({**calib.to_dict(), "oof": summary}, indent=2) + "\n")
    rows = ["case_id,label,raw_prob,calibrated_prob"] + [f"{c},{lab},{q:.6f},{float(calib.apply(q)):.6f}" for c, lab, q in zip(ids, y, p)]
    atomic_write_text(out / "oof.csv", "\n".join(rows) + "\n")
    atomic_write_text(out / CONFIG_FILE, config_json(config))
    return out


@dataclass(frozen=True, eq=False)
class Bundle:
    """A loaded bundle: its config, one model per fold (eval mode) and the calibration."""

    root: Path
    config: DiagnosisConfig
    models: tuple[DiagnosisNet, ...]
    calibration: Calibration

    def select_folds(self, folds: Sequence[int]) -> Bundle:
        index = {f: i for i, f in enumerate(self.config.folds)}
        bad = [f for f in folds if f not in index]
        if bad:
            raise NeocusError(f"no fold {bad[0]} in the model", where="folds", hint=f"folds: {', '.join(map(str, self.config.folds))}")
        return replace(self, config=replace(self.config, folds=tuple(folds)), models=tuple(self.models[index[f]] for f in folds))


def load_bundle(root: str | Path | None = None, *, device: str = "cpu") -> Bundle:
    """Load a bundle folder (None: the bundled default) onto ``device`` (cpu, cuda). Missing files,
    unreadable weights and weights that do not fit the config's architecture are :class:`InputFileError`s."""
    root = Path(root) if root is not None else DEFAULT_BUNDLE
    if not (root / CONFIG_FILE).is_file():
        hint = "train one with 'neocus train diagnosis' and pass its folder" if root == DEFAULT_BUNDLE else "give the folder written by 'neocus train diagnosis'"
        raise InputFileError(f"no diagnosis model here ({CONFIG_FILE} missing)", where=root, hint=hint)
    config = load_config(root / CONFIG_FILE)
    if not config.folds:
        raise InputFileError("the config lists no folds", where=root / CONFIG_FILE)
    models = []
    for f in config.folds:
        path = root / f"fold{f}.pt"
        if not path.is_file():
            raise InputFileError("model weights not found", where=path, hint="the config lists this fold; retrain or fix folds")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt file: torch raises several types
            raise InputFileError(f"cannot read model weights ({type(exc).__name__})", where=path) from None
        model = DiagnosisNet(config.model)
        try:
            model.load_state_dict(expand_state(state))
        except (RuntimeError, TypeError, AttributeError) as exc:
            first = str(exc).strip().splitlines()
            raise InputFileError(
                "model file does not match the config" + (f" ({first[1].strip()[:160]})" if len(first) > 1 else ""),
                where=path, hint=f"check model settings in {root / CONFIG_FILE} (backbone, heads, metadata)",
            ) from None
        models.append(model.eval().to(device))
    calib = Calibration()
    if (root / CALIBRATION_FILE).is_file():
        try:
            calib = Calibration.from_dict(json.loads((root / CALIBRATION_FILE).read_text(encoding="utf-8")))
        except (ValueError, TypeError, AttributeError) as exc:
            raise InputFileError(f"cannot read the calibration ({exc})", where=root / CALIBRATION_FILE) from None
    return Bundle(root, config, tuple(models), calib)


def oof_predictions(root: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels and raw probabilities of the bundle's out-of-fold predictions (``oof.csv``)."""
    rows = (Path(root) / "oof.csv").read_text(encoding="utf-8").strip().splitlines()[1:]
    y = np.array([int(r.split(",")[1]) for r in rows])
    p = np.array([float(r.split(",")[2]) for r in rows])
    return y, p
