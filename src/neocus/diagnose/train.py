"""Training of the diagnosis model: one fold (:func:`train_fold`) and k-fold cross-validation by case
(:func:`train_cv`) with out-of-fold predictions, calibration and a bundle on disk.

AdamW with linear warm-up then cosine decay (per step); class-balanced CE for the case head; BCE for
the image findings; CE or ordinal loss for the grade; RegMixup; augmentation (flip with left/right view
swap, grey level, gain, rotation, blur, speckle, view drop). Every epoch writes ``last.pt`` (model,
optimiser, scheduler, random states, history), so ``resume`` continues where a run stopped; one line
per epoch goes to ``metrics.jsonl``. Seeds: numpy, torch and the case order all come from ``seed``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from neocus.atomic import atomic_target, atomic_write_text
from neocus.diagnose.augment import AugmentConfig, augment_case
from neocus.diagnose.config import N_GRADES, DiagnosisConfig, ModelConfig
from neocus.diagnose.data import Batch, CaseExample, ViewImage, collate
from neocus.diagnose.losses import case_loss, effective_number_weights, grade_loss, image_bce, mix_batch, mix_targets, one_hot
from neocus.diagnose.model import DiagnosisNet
from neocus.errors import NeocusError
from neocus.results import AsDict
from neocus.vocab import View

LAST_CHECKPOINT = "last.pt"
METRICS_LOG = "metrics.jsonl"


@dataclass(frozen=True)
class TrainConfig(AsDict):
    epochs: int = 20
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_fraction: float = 0.1
    cb_beta: float = 0.999
    image_weight: float = 1.0
    case_weight: float = 1.0
    grade_weight: float = 0.5
    regmixup_alpha: float = 10.0  # 0: no RegMixup
    regmixup_eta: float = 1.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    use_augment: bool = True
    seed: int = 0
    device: str = "cpu"
    backbone_weights: str | None = None  # a local timm ConvNeXt state dict


def lr_lambda(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """Linear warm-up to 1, then cosine decay to 0 (multiplier of the base learning rate)."""
    warm = max(1, int(round(total_steps * warmup_fraction)))

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total_steps - warm))
        return 0.5 * (1.0 + math.cos(math.pi * t))

    return f


def draw_views(case: CaseExample, rng: np.random.Generator) -> dict[View, ViewImage]:
    """The case's views with each still replaced, at random, by one of its jittered neighbours (if any)."""
    out = {}
    for v, vi in case.views.items():
        alts = case.alternates.get(v, ())
        k = int(rng.integers(0, len(alts) + 1)) if alts else 0
        out[v] = vi if k == 0 else alts[k - 1]
    return out


