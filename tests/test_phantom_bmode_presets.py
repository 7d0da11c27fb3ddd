"""Scanner presets: validation, per-scan variation, and the physics they derive."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from neocus.errors import NeocusError
from neocus.phantom.presets import PRESETS, PresetName, ProbeKind, ScannerPreset, get_preset


def test_named_presets_exist_and_differ():
    assert set(PRESETS) == {n.value for n in PresetName}
    internal, external, blind = (get_preset(n) for n in ("internal", "external", "blind"))
    assert internal.probe_kind is ProbeKind.TRAPEZOID
    assert external.scanner != internal.scanner and external.probe != internal.probe
    # another probe, but no pointed sector (issue #14): a narrower trapezoid than the 9L's
    assert (external.footprint_mm, external.angle_deg) != (internal.footprint_mm, internal.angle_deg)
    assert blind.noise_db > internal.noise_db  # the handheld is noisier
    with pytest.raises(NeocusError, match="unknown scanner preset"):
        get_preset("nope")


def test_variation_is_seeded_and_stays_plausible():
    p = get_preset("internal")
    a = p.vary(rng=np.random.default_rng(1))
    b = p.vary(rng=np.random.default_rng(1))
    c = p.vary(rng=np.random.default_rng(2))
    assert a == b and a != c
    many = [p.vary(rng=np.random.default_rng(i)) for i in range(200)]
    gains = np.array([m.gain_db for m in many])
    assert 0.5 < gains.std() < 5 and abs(gains.mean() - p.gain_db) < 1
    assert {m.depth_mm for m in many} <= set(p.variation.depth_choices_mm)
    assert all(0.7 * p.frequency_mhz <= m.frequency_mhz <= 1.3 * p.frequency_mhz for m in many)
    assert all(m.probe_kind is p.probe_kind and m.footprint_mm == p.footprint_mm for m in many)


def test_resolution_follows_frequency_and_focus():
    p = get_preset("internal")
    hi = p.model_copy(update={"frequency_mhz": 2 * p.frequency_mhz})
    assert hi.axial_fwhm_mm == pytest.approx(p.axial_fwhm_mm / 2)
    z = np.array([10.0, p.focus_mm, 85.0])
    w = p.lateral_fwhm_mm(z)
    assert w[1] < w[0] and w[1] < w[2]  # narrowest at the focus
    assert np.all(hi.lateral_fwhm_mm(z) < w)


def test_invalid_geometry_is_refused():
    base = get_preset("external").model_dump()
    with pytest.raises(ValidationError):
        ScannerPreset(**{**base, "probe_kind": "linear"})  # linear with an opening angle
    with pytest.raises(ValidationError):
        ScannerPreset(**{**base, "probe_kind": "curved", "radius_mm": 0.0})
    with pytest.raises(ValidationError):
        ScannerPreset(**{**base, "grey_curve": (0.0, 0.8, 0.5, 1.0)})  # not monotone


def test_grey_lut_is_monotone_uint8():
    for p in PRESETS.values():
        lut = p.grey_lut()
        assert lut.dtype == np.uint8 and lut.shape == (256,)
        assert np.all(np.diff(lut.astype(int)) >= 0) and lut[0] == 0 and lut[-1] == 255


def test_out_size_field_keeps_its_file_key():
    """The field says its order (``default_out_size_hw``); files keep the key ``default_out_size`` (both read)."""
    p = get_preset("external")
    text = p.model_dump_json()
    assert '"default_out_size":[600,800]' in text and "default_out_size_hw" not in text
    assert ScannerPreset.model_validate_json(text) == p
    renamed = ScannerPreset(**{**p.model_dump(exclude={"default_out_size_hw"}), "default_out_size_hw": (96, 128)})
    assert renamed.default_out_size_hw == (96, 128)
