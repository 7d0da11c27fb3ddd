"""neocus.stats.roc against R's pROC 1.18 reference values (tests/reference/proc_reference.json).

The JSON and the data it was computed on (tests/reference/proc_data/*.csv) are in the repository, so
these tests need no R. Regenerate with ``python tests/reference/make_datasets.py`` and
``Rscript tests/reference/make_proc_reference.R``. ``test_live_r_*`` runs R itself when available.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from neocus.stats import (
    DegenerateDataWarning,
    delong_covariance,
    delong_test_paired,
    delong_test_unpaired,
    roc_auc,
    roc_curve,
    youden_threshold,
)

REF_DIR = Path(__file__).parent / "reference"
TOL = 1e-9  # stricter than the 1e-6; values agree to ~1e-15
ALTERNATIVES = {"two.sided": "two-sided", "greater": "greater", "less": "less"}


def _load_json(path: Path) -> dict:
    def fix(v):
        if v == "Inf":
            return np.inf
        if v == "-Inf":
            return -np.inf
        if v is None:
            return np.nan
        return v

    def walk(x):
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return fix(x)

    return walk(json.loads(path.read_text()))


def _read_paired(data_dir: Path, name: str):
    with (data_dir / f"{name}.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    y = np.array([int(r["y"]) for r in rows])
    return y, np.array([float(r["score_a"]) for r in rows]), np.array([float(r["score_b"]) for r in rows])


def _read_unpaired(data_dir: Path, name: str):
    with (data_dir / f"{name}.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for g in ("a", "b"):
        sel = [r for r in rows if r["group"] == g]
        out[g] = (np.array([int(r["y"]) for r in sel]), np.array([float(r["score"]) for r in sel]))
    return out


REF = _load_json(REF_DIR / "proc_reference.json")
PAIRED = sorted(REF["paired"])
UNPAIRED = sorted(REF["unpaired"])


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        return fn(*args, **kwargs)


def check_single(y, s, ref: dict) -> None:
    """AUC, DeLong variance and CIs, curve points and Youden point equal pROC's."""
    res = _quiet(roc_auc, y, s)
    assert res.auc == pytest.approx(ref["auc"], abs=TOL)
    assert res.se**2 == pytest.approx(ref["var_delong"], abs=TOL)
    low, mid, high = ref["ci95_delong"]
    assert (res.ci.low, res.auc, res.ci.high) == pytest.approx((low, mid, high), abs=TOL)
    res90 = _quiet(roc_auc, y, s, level=0.90)
    assert (res90.ci.low, res90.ci.high) == pytest.approx((ref["ci90_delong"][0], ref["ci90_delong"][2]), abs=TOL)

    curve = roc_curve(y, s)
    # pROC lists thresholds ascending; neocus descending (fpr rising).
    np.testing.assert_allclose(curve.thresholds[::-1], ref["thresholds"], rtol=0, atol=TOL)
    np.testing.assert_allclose(curve.sensitivity[::-1], ref["sensitivities"], rtol=0, atol=TOL)
    np.testing.assert_allclose(curve.specificity[::-1], ref["specificities"], rtol=0, atol=TOL)
    assert curve.auc == pytest.approx(ref["auc"], abs=TOL)

    # pROC returns every threshold tied on Youden's index; neocus picks the most sensitive of them.
    best = youden_threshold(y, s)
    candidates = list(zip(ref["youden_thresholds"], ref["youden_sensitivities"], ref["youden_specificities"]))
    top = max(candidates, key=lambda c: c[1])
    assert (best.threshold, best.sensitivity, best.specificity) == pytest.approx(top, abs=TOL)


def check_paired(y, a, b, ref: dict) -> None:
    check_single(y, a, ref["model_a"])
    check_single(y, b, ref["model_b"])
    cov = _quiet(delong_covariance, y, np.vstack([a, b])).covariance
    assert cov[0, 1] == pytest.approx(ref["cov_delong"], abs=TOL)
    assert cov[1, 0] == pytest.approx(ref["cov_delong"], abs=TOL)
    for r_alt, alt in ALTERNATIVES.items():
        t = ref["test"][r_alt]
        res = _quiet(delong_test_paired, y, a, b, alternative=alt)
        assert res.statistic_name == "Z"
        assert res.statistic == pytest.approx(t["statistic"], abs=TOL)
        assert res.p_value == pytest.approx(t["p_value"], abs=TOL)
        assert res.estimates == pytest.approx(tuple(t["estimate"]), abs=TOL)
        assert (res.ci.low, res.ci.high) == pytest.approx(tuple(t["conf_int"]), abs=TOL)


def check_unpaired(groups: dict, ref: dict) -> None:
    (ya, sa), (yb, sb) = groups["a"], groups["b"]
    check_single(ya, sa, ref["group_a"])
    check_single(yb, sb, ref["group_b"])
    for r_alt, alt in ALTERNATIVES.items():
        t = ref["test"][r_alt]
        res = _quiet(delong_test_unpaired, ya, sa, yb, sb, alternative=alt)
        assert res.statistic_name == "D"
        assert res.statistic == pytest.approx(t["statistic"], abs=TOL)
        assert res.df == pytest.approx(t["df"], abs=TOL)
        assert res.p_value == pytest.approx(t["p_value"], abs=TOL)
        assert res.estimates == pytest.approx(tuple(t["estimate"]), abs=TOL)


def test_reference_covers_required_cases():
    assert {"balanced", "imbalanced", "heavy_ties", "tiny", "perfect"} <= set(PAIRED)
    assert len(UNPAIRED) >= 2
    tiny_y, _, _ = _read_paired(REF_DIR / "proc_data", "tiny")
    assert (tiny_y.sum(), (1 - tiny_y).sum()) == (3, 4)
    assert REF["paired"]["perfect"]["model_a"]["auc"] == 1.0


@pytest.mark.parametrize("name", PAIRED)
def test_paired_sets_match_proc(name):
    check_paired(*_read_paired(REF_DIR / "proc_data", name), REF["paired"][name])


@pytest.mark.parametrize("name", UNPAIRED)
def test_unpaired_sets_match_proc(name):
    check_unpaired(_read_unpaired(REF_DIR / "proc_data", name), REF["unpaired"][name])


def _r_with_proc() -> str | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    ok = subprocess.run([rscript, "-e", "quit(status = !requireNamespace('pROC', quietly = TRUE))"],
                        capture_output=True, timeout=60)
    return rscript if ok.returncode == 0 else None


@pytest.mark.needs_r
def test_live_r_fresh_data_matches_proc(tmp_path):
    """Fresh data sets (another seed), run through R's pROC now, compared with neocus."""
    rscript = _r_with_proc()
    if rscript is None:
        pytest.skip("Rscript with the pROC package is not installed (Debian: r-base-core r-cran-proc)")
    spec = importlib.util.spec_from_file_location("make_datasets", REF_DIR / "make_datasets.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.write_datasets(tmp_path / "data", seed=777)
    out = tmp_path / "ref.json"
    proc = subprocess.run([rscript, str(REF_DIR / "make_proc_reference.R"), str(tmp_path / "data"), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ref = _load_json(out)
    for name in ref["paired"]:
        check_paired(*_read_paired(tmp_path / "data", name), ref["paired"][name])
    for name in ref["unpaired"]:
        check_unpaired(_read_unpaired(tmp_path / "data", name), ref["unpaired"][name])
