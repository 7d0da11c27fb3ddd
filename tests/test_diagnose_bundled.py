"""The diagnosis model shipped in models/diagnosis: loads without a path, fits its size budget, reads a case."""

from __future__ import annotations

import torch
from diagnosis_testdata import synthetic_case

from neocus.diagnose.data import CaseExample
from neocus.diagnose.infer import diagnose_case
from neocus.diagnose.bundle import DEFAULT_BUNDLE, load_bundle
from neocus.diagnose.config import CalibrationMethod
from neocus.vocab import Decision

BUDGET_BYTES = 15_000_000


def test_the_bundled_model_loads_without_a_path():
    bundle = load_bundle(None)
    assert bundle.root == DEFAULT_BUNDLE
    assert len(bundle.models) == len(bundle.config.folds) >= 2
    assert bundle.config.calibration is CalibrationMethod.TEMPERATURE and bundle.calibration.method is CalibrationMethod.TEMPERATURE
    assert sum(p.stat().st_size for p in DEFAULT_BUNDLE.iterdir() if p.is_file()) <= BUDGET_BYTES
    assert (DEFAULT_BUNDLE / "README.md").is_file()  # the model card


def test_the_bundled_model_reads_a_case():
    torch.set_num_threads(1)
    bundle = load_bundle(None)
    size = bundle.config.model.image_size_hw[0]
    case = synthetic_case(5, severe=True, size=size)
    result = diagnose_case(bundle, CaseExample(case.case_id, case.views))
    assert result.decision in (Decision.SEVERE, Decision.NON_SEVERE)
    assert 0.0 <= result.severe_prob <= 1.0
