"""Stratified, grouped, deterministic splits by case: a held-out test set and k cross-validation folds.

The paper's protocol (Lin et al. 2025): the development data are split 8:2 into training and internal
test sets, and models are trained with five-fold cross-validation on the training part.
:func:`make_splits` does exactly that on a dataset; :func:`stratified_partition` is the engine.

Algorithm (greedy, like scikit-learn's StratifiedGroupKFold, extended to unequal part sizes):
cases are bundled into groups (one case each, or all cases sharing a metadata value such as
``subject``, so repeated exams of one baby never straddle parts); groups are shuffled with the seed,
ordered largest and most class-skewed first, and each goes to the part where it leaves the per-class
shares closest to the target, ties going to the part furthest below its target size. With one case
per group this gives every part its per-class quota to within one case, so every fold gets positives
whenever there are at least as many positive cases as folds.
Case ids are sorted before shuffling, so the result depends only on the cases, labels and seed.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from neocus.data.dataset import Dataset
from neocus.data.schema import CaseRecord, Splits, StratifyKey
from neocus.errors import DatasetError, NeocusError, parse_choice
from neocus.vocab import Tier, three_tier

UNKNOWN_STRATUM = "unlabelled"
"""Stratum of cases whose stratification label is not known (kept as a class of its own)."""


def _lengths(*seqs) -> str:
    return " / ".join(str(len(s)) for s in seqs if s is not None)


def stratified_partition(
    case_ids: Sequence[str],
    strata: Sequence[Hashable],
    weights: Sequence[float],
    *,
    groups: Sequence[Hashable] | None = None,
    seed: int = 0,
) -> list[list[str]]:
    """Partition ``case_ids`` into ``len(weights)`` parts of relative sizes ``weights``, stratified.

    ``strata[i]`` is case i's class; ``groups[i]`` (optional) its group: cases of one group land in the
    same part. Returns the parts' case ids, each sorted. Deterministic for a given input and seed
    (independent of the input order).
    """
    n = len(case_ids)
    if len(strata) != n or (groups is not None and len(groups) != n):
        raise NeocusError(f"case_ids, strata and groups must have the same length, got {_lengths(case_ids, strata, groups)}", where="strata")
    if len(set(case_ids)) != n:
        dup = sorted({c for c in case_ids if list(case_ids).count(c) > 1})[:3]
        raise NeocusError(f"case ids must be unique, repeated: {', '.join(map(str, dup))}", where="case_ids")
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) < 1 or np.any(w <= 0):
        raise NeocusError(f"weights must be positive, got {w.tolist()}", where="weights")
    w = w / w.sum()
    k = len(w)

    order = sorted(range(n), key=lambda i: case_ids[i])
    classes = sorted({strata[i] for i in order}, key=repr)
    class_index = {c: j for j, c in enumerate(classes)}
    group_of = [groups[i] if groups is not None else ("__case__", case_ids[i]) for i in range(n)]

    members: dict[Hashable, list[int]] = {}
    for i in order:
        members.setdefault(group_of[i], []).append(i)
    group_keys = list(members)
    counts = np.zeros((len(group_keys), len(classes)), dtype=np.float64)
    for g, key in enumerate(group_keys):
        for i in members[key]:
            counts[g, class_index[strata[i]]] += 1

    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(group_keys))
    # big and class-skewed groups first (stable sort keeps the shuffled order among equals)
    spread = counts.std(axis=1)
    size = counts.sum(axis=1)
    placed_order = sorted(shuffled, key=lambda g: (-size[g], -spread[g]))

    class_total = counts.sum(axis=0)
    target = np.outer(w, class_total)  # [k, C] cases of each class each part should get
    part_counts = np.zeros((k, len(classes)), dtype=np.float64)
    part_size = np.zeros(k, dtype=np.float64)
    assignment = np.empty(len(group_keys), dtype=np.int64)
    for g in placed_order:
        best, best_key = 0, None
        for f in range(k):
            trial = part_counts.copy()
            trial[f] += counts[g]
            # distance of per-class counts from their targets, in units of each class's size
            cost = float(np.sum((trial - target) ** 2 / np.maximum(class_total, 1.0)))
            fill = (part_size[f] + size[g]) / (w[f] * n)
            key = (round(cost, 12), round(fill, 12), f)
            if best_key is None or key < best_key:
                best, best_key = f, key
        assignment[g] = best
        part_counts[best] += counts[g]
        part_size[best] += size[g]

    parts: list[list[str]] = [[] for _ in range(k)]
    for g, key in enumerate(group_keys):
        parts[int(assignment[g])].extend(case_ids[i] for i in members[key])
    return [sorted(p) for p in parts]


def stratified_folds(
    case_ids: Sequence[str],
    strata: Sequence[Hashable],
    *,
    n_folds: int = 5,
    groups: Sequence[Hashable] | None = None,
    seed: int = 0,
) -> dict[int, list[str]]:
    """k stratified folds of equal size: fold index -> validation case ids."""
    if n_folds < 2:
        raise NeocusError(f"must be at least 2, got {n_folds}", where="n_folds")
    n_groups = len(set(groups)) if groups is not None else len(case_ids)
    if n_groups < n_folds:
        raise DatasetError(f"{n_groups} case groups cannot fill {n_folds} folds", hint="use fewer folds")
    parts = stratified_partition(case_ids, strata, [1.0] * n_folds, seed=seed, groups=groups)
    return dict(enumerate(parts))


def train_test_split(
    case_ids: Sequence[str],
    strata: Sequence[Hashable],
    *,
    test_fraction: float = 0.2,
    groups: Sequence[Hashable] | None = None,
    seed: int = 0,
) -> tuple[list[str], list[str]]:
    """Stratified (and grouped) split into development and test case ids, e.g. 8:2."""
    if not 0.0 < test_fraction < 1.0:
        raise NeocusError(f"must lie in (0, 1), got {test_fraction}", where="test_fraction")
    train, test = stratified_partition(case_ids, strata, [1.0 - test_fraction, test_fraction], seed=seed, groups=groups)
    if not train or not test:
        raise DatasetError(
            f"{len(case_ids)} cases are too few for a {test_fraction:.0%} test set", hint="add cases or split without a test set"
        )
    return train, test


def stratum_of(record: CaseRecord, key: StratifyKey | str) -> Hashable:
    """A case's stratification class: its ``severe`` label, or its 3-tier read-out.

    The tier comes from the stored ``tier`` label, else from the grade and findings by the vocab rule,
    else (only ``severe`` known) severe / not-severe. Unknown labels give :data:`UNKNOWN_STRATUM`.
    """
    key = StratifyKey(key)
    labels = record.labels
    if key is StratifyKey.NONE or labels is None:
        return UNKNOWN_STRATUM if key is not StratifyKey.NONE else "all"
    if key is StratifyKey.SEVERE:
        return labels.severe if labels.severe is not None else UNKNOWN_STRATUM
    if labels.tier is not None:
        return labels.tier.value
    union = labels.case_findings()
    if labels.ivh_grade is not None and union is not None:
        return three_tier(labels.ivh_grade, union).value
    if labels.severe == 1:
        return Tier.SEVERE.value
    return UNKNOWN_STRATUM


def group_of(record: CaseRecord, key: str | None) -> Hashable:
    """A case's group: the value of metadata field ``key`` (cases without one form their own group)."""
    if key is None:
        return ("case", record.case_id)
    if key not in type(record.metadata).model_fields:
        raise DatasetError(f"unknown metadata field '{key}' to group by", hint=f"one of {sorted(type(record.metadata).model_fields)}")
    value = getattr(record.metadata, key)
    return ("case", record.case_id) if value is None else ("group", str(value))


