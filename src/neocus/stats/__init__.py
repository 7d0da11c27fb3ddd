"""neocus.stats: the paper's analyses as plain functions on arrays, returning small typed results.

Conventions: labels 0/1 (1 = condition present), higher score = more likely positive, proportions and
AUCs as fractions, intervals two-sided at ``level`` (default 0.95). Bad input raises
:class:`neocus.errors.StatsInputError`; valid but degenerate input gives a defined result plus a
:class:`DegenerateDataWarning`.
"""

# --- input checks and warnings
from neocus.stats.checks import DegenerateDataWarning

# --- proportions and binary metrics
from neocus.stats.proportions import (
    BinaryMetrics,
    ConfusionMatrix,
    accuracy,
    binary_metrics,
    f1_score,
    npv,
    ppv,
    proportion,
    proportion_ci,
    sensitivity,
    specificity,
)

# --- result objects
from neocus.stats.results import AucResult, ComparisonResult, EstimateResult, Interval, ProportionResult

# --- ROC, AUC and DeLong
from neocus.stats.roc import (
    DelongResult,
    RocCurve,
    auc_score,
    bootstrap_auc_ci,
    delong_covariance,
    delong_test_equal_aucs,
    delong_test_paired,
    delong_test_unpaired,
    plot_roc,
    roc_auc,
    roc_curve,
)

# --- operating thresholds
from neocus.stats.thresholds import (
    ThresholdResult,
    threshold_for_sensitivity,
    threshold_for_specificity,
    youden_threshold,
)

__all__ = [
    # checks
    "DegenerateDataWarning",
    # proportions
    "BinaryMetrics",
    "ConfusionMatrix",
    "accuracy",
    "binary_metrics",
    "f1_score",
    "npv",
    "ppv",
    "proportion",
    "proportion_ci",
    "sensitivity",
    "specificity",
    # results
    "AucResult",
    "ComparisonResult",
    "EstimateResult",
    "Interval",
    "ProportionResult",
    # roc
    "DelongResult",
    "RocCurve",
    "auc_score",
    "bootstrap_auc_ci",
    "delong_covariance",
    "delong_test_equal_aucs",
    "delong_test_paired",
    "delong_test_unpaired",
    "plot_roc",
    "roc_auc",
    "roc_curve",
    # thresholds
    "ThresholdResult",
    "threshold_for_sensitivity",
    "threshold_for_specificity",
    "youden_threshold",
]
