"""neocus.stats: the paper's analyses as plain functions on arrays, returning small typed results.

Conventions (docs/conventions.md): arrays first (``y_true``, ``y_score``; a second model's ``y_score_b``,
a second sample's ``y_true_b, y_score_b``), options keyword-only, tests ``alternative="two-sided"`` by
default. Labels 0/1 (1 = condition present), higher score = more likely positive, proportions and
AUCs as fractions, intervals two-sided at ``level`` (default 0.95). Results are frozen dataclasses with
``to_dict()``. Bad input raises :class:`StatsInputError` (a :class:`neocus.errors.NeocusError`); valid
but degenerate input gives a defined result plus a :class:`DegenerateDataWarning`.
"""

from neocus.errors import StatsInputError

# --- input checks and warnings
from neocus.stats.checks import Alternative, DegenerateDataWarning

# --- proportions and binary metrics
from neocus.stats.proportions import (
    BinaryMetrics,
    ConfusionMatrix,
    ProportionMethod,
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
from neocus.stats.results import (
    AsDict,
    AucComparisonResult,
    AucResult,
    ComparisonResult,
    EstimateResult,
    Interval,
    ProportionResult,
)

# --- ROC, AUC and DeLong
from neocus.stats.delong import (
    DelongResult,
    delong_covariance,
    delong_test_equal_aucs,
    delong_test_paired,
    delong_test_unpaired,
)
from neocus.stats.roc import AucBootstrap, CiMethod, RocCurve, auc_score, bootstrap_auc_ci, plot_roc, roc_auc, roc_curve

# --- operating thresholds
from neocus.stats.thresholds import (
    ThresholdResult,
    threshold_for_sensitivity,
    threshold_for_specificity,
    youden_threshold,
)

__all__ = [
    # errors and checks
    "StatsInputError",
    "Alternative",
    "DegenerateDataWarning",
    # proportions
    "BinaryMetrics",
    "ConfusionMatrix",
    "ProportionMethod",
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
    "AsDict",
    "AucComparisonResult",
    "AucResult",
    "ComparisonResult",
    "EstimateResult",
    "Interval",
    "ProportionResult",
    # roc
    "AucBootstrap",
    "CiMethod",
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

# ==================================================================================================
# Agreement, reader studies, subgroups and the evaluation report
# ==================================================================================================

# --- agreement between raters
from neocus.stats.agreement import (  # noqa: E402
    FleissKappaResult,
    KappaResult,
    KappaWeights,
    cohens_kappa,
    cohens_kappa_table,
    fleiss_kappa,
    fleiss_kappa_table,
)

# --- reader studies and blinding
from neocus.stats.readers import (  # noqa: E402
    BlindingIndexResult,
    BlindingReport,
    ReaderGroupSummary,
    ReaderResult,
    ai_vs_readers_test,
    bang_blinding_index,
    binarize_calls,
    blinding_indices,
    chi_square_test,
    compare_rates,
    delta_auc_test,
    james_blinding_index,
    mean_over_readers,
    reader_result,
    summarize_readers,
    welch_t_test,
    wilcoxon_signed_rank,
)

# --- subgroup analyses
from neocus.stats.subgroups import SubgroupAnalysis, benjamini_hochberg, subgroup_analysis  # noqa: E402

# --- evaluation files and report (neocus evaluate-predictions)
from neocus.stats.inputs import Predictions, ReaderReads, load_predictions, load_readers  # noqa: E402
from neocus.stats.report import EvaluationReport, build_report, write_report  # noqa: E402

__all__ += [
    # agreement
    "FleissKappaResult",
    "KappaResult",
    "KappaWeights",
    "cohens_kappa",
    "cohens_kappa_table",
    "fleiss_kappa",
    "fleiss_kappa_table",
    # readers
    "BlindingIndexResult",
    "BlindingReport",
    "ReaderGroupSummary",
    "ReaderResult",
    "ai_vs_readers_test",
    "bang_blinding_index",
    "binarize_calls",
    "blinding_indices",
    "chi_square_test",
    "compare_rates",
    "delta_auc_test",
    "james_blinding_index",
    "mean_over_readers",
    "reader_result",
    "summarize_readers",
    "welch_t_test",
    "wilcoxon_signed_rank",
    # subgroups
    "SubgroupAnalysis",
    "benjamini_hochberg",
    "subgroup_analysis",
    # evaluation report
    "EvaluationReport",
    "Predictions",
    "ReaderReads",
    "build_report",
    "load_predictions",
    "load_readers",
    "write_report",
]