def make_splits(
    cases: Dataset | Sequence[CaseRecord] | Mapping[str, CaseRecord],
    *,
    n_folds: int = 5,
    test_fraction: float | None = 0.2,
    stratify_on: StratifyKey | str = StratifyKey.SEVERE,
    group_by: str | None = None,
    seed: int = 0,
) -> Splits:
    """Hold out a stratified test set (``test_fraction``; None or 0 = none) and fold the rest into k folds."""
    if isinstance(cases, Dataset):
        records = [entry.record for entry in cases]
    elif isinstance(cases, Mapping):
        records = list(cases.values())
    else:
        records = list(cases)
    if not records:
        raise DatasetError("no cases to split")
    key = parse_choice(StratifyKey, stratify_on, what="stratify_on", error=DatasetError)
    ids = [r.case_id for r in records]
    strata = [stratum_of(r, key) for r in records]
    groups = [group_of(r, group_by) for r in records]

    if test_fraction:
        train, test = train_test_split(ids, strata, test_fraction=test_fraction, seed=seed, groups=groups)
    else:
        train, test = sorted(ids), []
    keep = set(train)
    sel = [i for i, c in enumerate(ids) if c in keep]
    folds = stratified_folds(
        [ids[i] for i in sel], [strata[i] for i in sel], n_folds=n_folds, seed=seed, groups=[groups[i] for i in sel]
    )
    return Splits(
        seed=seed,
        stratify_on=key,
        group_by=group_by,
        test_fraction=test_fraction or None,
        train=train,
        test=test,
        folds=folds,
    )
