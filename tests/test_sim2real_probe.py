"""The sim-to-real probe's anatomy levers (benchmarks/sim2real_probe.py): the mixed training set and the
hold-out reported per anatomy. Fast: no rendering, no ../shared."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

PROBE = Path(__file__).resolve().parents[1] / "benchmarks" / "sim2real_probe.py"


@pytest.fixture(scope="module")
def probe():
    spec = importlib.util.spec_from_file_location("sim2real_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["sim2real_probe"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("sim2real_probe", None)


def _set(probe, value: int, subjects: int, per_subject: int, *, hw=(4, 6)):
    n = subjects * per_subject
    labels = np.tile(np.repeat(np.arange(5), per_subject // 5), subjects).astype(np.int64)
    images = np.full((n, *hw), value, np.uint8) + np.arange(n, dtype=np.uint8)[:, None, None]
    masks = np.full((n, *hw), value % 2 == 1)
    tissue = np.full((n, *hw), value + 100, np.uint8)
    return probe.ImageSet(images, masks, tissue, labels)


def test_mixed_takes_even_subjects_from_the_first_set_and_odd_from_the_second(probe):
    per = probe.VIEWS_PER_SUBJECT * probe.STILLS_PER_VIEW
    analytic, mri = _set(probe, 10, 6, per), _set(probe, 50, 6, per)
    mixed = probe.interleave_subjects(analytic, mri, per_subject=per)
    assert mixed.images.shape == analytic.images.shape and mixed.images.dtype == np.uint8
    np.testing.assert_array_equal(mixed.labels, analytic.labels)
    for i in range(6):
        block = slice(i * per, (i + 1) * per)
        source = mri if i % 2 else analytic
        other = analytic if i % 2 else mri
        np.testing.assert_array_equal(mixed.images[block], source.images[block])
        np.testing.assert_array_equal(mixed.masks[block], source.masks[block])
        np.testing.assert_array_equal(mixed.tissue[block], source.tissue[block])
        assert not np.array_equal(mixed.images[block], other.images[block])
    # half of the stills from each source, the same total
    assert (mixed.tissue[:, 0, 0] == 150).sum() == (mixed.tissue[:, 0, 0] == 110).sum() == 3 * per


def test_mixed_refuses_sets_of_other_subjects_or_views(probe):
    per = 10
    with pytest.raises(ValueError, match="same subjects"):
        probe.interleave_subjects(_set(probe, 1, 4, per), _set(probe, 2, 3, per), per_subject=per)
    shuffled = _set(probe, 2, 4, per)
    shuffled = probe.ImageSet(shuffled.images, shuffled.masks, shuffled.tissue, shuffled.labels[::-1].copy())
    with pytest.raises(ValueError, match="same subjects"):
        probe.interleave_subjects(_set(probe, 1, 4, per), shuffled, per_subject=per)


def test_holdout_is_reported_per_anatomy(probe):
    analytic, mri = _set(probe, 1, 2, 5), _set(probe, 2, 2, 5)
    pred = np.concatenate([analytic.labels, np.zeros(10, np.int64)])  # analytic all right, MRI only AHV right
    out = probe.holdout_by_anatomy({"phantom": analytic, "mri": mri}, pred)
    assert list(out) == ["phantom", "mri"]
    assert out["phantom"]["accuracy"] == 1.0 and out["mri"]["accuracy"] == 0.2
    assert out["mri"]["n"] == 10 and np.array(out["mri"]["confusion"])[:, 0].sum() == 10
    with pytest.raises(ValueError, match="predictions"):
        probe.holdout_by_anatomy({"phantom": analytic}, pred)


def test_mixed_anatomy_is_an_option_and_needs_the_mri_volumes(probe, tmp_path, capsys):
    assert probe._args(["--real", "r", "--out", "o", "--anatomy", "mixed"]).anatomy == "mixed"
    with pytest.raises(SystemExit):
        probe._args(["--real", "r", "--out", "o", "--anatomy", "mix"])
    code = probe.main(["--real", str(tmp_path), "--out", str(tmp_path / "out"), "--anatomy", "mixed"])
    err = capsys.readouterr().err
    assert code != 0 and "mixed anatomy needs MRI volumes" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
