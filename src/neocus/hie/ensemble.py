"""An ensemble model folder from finished cross-validation runs on the same folds.

``build_ensemble(runs, data_dir, out_dir)`` writes a model folder that
:func:`neocus.hie.load_model` reads: ``members/<run name>/`` (each run's ``config.json`` and
``fold_*.pt``), the mean of the runs' out-of-fold maps in ``oof/`` (still out of fold: every fold model
of every member never saw the patients it predicts), and the post-processing (threshold, minimum
size, Z-ADC gate, per-component filter) fitted on those mean maps exactly as training fits it
(:func:`~neocus.hie.train.judge_run`: nested by fold for ``cv_metrics.json`` / ``cv_cases.csv``, on all
patients for ``postprocess.json``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neocus.atomic import atomic_target, atomic_write_text, check_output_dir
from neocus.errors import DatasetError
from neocus.hie import postprocess as pp
from neocus.hie.infer import CONFIG_NAME, MEMBERS_DIR
from neocus.hie.models import ModelConfig
from neocus.hie.train import judge_run, load_samples
from neocus.results import AsDict

MEMBERS_FILE = "members.json"


@dataclass(frozen=True)
class EnsembleResult(AsDict):
    out_dir: Path
    members: tuple[str, ...]
    post: pp.PostProcess
    dice: float  # out-of-fold mean Dice over patients, post-processing fitted without each patient's fold
    metrics_path: Path


def _run_facts(run: Path) -> tuple[ModelConfig, list[list[str]], list[Path]]:
    try:
        config = ModelConfig.from_json(json.loads((run / CONFIG_NAME).read_text(encoding="utf-8")))
        folds = [sorted(f) for f in json.loads((run / "folds.json").read_text(encoding="utf-8"))["folds"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"not a finished neocus HIE training output: {exc}", where=run, hint="give folders written by `neocus hie train`, run to the end") from None
    weights = [run / f"fold_{k}.pt" for k in range(len(folds))]
    missing = [p.name for p in weights if not p.is_file()] + [f"oof/{c}.npy" for f in folds for c in f if not (run / "oof" / f"{c}.npy").is_file()]
    if missing:
        raise DatasetError(f"lacks {', '.join(missing[:3])}" + (" ..." if len(missing) > 3 else ""), where=run, hint="finish that training run first")
    return config, folds, weights


def build_ensemble(
    runs: Sequence[str | Path],
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> EnsembleResult:
    """Equal-weight ensemble of ``runs`` (at least two, same folds and channels) as a model folder."""
    runs = [Path(r) for r in runs]
    names = [r.resolve().name for r in runs]
    if len(runs) < 2:
        raise DatasetError("an ensemble needs at least two runs", where="runs", hint="give two or more training outputs")
    if len(set(names)) != len(names):
        raise DatasetError(f"two runs share a folder name ({', '.join(names)}); members are named by it", where="runs", hint="rename one run folder")
    facts = [_run_facts(r) for r in runs]
    config, folds, _ = facts[0]
    for run, (cfg, fl, _) in zip(runs[1:], facts[1:]):
        if fl != folds:
            raise DatasetError(f"holds out other patients than {runs[0]}: the mean of their maps would not be out of fold", where=run, hint="combine runs made with the same data, folds and seed")
        if cfg.channels != config.channels:
            raise DatasetError(f"takes channels {','.join(cfg.channels)}, {runs[0]} {','.join(config.channels)}", where=run, hint="combine runs trained with the same `channels`")
    out = Path(out_dir)
    check_output_dir(out, force=force, marker=MEMBERS_FILE, kind="an ensemble folder")
    if out.exists():
        shutil.rmtree(out)
    (out / "oof").mkdir(parents=True)
    for run, name, (_, _, weights) in zip(runs, names, facts):
        member = out / MEMBERS_DIR / name
        member.mkdir(parents=True)
        shutil.copy2(run / CONFIG_NAME, member / CONFIG_NAME)
        for w in weights:
            shutil.copy2(w, member / w.name)
    if progress:
        progress("reading the patients")
    samples = load_samples(data_dir, config)
    if sorted(s.case_id for s in samples) != sorted(c for f in folds for c in f):
        raise DatasetError("holds other patients than the runs were trained on", where=data_dir, hint="give the dataset the runs were trained on")
    for cid in (c for f in folds for c in f):
        mean = np.mean([np.load(r / "oof" / f"{cid}.npy").astype(np.float32) for r in runs], axis=0)
        with atomic_target(out / "oof" / f"{cid}.npy") as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, mean.astype(np.float16))
    atomic_write_text(out / "folds.json", (runs[0] / "folds.json").read_text(encoding="utf-8"))
    if progress:
        progress("fitting the post-processing on the out-of-fold maps")
    post, metrics_path, mean_dice = judge_run(out, samples, folds, config=config)
    atomic_write_text(out / MEMBERS_FILE, json.dumps({"members": names, "sources": [str(r.resolve()) for r in runs]}, indent=2) + "\n")
    return EnsembleResult(out_dir=out, members=tuple(names), post=post, dice=mean_dice, metrics_path=metrics_path)
