"""The malformed-input corpus (tests/malformed_corpus.py): every entry is refused with its message, or
read soundly, under the fuzzer's checks (one line, nothing printed, nothing left behind)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_kit import TARGETS, run_checked
from fuzz_seeds import Seed
from malformed_corpus import ENTRIES, PYDICOM_NEEDED, Entry, all_seeds

from neocus.data.validate import validate_dataset


@pytest.fixture(scope="module")
def seeds() -> dict[str, Seed]:
    return all_seeds()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name.replace("\t", "\\t") for e in ENTRIES])
def test_corpus_entry(seeds: dict[str, Seed], entry: Entry, tmp_path: Path) -> None:
    missing = PYDICOM_NEEDED.get(entry.name)
    if missing and missing not in seeds:
        pytest.skip(f"seed {missing} not available here")
    path = tmp_path / entry.name
    entry.make(seeds, path)
    outcome = run_checked(TARGETS[entry.target], path, tmp_path)
    if entry.target == "validate":
        assert outcome.kind == "result", outcome
        assert any(entry.expect in p.message for p in validate_dataset(path)), validate_dataset(path)
    elif entry.expect is None:
        assert outcome.kind == "result", outcome
    else:
        assert outcome.kind == "refused" and entry.expect in outcome.detail, outcome
