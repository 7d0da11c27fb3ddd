"""The bundled HIE model (models/hie): present, small, loadable; on a real patient when ../shared/data is there."""

from __future__ import annotations

import numpy as np
import pytest

from hie_testdata import bonbid_dir, write_case
from neocus.hie import bundled_model_dir, find_cases, load_case, load_model, segment
from neocus.hie.metrics import dice


def test_bundled_model_is_small_and_loads(tmp_path):
    folder = bundled_model_dir()
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert (folder / "MODEL_CARD.md").is_file()
    assert sum(p.stat().st_size for p in files) <= 20 * 1024 * 1024
    model = load_model()
    assert len(model.networks) == 5 and model.post.fitted_on == 40
    assert model.post.component_filter is not None and model.post.component_filter.cutoff > 0
    adc, zadc, _ = write_case(tmp_path, shape_kji=(6, 40, 40))
    result = segment(load_case(adc, zadc=zadc), model=model)
    assert result.mask.shape == (6, 40, 40)


@pytest.mark.real_data
def test_bundled_model_on_a_real_patient():
    # MGHNICU_010 (127 ml of lesion) was in the training folds of four of the five fold models,
    # so this checks the wiring on real input, not accuracy on unseen patients (see docs/hie.md).
    files = next(f for f in find_cases(bonbid_dir(), need_labels=True) if f.case_id == "MGHNICU_010")
    case = load_case(files.adc, zadc=files.zadc, label=files.label)
    result = segment(case)
    assert result.mask.shape == case.adc.shape
    assert dice(result.mask, case.label.array) > 0.7
    assert result.lesion_ml == pytest.approx(float(result.mask.sum()) * case.voxel_ml)
    alone = segment(load_case(files.adc))
    assert not alone.used_zadc and np.isfinite(alone.lesion_ml)
