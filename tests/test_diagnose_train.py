"""Training: a short run whose loss falls, resume from the last checkpoint, CV by case, augmentation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from diagnosis_testdata import synthetic_case, synthetic_cases

from neocus.diagnose.augment import AugmentConfig, augment_case, mirror_case
from neocus.diagnose.bundle import load_bundle
from neocus.diagnose.config import DiagnosisConfig, ModelConfig
from neocus.diagnose.train import LAST_CHECKPOINT, METRICS_LOG, TrainConfig, cv_folds, lr_lambda, train_cv, train_fold
from neocus.vocab import Finding, View

MODEL = ModelConfig(image_size_hw=(32, 32), dropout=0.0, drop_path_rate=0.0)
FAST = TrainConfig(epochs=6, batch_size=4, lr=2e-3, regmixup_alpha=0.0, use_augment=False, warmup_fraction=0.05, seed=1)


@pytest.fixture(scope="module")
def cases():
    return synthetic_cases(8)


def test_short_training_run_loss_falls(cases, tmp_path):
    torch.set_num_threads(1)
    res = train_fold(cases, cases[:2], model_config=MODEL, train_config=FAST, out_dir=tmp_path)
    losses = [h.train_loss for h in res.history]
    assert losses[-1] < 0.7 * losses[0]
    log = [json.loads(line) for line in (tmp_path / METRICS_LOG).read_text().splitlines()]
    assert [r["epoch"] for r in log] == list(range(6)) and "case" in log[0]["parts"]
    assert (tmp_path / "fold0.pt").is_file() and len(res.val_severe_prob) == 2


def test_resume_continues_exactly(cases, tmp_path):
    cfg = TrainConfig(epochs=2, batch_size=4, regmixup_alpha=10.0, use_augment=True, seed=2)
    straight = train_fold(cases[:4], [], model_config=MODEL, train_config=cfg, out_dir=tmp_path / "a")
    first = train_fold(cases[:4], [], model_config=MODEL, train_config=cfg, out_dir=tmp_path / "b", stop_after=1)
    assert len(first.history) == 1 and (tmp_path / "b" / LAST_CHECKPOINT).is_file()
    resumed = train_fold(cases[:4], [], model_config=MODEL, train_config=cfg, out_dir=tmp_path / "b", resume=True)
    assert [h.epoch for h in resumed.history] == [0, 1]
    assert resumed.history[-1].train_loss == pytest.approx(straight.history[-1].train_loss, rel=1e-4)
    a = torch.load(straight.weights_path, weights_only=True)
    b = torch.load(resumed.weights_path, weights_only=True)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_cv_folds_keep_subjects_together_and_stratify():
    cases = synthetic_cases(20)
    # two exams of one baby
    cases[1] = cases[1].__class__(**{**cases[1].__dict__, "group": "baby"})
    cases[3] = cases[3].__class__(**{**cases[3].__dict__, "group": "baby"})
    folds = cv_folds(cases, n_folds=5, seed=0)
    fold_of = {cid: k for k, ids in folds.items() for cid in ids}
    assert fold_of["syn1"] == fold_of["syn3"]
    sev = {c.case_id: c.severe for c in cases}
    assert all(sum(sev[c] for c in ids) >= 1 for ids in folds.values())
    assert sorted(fold_of) == sorted(sev)


def test_train_cv_writes_a_loadable_bundle(cases, tmp_path):
    cfg = TrainConfig(epochs=1, batch_size=4, regmixup_alpha=0.0, use_augment=False)
    results = train_cv(cases, config=DiagnosisConfig(model=MODEL), train_config=cfg, out_dir=tmp_path, n_folds=2)
    assert [r.fold for r in results] == [0, 1]
    oof = {c for r in results for c in r.val_case_ids}
    assert oof == {c.case_id for c in cases}  # every case predicted once, out of fold
    bundle = load_bundle(tmp_path)
    assert bundle.config.folds == (0, 1) and len(bundle.models) == 2
    assert (tmp_path / "oof.csv").read_text().count("\n") == len(cases) + 1


def test_lr_schedule_warms_up_then_decays():
    f = lr_lambda(100, 0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(55) == pytest.approx(0.5, abs=0.02) and f(99) < 0.01


def test_flip_swaps_parasagittal_views_and_mirrors_coronal():
    case = synthetic_case(3, severe=True)
    m = mirror_case(case.views)
    assert np.array_equal(m[View.AHV].image, case.views[View.AHV].image[:, ::-1])
    assert np.array_equal(m[View.LPSV].image, case.views[View.RPSV].image)
    assert np.array_equal(m[View.RPSV].image, case.views[View.LPSV].image)
    assert np.array_equal(m[View.MSV].image, case.views[View.MSV].image)
    assert np.array_equal(m[View.AHV].target_mask, case.views[View.AHV].target_mask[:, ::-1])


def test_augmentation_keeps_labels_and_at_least_three_views():
    case = synthetic_case(4, severe=True)
    rng = np.random.default_rng(0)
    cfg = AugmentConfig(drop_view_p=1.0)
    for _ in range(10):
        out = augment_case(case.views, cfg, rng=rng)
        assert 4 <= len(out) <= 5
        for v, vi in out.items():
            assert vi.image.dtype == np.uint8 and vi.image.shape == (32, 32)
            assert vi.findings == case.views[v].findings
    assert any(out[v].findings == frozenset({Finding.NORMAL}) for v in out if v in (View.MSV, View.RPSV, View.LPSV))
