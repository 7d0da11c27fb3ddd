"""Hostile input, fuzzed: every reader (sweeps and their probe, stills, volumes, the dataset loader and
validator, the evaluation CSVs) meets hypothesis-drawn damage to real and synthetic files -- cuts, byte
errors, lies in header fields about sizes and counts, odd names, broken folders -- and must return a
sound result or a one-line NeocusError, within a time box, printing nothing, warning nothing, leaving
nothing behind and allocating little (see tests/fuzz_kit.py). This is the short run; the long one is
``python tests/fuzz_long.py`` (docs/input-refused.md).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from fuzz_kit import TARGET_SEEDS, TARGETS, discard, fresh_workdir, run_checked
from fuzz_mutations import Plan, materialise, plans
from fuzz_seeds import Seed, real_seeds, synthetic_seeds
from hypothesis import HealthCheck, given, settings

#: Examples per (reader, seed) pair in the short run: ~25 pairs, well under a minute on 2 cores.
CI_EXAMPLES = 12
_REAL = {"real_png", "real_mha"}

PAIRS = [
    pytest.param(target, seed, id=f"{target}-{seed}", marks=[pytest.mark.real_data] if seed in _REAL else [])
    for target, seeds in TARGET_SEEDS.items()
    for seed in seeds
]


@pytest.fixture(scope="module")
def seeds() -> dict[str, Seed]:
    return {**synthetic_seeds(), **real_seeds()}


@pytest.fixture(scope="module")
def traced():
    tracemalloc.start()
    yield
    tracemalloc.stop()


def _seed(seeds: dict[str, Seed], name: str) -> Seed:
    if name not in seeds:
        pytest.skip(f"seed {name} is not available here (pydicom-data or ../shared/data absent)")
    return seeds[name]


@pytest.mark.parametrize("target, seed_name", PAIRS)
def test_seed_itself_reads(seeds: dict[str, Seed], target: str, seed_name: str, tmp_path: Path) -> None:
    """The undamaged seed gives a sound result (so the fuzzer damages something that works)."""
    seed = _seed(seeds, seed_name)
    outcome = run_checked(TARGETS[target], materialise(seed, Plan(ops=[], name="seed"), tmp_path), tmp_path)
    assert outcome.kind == "result", outcome


@pytest.mark.parametrize("target, seed_name", PAIRS)
def test_damaged_input_fails_cleanly(seeds: dict[str, Seed], traced, target: str, seed_name: str, tmp_path: Path) -> None:
    seed = _seed(seeds, seed_name)

    @settings(max_examples=CI_EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(plan=plans(seed))
    def one_input(plan: Plan) -> None:
        workdir = fresh_workdir(tmp_path)
        try:
            outcome = run_checked(TARGETS[target], materialise(seed, plan, workdir), workdir)
        finally:
            discard(workdir)
        assert outcome.kind != "unclean", f"{outcome.detail} [{outcome.signature}]"

    one_input()