def _targets(batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Probability targets (case [B,2], grade [B,5]) and 'known' masks."""
    known_case = batch.severe >= 0
    known_grade = batch.grade >= 0
    return one_hot(batch.severe, 2), one_hot(batch.grade, N_GRADES), known_case, known_grade


def batch_loss(model: DiagnosisNet, batch: Batch, cfg: TrainConfig, class_weights: torch.Tensor,
               *, rng: np.random.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss of a batch (with RegMixup when ``rng`` is given and alpha > 0) and its parts."""
    out = model(batch.images, batch.views, batch.present, batch.metadata)
    case_t, grade_t, known_case, known_grade = _targets(batch)
    parts = {"image": image_bce(out.image_logits, batch.findings, batch.present)}
    parts["case"] = case_loss(out.case_logits[known_case], case_t[known_case], weights=class_weights) if known_case.any() else out.case_logits.sum() * 0
    parts["grade"] = grade_loss(out.grade_logits[known_grade], grade_t[known_grade]) if known_grade.any() else out.grade_logits.sum() * 0
    total = cfg.image_weight * parts["image"] + cfg.case_weight * parts["case"] + cfg.grade_weight * parts["grade"]
    if rng is not None and cfg.regmixup_alpha > 0 and len(batch.severe) > 1 and bool((known_case & known_grade).all()):
        lam = float(rng.beta(cfg.regmixup_alpha, cfg.regmixup_alpha))
        perm = torch.from_numpy(rng.permutation(len(batch.severe)))
        images, mixed = mix_batch(batch.images, batch.views, batch.present, lam, perm)
        mix_out = model(images, batch.views, batch.present, batch.metadata)
        f_mix = torch.where(mixed.unsqueeze(-1) & (batch.findings >= 0) & (batch.findings[perm] >= 0),
                            mix_targets(batch.findings, perm, lam), batch.findings)
        mix_total = (cfg.image_weight * image_bce(mix_out.image_logits, f_mix, batch.present)
                     + cfg.case_weight * case_loss(mix_out.case_logits, mix_targets(case_t, perm, lam), weights=class_weights)
                     + cfg.grade_weight * grade_loss(mix_out.grade_logits, mix_targets(grade_t, perm, lam)))
        parts["regmixup"] = mix_total
        total = total + cfg.regmixup_eta * mix_total
    return total, {k: float(v.detach()) for k, v in parts.items()}


@dataclass(frozen=True)
class EpochRecord(AsDict):
    fold: int
    epoch: int
    lr: float
    train_loss: float
    parts: dict[str, float]
    val_loss: float | None
    val_auc: float | None


@dataclass(frozen=True)
class FoldResult(AsDict):
    fold: int
    history: tuple[EpochRecord, ...]
    val_case_ids: tuple[str, ...]
    val_severe_prob: tuple[float, ...]  # raw (uncalibrated) out-of-fold probabilities
    weights_path: Path


def _save_checkpoint(path: Path, state: dict) -> None:
    with atomic_target(path) as tmp:
        torch.save(state, tmp)


@torch.no_grad()
def predict_severe(model: DiagnosisNet, cases: Sequence[CaseExample], *, batch_size: int = 8, device: str = "cpu") -> np.ndarray:
    """Raw probability of severe for each case (no TTA), in eval mode."""
    model.eval()
    probs = []
    for i in range(0, len(cases), batch_size):
        chunk = cases[i:i + batch_size]
        b = collate([c.views for c in chunk], chunk).to(device)
        probs.append(model(b.images, b.views, b.present, b.metadata).severe_prob().cpu().numpy())
    return np.concatenate(probs) if probs else np.zeros(0)


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else None


def train_fold(
    train_cases: Sequence[CaseExample],
    val_cases: Sequence[CaseExample],
    *,
    model_config: ModelConfig,
    train_config: TrainConfig,
    out_dir: str | Path,
    fold: int = 0,
    resume: bool = False,
    stop_after: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> FoldResult:
    """Train one model; writes ``last.pt``, ``metrics.jsonl`` and ``fold{fold}.pt`` (weights only) into ``out_dir``.

    ``stop_after`` ends this call after that many epochs (of the schedule of ``train_config.epochs``),
    e.g. to split a long run over time-boxed sessions; ``resume`` continues it."""
    cfg = train_config
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not train_cases:
        raise NeocusError("no training cases", where="train_cases")
    torch.manual_seed(cfg.seed + 1000 * fold)
    rng = np.random.default_rng([cfg.seed, fold])
    model = DiagnosisNet(model_config).to(cfg.device)
    if cfg.backbone_weights:
        from neocus.nets.convnext import load_timm_weights

        load_timm_weights(model.backbone, cfg.backbone_weights)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_cases) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg.epochs * steps_per_epoch, cfg.warmup_fraction))
    counts = np.bincount([c.severe for c in train_cases if c.severe is not None], minlength=2)
    class_weights = effective_number_weights(counts, beta=cfg.cb_beta)
    history: list[EpochRecord] = []
    start = 0
    ckpt = out / LAST_CHECKPOINT
    if resume and ckpt.is_file():
        state = torch.load(ckpt, map_location=cfg.device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        history = [EpochRecord(**h) for h in state["history"]]
        start = int(state["epoch"]) + 1
    y_val = np.array([c.severe if c.severe is not None else -1 for c in val_cases])
    end = cfg.epochs if stop_after is None else min(cfg.epochs, start + stop_after)
    for epoch in range(start, end):
        model.train()
        order = rng.permutation(len(train_cases))
        losses, parts_sum = [], {}
        for s in range(steps_per_epoch):
            chunk = [train_cases[i] for i in order[s * cfg.batch_size:(s + 1) * cfg.batch_size]]
            views = [draw_views(c, rng) for c in chunk]
            if cfg.use_augment:
                views = [augment_case(v, cfg.augment, rng=rng) for v in views]
            batch = collate(views, chunk).to(cfg.device)
            loss, parts = batch_loss(model, batch, cfg, class_weights.to(cfg.device), rng=rng)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + v
            if progress is not None:
                progress(f"fold {fold} epoch {epoch + 1}/{cfg.epochs}", epoch * steps_per_epoch + s + 1, cfg.epochs * steps_per_epoch)
        val_loss = val_auc = None
        if val_cases:
            with torch.no_grad():
                model.eval()
                vb = collate([c.views for c in val_cases], list(val_cases)).to(cfg.device)
                val_loss = float(batch_loss(model, vb, replace(cfg, regmixup_alpha=0.0), class_weights.to(cfg.device))[0])
                val_auc = _auc(y_val[y_val >= 0], predict_severe(model, [c for c in val_cases if c.severe is not None], device=cfg.device))
        rec = EpochRecord(fold, epoch, float(sched.get_last_lr()[0]), float(np.mean(losses)),
                          {k: v / steps_per_epoch for k, v in parts_sum.items()}, val_loss, val_auc)
        history.append(rec)
        with open(out / METRICS_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec.to_dict()) + "\n")
        _save_checkpoint(ckpt, {
            "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "epoch": epoch,
            "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "history": [h.to_dict() for h in history],
        })
    weights = out / f"fold{fold}.pt"
    _save_checkpoint(weights, model.state_dict())
    probs = predict_severe(model, val_cases, device=cfg.device) if val_cases else np.zeros(0)
    return FoldResult(fold, tuple(history), tuple(c.case_id for c in val_cases), tuple(float(p) for p in probs), weights)


