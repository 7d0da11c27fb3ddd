"""Calls per condition (the NCLS paper's Fig. 2b): for every finding, how many cases were called
severe and how many non-severe, and how many of those calls were right.

Conditions come from the condition columns of the predictions file (see :mod:`neocus.stats.inputs`):

* one row per 0/1 finding column present, in the paper's order (:data:`DISPLAY_ORDER`); with an
  ``ivh_grade`` column, IVH is split into one row per Papile grade I-IV instead;
* a ``normal`` row from the ``normal`` column, or, when it is absent but finding columns are present,
  from the cases with no finding (and IVH grade 0 where graded).

Each case counts in one row only, its most serious condition: severe conditions first (PVL, then
hydrocephalus, IVH grade IV, III), then ungraded IVH, then the non-severe ones (IVH grade II, I,
ventricular dilation, ependymal cyst, normal); so a grade III IVH with dilation is an "IVH grade III"
case, not a "ventricular dilation" one. Cases with no condition flagged are in no row.

The *expected* call of a condition follows the vocabulary's severity rule (:func:`neocus.vocab.is_severe`): PVL, hydrocephalus and IVH grade
III-IV are severe; normal, ependymal cyst, ventricular dilation and IVH grade I-II are non-severe; an
ungraded IVH row has no expected call (``expected_severe is None``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neocus.errors import StatsInputError
from neocus.stats.inputs import Predictions
from neocus.stats.results import AsDict
from neocus.vocab import DECISION_TEXT, Decision, Finding, IvhGrade, is_severe

# Display order of the rows (as the paper's Fig. 2b): normal, non-severe findings, IVH by grade, severe findings.
DISPLAY_ORDER: tuple[Finding, ...] = (
    Finding.NORMAL,
    Finding.EPENDYMAL_CYST,
    Finding.VENTRICULAR_DILATION,
    Finding.IVH,
    Finding.HYDROCEPHALUS,
    Finding.PVL,
)


@dataclass(frozen=True)
class Condition:
    """A condition: its display name, expected call (None when mixed) and which cases have it."""

    name: str
    expected_severe: bool | None
    mask: np.ndarray


@dataclass(frozen=True)
class ConditionRow(AsDict):
    """Calls on the cases (or reads) of one condition. ``correct`` is None when no call is expected."""

    condition: str
    expected_severe: bool | None
    n: int
    called_severe: int
    called_non_severe: int
    correct: int | None


def conditions_of(pred: Predictions) -> list[Condition]:
    """The conditions present in ``pred`` (possibly none) in display order, each case in at most one."""
    grades = pred.ivh_grade
    abnormal_cols = [f for f in Finding if f is not Finding.NORMAL and f.value in pred.findings]
    found: dict[str, tuple[bool | None, np.ndarray]] = {}
    if Finding.NORMAL.value in pred.findings:
        found[Finding.NORMAL.value] = (False, pred.findings[Finding.NORMAL.value].astype(bool))
    elif abnormal_cols:
        none = np.ones(pred.n, dtype=bool)
        for f in abnormal_cols:
            none &= pred.findings[f.value] == 0
        if grades is not None:
            none &= grades == 0
        found[Finding.NORMAL.value] = (False, none)
    for f in DISPLAY_ORDER[1:]:
        if f is Finding.IVH and grades is not None:
            for g in IvhGrade:
                if g is not IvhGrade.NONE:
                    found[f"{Finding.IVH.value} grade {g.name}"] = (is_severe(g, ()), grades == g)
        elif f.value in pred.findings:
            expected = None if f is Finding.IVH else is_severe(IvhGrade.NONE, (f,))
            found[f.value] = (expected, pred.findings[f.value].astype(bool))
    # exclusive assignment: severe conditions first, then mixed, then non-severe; within each class
    # the later (more serious) display position wins.
    names = list(found)
    rank = {None: 1, True: 0, False: 2}
    priority = sorted(names, key=lambda nm: (rank[found[nm][0]], -names.index(nm)))
    taken = np.zeros(pred.n, dtype=bool)
    exclusive: dict[str, np.ndarray] = {}
    for nm in priority:
        mask = found[nm][1] & ~taken
        taken |= mask
        exclusive[nm] = mask
    return [Condition(nm, found[nm][0], exclusive[nm]) for nm in names]


def label_conflicts(conditions: list[Condition], labels) -> list[str]:
    """Messages for conditions whose cases carry the other label than the rule expects (e.g. a PVL case
    labelled non-severe): the condition columns and ``label`` disagree, so check the file."""
    y = np.asarray(labels)
    out = []
    for cond in conditions:
        if cond.expected_severe is None:
            continue
        wrong = int((y[cond.mask] != int(cond.expected_severe)).sum())
        if wrong:
            expected, other = (Decision.SEVERE, Decision.NON_SEVERE) if cond.expected_severe else (Decision.NON_SEVERE, Decision.SEVERE)
            out.append(
                f"{wrong} case(s) with condition {cond.name!r} are labelled {DECISION_TEXT[other]} "
                f"although the severity rule makes them {DECISION_TEXT[expected]}; check the label and condition columns"
            )
    return out


def condition_rows(conditions: list[Condition], calls, *, case_index=None) -> tuple[ConditionRow, ...]:
    """Count 0/1 ``calls`` per condition. ``case_index`` maps each call to its case (reader reads);
    without it calls are per case. Conditions with no case are left out."""
    c = np.asarray(calls)
    idx = np.arange(c.size) if case_index is None else np.asarray(case_index)
    if idx.shape != c.shape:
        raise StatsInputError(f"calls ({c.size}) and case_index ({idx.size}) differ in length")
    rows = []
    for cond in conditions:
        sel = cond.mask[idx]
        n = int(sel.sum())
        if n == 0:
            continue
        severe = int((c[sel] == 1).sum())
        non = n - severe
        correct = None if cond.expected_severe is None else (severe if cond.expected_severe else non)
        rows.append(ConditionRow(cond.name, cond.expected_severe, n, severe, non, correct))
    return tuple(rows)
