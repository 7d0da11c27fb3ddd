"""Stratified, grouped, deterministic splits by case."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocus.data import (
    CaseLabels,
    CaseMetadata,
    CaseRecord,
    Dataset,
    DatasetRecord,
    Provenance,
    write_case,
    write_dataset_json,
    write_splits,
)
from neocus.data.splits import (
    UNKNOWN_STRATUM,
    make_splits,
    stratified_folds,
    stratum_of,
    train_test_split,
)
from neocus.data.validate import validate_dataset
from neocus.errors import DatasetError
from neocus.vocab import Finding, IvhGrade, Plane, Tier, View


def _labels(n: int, p: float, seed: int) -> tuple[list[str], list[int]]:
    rng = np.random.default_rng(seed)
    ids = [f"c{i:04d}" for i in range(n)]
    return ids, [int(v) for v in rng.random(n) < p]


@pytest.mark.parametrize(("n", "p", "k"), [(103, 0.2, 5), (60, 0.5, 5), (41, 0.1, 4), (500, 0.07, 5)])
def test_folds_are_a_partition_with_stratified_proportions(n, p, k):
    ids, y = _labels(n, p, seed=n)
    label = dict(zip(ids, y, strict=True))
    folds = stratified_folds(ids, y, n_folds=k, seed=1)
    assert sorted(folds) == list(range(k))
    flat = [c for f in folds.values() for c in f]
    assert sorted(flat) == sorted(ids)  # every case exactly once
    pos = [sum(label[c] for c in f) for f in folds.values()]
    sizes = [len(f) for f in folds.values()]
    assert max(pos) - min(pos) <= 1, pos
    assert max(sizes) - min(sizes) <= 1, sizes
    if sum(y) >= k:
        assert min(pos) >= 1


def test_train_test_split_is_8_to_2_per_class():
    ids, y = _labels(250, 0.16, seed=3)
    train, test = train_test_split(ids, y, test_fraction=0.2, seed=0)
    assert not set(train) & set(test) and sorted(train + test) == sorted(ids)
    label = dict(zip(ids, y, strict=True))
    for cls in (0, 1):
        total = sum(1 for v in y if v == cls)
        in_test = sum(1 for c in test if label[c] == cls)
        assert abs(in_test - 0.2 * total) <= 1, (cls, in_test, total)


def test_deterministic_and_order_independent_and_seed_sensitive():
    ids, y = _labels(80, 0.25, seed=5)
    a = stratified_folds(ids, y, seed=7)
    b = stratified_folds(list(reversed(ids)), list(reversed(y)), seed=7)
    assert a == b
    assert stratified_folds(ids, y, seed=8) != a


def test_groups_stay_in_one_fold_and_stratification_holds():
    rng = np.random.default_rng(0)
    ids, groups, y = [], [], []
    for s in range(60):  # 60 babies, 1-3 exams each, label per baby
        sick = int(rng.random() < 0.25)
        for e in range(int(rng.integers(1, 4))):
            ids.append(f"s{s:02d}e{e}")
            groups.append(f"s{s:02d}")
            y.append(sick)
    folds = stratified_folds(ids, y, n_folds=5, seed=2, groups=groups)
    fold_of = {c: k for k, f in folds.items() for c in f}
    for g in set(groups):
        assert len({fold_of[c] for c, gg in zip(ids, groups, strict=True) if gg == g}) == 1
    label = dict(zip(ids, y, strict=True))
    shares = [sum(label[c] for c in f) / len(f) for f in folds.values()]
    overall = sum(y) / len(y)
    assert all(abs(s - overall) < 0.12 for s in shares), (shares, overall)
    assert all(sum(label[c] for c in f) > 0 for f in folds.values())


def test_too_few_cases_for_folds_or_test_set():
    with pytest.raises(DatasetError, match="cannot fill"):
        stratified_folds(["a", "b", "c"], [0, 1, 0], n_folds=5)
    with pytest.raises(DatasetError, match="too few"):
        train_test_split(["a", "b", "c"], [0, 1, 0], test_fraction=0.2)


def _record(i: int, grade: IvhGrade, subject: str | None = None, labelled: bool = True) -> CaseRecord:
    findings = {View.TVV: [Finding.IVH] if grade else [Finding.NORMAL]}
    return CaseRecord(
        case_id=f"k{i:03d}",
        sweeps={"coronal.mp4": Plane.CORONAL},
        metadata=CaseMetadata(subject=subject),
        labels=CaseLabels.derive(grade, findings) if labelled else None,
    )


def test_stratum_of_severe_and_tier():
    assert stratum_of(_record(0, IvhGrade.III), "severe") == 1
    assert stratum_of(_record(0, IvhGrade.I), "tier") == Tier.MILD.value
    assert stratum_of(_record(0, IvhGrade.NONE), "tier") == Tier.NORMAL.value
    assert stratum_of(_record(0, IvhGrade.NONE, labelled=False), "severe") == UNKNOWN_STRATUM
    assert stratum_of(CaseRecord(case_id="x", sweeps={}, labels=CaseLabels(severe=1)), "tier") == Tier.SEVERE.value


def test_make_splits_on_a_dataset_writes_valid_splits(tmp_path):
    root = tmp_path / "ds"
    write_dataset_json(root, DatasetRecord(name="s", provenance=Provenance(generator="test")))
    grades = [IvhGrade.NONE] * 30 + [IvhGrade.I] * 10 + [IvhGrade.III] * 10
    for i, g in enumerate(grades):
        write_case(root, _record(i, g, subject=f"b{i // 2}"))
    ds = Dataset.load(root)
    splits = make_splits(ds, n_folds=5, test_fraction=0.2, stratify_on="tier", group_by="subject", seed=4)
    assert len(splits.test) == 10 and len(splits.train) == 40
    tiers = {e.case_id: stratum_of(e.record, "tier") for e in ds}
    assert Counter(tiers[c] for c in splits.test) == {Tier.NORMAL.value: 6, Tier.MILD.value: 2, Tier.SEVERE.value: 2}
    assert sorted(c for f in splits.folds.values() for c in f) == sorted(splits.train)
    for k in splits.folds:
        assert not set(splits.fold_train(k)) & set(splits.folds[k])
    write_splits(root, splits)
    assert Dataset.load(root).splits == splits
    problems = validate_dataset(root, probe_sweeps=False)
    assert problems and all(p.field == "sweeps.coronal.mp4" for p in problems)  # no sweep files written; splits clean
    assert make_splits(ds, seed=4, stratify_on="tier", group_by="subject") == splits  # deterministic
    no_test = make_splits(ds, test_fraction=None)
    assert no_test.test == [] and len(no_test.train) == 50
    with pytest.raises(DatasetError, match="unknown metadata field"):
        make_splits(ds, group_by="mother")


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.integers(0, 2), min_size=5, max_size=60),
    group_size=st.integers(1, 4),
    k=st.integers(2, 5),
    seed=st.integers(0, 2**16),
)
def test_folds_partition_and_keep_groups_for_any_input(labels, group_size, k, seed):
    ids = [f"c{i:03d}" for i in range(len(labels))]
    groups = [f"g{i // group_size}" for i in range(len(labels))]
    if len(set(groups)) < k:
        with pytest.raises(DatasetError):
            stratified_folds(ids, labels, n_folds=k, seed=seed, groups=groups)
        return
    folds = stratified_folds(ids, labels, n_folds=k, seed=seed, groups=groups)
    assert sorted(c for f in folds.values() for c in f) == ids
    assert all(folds.values())  # no empty fold
    fold_of = {c: i for i, f in folds.items() for c in f}
    for g in set(groups):
        assert len({fold_of[c] for c, gg in zip(ids, groups, strict=True) if gg == g}) == 1
    assert folds == stratified_folds(ids, labels, n_folds=k, seed=seed, groups=groups)
    if group_size == 1:
        for cls in set(labels):
            per = [sum(1 for c in f if labels[ids.index(c)] == cls) for f in folds.values()]
            assert max(per) - min(per) <= 1