def cv_folds(cases: Sequence[CaseExample], *, n_folds: int, seed: int) -> dict[int, list[str]]:
    """Folds by case, stratified on the severe label, cases of one subject (``group``) kept together."""
    from neocus.data.splits import stratified_folds

    return stratified_folds(
        [c.case_id for c in cases], strata=[c.severe if c.severe is not None else -1 for c in cases],
        n_folds=n_folds, seed=seed, groups=[c.group or c.case_id for c in cases],
    )


def train_cv(
    cases: Sequence[CaseExample],
    *,
    config: DiagnosisConfig,
    train_config: TrainConfig,
    out_dir: str | Path,
    n_folds: int = 5,
    only_folds: Sequence[int] | None = None,
    resume: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[FoldResult]:
    """k-fold CV; each fold trains in ``out_dir/fold{k}``; the bundle (``config.json``, ``fold{k}.pt``,
    ``calibration.json``, ``oof.csv``, ``folds.json``) is written into ``out_dir``. ``n_folds`` 1 trains
    one model on every case (no validation, no calibration)."""
    from neocus.diagnose.bundle import write_bundle

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_id = {c.case_id: c for c in cases}
    folds = {0: []} if n_folds == 1 else cv_folds(cases, n_folds=n_folds, seed=train_config.seed)
    atomic_write_text(out / "folds.json", json.dumps({str(k): v for k, v in folds.items()}, indent=1) + "\n")
    results = []
    for k, val_ids in folds.items():
        if only_folds is not None and k not in only_folds:
            continue
        val = [by_id[i] for i in val_ids]
        train = [c for c in cases if c.case_id not in set(val_ids)]
        results.append(train_fold(train, val, model_config=config.model, train_config=train_config,
                                  out_dir=out / f"fold{k}", fold=k, resume=resume, progress=progress))
    write_bundle(out, config=replace(config, folds=tuple(r.fold for r in results)), results=results, cases=by_id)
    return results
