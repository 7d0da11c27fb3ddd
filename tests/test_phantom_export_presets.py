"""Presets behave like different hospitals / acquisitions: scanner, probe, population and sweep style."""

from collections import Counter

import numpy as np

from neocus.phantom.api import (
    BLIND_MIN_QUALITY,
    POPULATIONS,
    PRESET_POPULATION,
    STILL_MIN_QUALITY,
    new_subject,
    render,
    simulate_case,
    subject_views,
)
from neocus.phantom.presets import get_preset
from neocus.phantom.subject import SEVERE_CASE_TYPES, CaseType
from neocus.vocab import Plane, View


def test_external_preset_is_another_scanner_probe_and_population():
    a, b = get_preset("internal"), get_preset("external")
    assert (a.scanner, a.probe, a.probe_kind) != (b.scanner, b.probe, b.probe_kind)
    assert a.frequency_mhz != b.frequency_mhz
    pa, pb = POPULATIONS[PRESET_POPULATION["internal"]], POPULATIONS[PRESET_POPULATION["external"]]
    assert pb.population.ga_min > pa.population.ga_min and pb.population.preterm_fraction < pa.population.preterm_fraction
    rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
    mix_a = Counter(pa.draw_case_type(rng=rng_a) for _ in range(3000))
    mix_b = Counter(pb.draw_case_type(rng=rng_b) for _ in range(3000))
    severe_a = sum(mix_a[t] for t in SEVERE_CASE_TYPES) / 3000
    severe_b = sum(mix_b[t] for t in SEVERE_CASE_TYPES) / 3000
    assert abs(severe_a - pa.severe_fraction) < 0.03 and abs(severe_b - pb.severe_fraction) < 0.03
    # lesion mix: relatively more white-matter injury than haemorrhage at the external site
    ratio = lambda m: (m[CaseType.CYSTIC_PVL] + m[CaseType.PVL_FLARE]) / (m[CaseType.IVH_DILATED] + m[CaseType.PVHI])  # noqa: E731
    assert ratio(mix_b) > 1.5 * ratio(mix_a)


def test_presets_render_the_same_plane_differently():
    subject = new_subject(3, case_type=CaseType.NORMAL)
    plane = subject_views(subject)[View.TVV].plane
    images = {}
    for name in ("internal", "external", "blind"):
        frame = render(subject, plane, name, rng=np.random.default_rng(0), out_size_hw=(96, 128))
        images[name] = frame
    masks = {k: f.mask for k, f in images.items()}
    assert not np.array_equal(masks["internal"], masks["external"])  # trapezoid vs sector
    assert images["internal"].pixel_spacing_mm != images["blind"].pixel_spacing_mm or not np.array_equal(masks["internal"], masks["blind"])


def test_blind_preset_sweeps_blind_and_same_seed_same_case():
    a = simulate_case(9, case_id="c", preset="blind", out_size_hw=(64, 64), sweep_frames=10, planes=(Plane.CORONAL,))
    b = simulate_case(9, case_id="c", preset="blind", out_size_hw=(64, 64), sweep_frames=10, planes=(Plane.CORONAL,))
    assert a.sweeps[Plane.CORONAL].plan.style == "blind"
    assert np.array_equal(a.sweeps[Plane.CORONAL].frames, b.sweeps[Plane.CORONAL].frames)
    assert set(a.stills) == set(b.stills) and all(np.array_equal(a.stills[v].image, b.stills[v].image) for v in a.stills)
    f = simulate_case(9, case_id="c", preset="internal", out_size_hw=(64, 64), sweeps=False)
    assert len(f.stills) == 6 and min(s.quality for s in f.stills.values()) >= STILL_MIN_QUALITY
    assert min(s.quality for s in a.stills.values()) >= BLIND_MIN_QUALITY
    assert np.mean([s.quality for s in a.stills.values()]) < np.mean([s.quality for s in f.stills.values()])
