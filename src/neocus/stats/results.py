"""Small frozen result objects returned by :mod:`neocus.stats`.

Conventions shared by every result:

* Probabilities, proportions and AUCs are fractions in [0, 1] (never percent).
* ``level`` is the two-sided confidence level as a fraction (0.95 means a 95 % interval).
* A NaN ``estimate`` means "undefined for this data" (e.g. PPV when nothing was predicted positive);
  the function that produced it also emitted a :class:`~neocus.stats.checks.DegenerateDataWarning`.
* ``method`` is a short human-readable name of how a number was computed, for reports.

Every result has ``to_dict()`` giving plain JSON-ready Python values (NaN becomes ``None``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neocus.results import AsDict, to_plain  # noqa: F401  (re-exported: the stats results build on them)


@dataclass(frozen=True)
class Interval(AsDict):
    """A two-sided confidence interval ``[low, high]`` at confidence ``level`` made by ``method``."""

    low: float
    high: float
    level: float
    method: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low

    def __str__(self) -> str:
        return f"{self.low:.3f}-{self.high:.3f}"


@dataclass(frozen=True)
class ProportionResult(AsDict):
    """``count`` successes out of ``total``; ``estimate = count / total`` (NaN when ``total == 0``).

    For ``total == 0`` the interval is the uninformative ``[0, 1]``.
    """

    estimate: float
    count: int
    total: int
    ci: Interval

    def __str__(self) -> str:
        return f"{self.estimate:.3f} ({self.ci}) [{self.count}/{self.total}]"


@dataclass(frozen=True)
class EstimateResult(AsDict):
    """A point estimate with an interval, e.g. F1 with a percentile-bootstrap CI.

    ``n_resamples`` is the number of bootstrap resamples used (0 when the CI is analytic).
    """

    estimate: float
    ci: Interval
    n_resamples: int = 0

    def __str__(self) -> str:
        return f"{self.estimate:.3f} ({self.ci})"


@dataclass(frozen=True)
class AucResult(AsDict):
    """Area under the ROC curve with its standard error and confidence interval.

    ``auc`` is the Mann-Whitney estimate P(score_pos > score_neg) + 0.5 P(tie), higher score = more
    likely positive. ``se`` is the DeLong standard error and ``variance`` its square (also reported for
    bootstrap CIs; NaN when it cannot be estimated, e.g. a single case in a class). ``method`` names
    the CI method.
    """

    auc: float
    se: float
    ci: Interval
    method: str
    n_pos: int
    n_neg: int
    variance: float = math.nan

    def __str__(self) -> str:
        return f"{self.auc:.3f} ({self.ci})"


@dataclass(frozen=True)
class ComparisonResult(AsDict):
    """A statistical test comparing two (or more) quantities.

    ``statistic`` is named by ``statistic_name`` (e.g. ``"Z"`` for the paired DeLong test, ``"D"`` for
    the unpaired one, ``"chi2"``, ``"W"``); ``p_value`` belongs to ``alternative`` (``"two-sided"``,
    ``"greater"``: first > second, ``"less"``). ``difference`` is first minus second (NaN when not a
    difference of two), with standard error ``se`` and interval ``ci`` when the method provides them.
    ``df`` holds degrees of freedom where the reference distribution has them. ``estimates`` holds the
    compared quantities in order (e.g. both AUCs).
    """

    statistic: float
    p_value: float
    method: str
    alternative: str = "two-sided"
    difference: float = math.nan
    se: float = math.nan
    ci: Interval | None = None
    statistic_name: str = ""
    df: float = math.nan
    estimates: tuple[float, ...] = ()

    def __str__(self) -> str:
        name = self.statistic_name or "statistic"
        return f"{self.method}: {name} = {self.statistic:.4g}, p = {self.p_value:.4g} ({self.alternative})"


@dataclass(frozen=True)
class AucComparisonResult(ComparisonResult):
    """A DeLong test of two AUCs: a :class:`ComparisonResult` that names them. ``auc`` belongs to the
    first model / sample (``y_score``), ``auc_b`` to the second (``y_score_b``); ``difference`` is
    ``auc - auc_b``."""

    auc: float = math.nan
    auc_b: float = math.nan
