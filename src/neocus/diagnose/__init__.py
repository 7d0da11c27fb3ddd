"""Stage 2: multi-view diagnosis of severe lesions with Papile grading (NCLS, Lin et al. 2025).

Python API::

    from neocus.diagnose import load_bundle, diagnose
    bundle = load_bundle("runs/diag")          # None: the bundled models/diagnosis
    result = diagnose(["case_dir"], bundle=bundle)
    result.decision, result.severe_prob, result.grade, result.readout.tier, result.trace

Training: :func:`neocus.diagnose.train.train_cv`; evaluation: :func:`neocus.diagnose.evaluate.evaluate_diagnosis`.
"""

from neocus.diagnose.bundle import Bundle, load_bundle
from neocus.diagnose.config import CalibrationMethod, DiagnosisConfig, GradeLoss, ModelConfig, RuleConfig, TtaMode, load_config
from neocus.diagnose.infer import CaseDiagnosis, diagnose, diagnose_case, load_case_images
from neocus.diagnose.rule import RuleTrace, apply_rule

__all__ = [
    "Bundle", "CalibrationMethod", "CaseDiagnosis", "DiagnosisConfig", "GradeLoss", "ModelConfig", "RuleConfig", "RuleTrace",
    "TtaMode", "apply_rule", "diagnose", "diagnose_case", "load_bundle", "load_case_images", "load_config",
]
