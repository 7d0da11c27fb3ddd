"""neocus.hie.components: the per-component lesion / no-lesion filter, its out-of-fold fitting and its
place in the post-processing (saved in postprocess.json; older files without it still load)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neocus.hie import postprocess as pp
from neocus.hie.components import FEATURES, ComponentFilter, ComponentMaps, describe, fit_filter
from neocus.hie.train import Sample, judge_out_of_fold

SHAPE = (8, 24, 24)
SPACING = (2.0, 1.0, 1.0)
LESION_Z, DECOY_Z = -4.0, -2.5  # both pass the Z-ADC < -2 gate; only the filter can tell them apart


def _patient(rng: np.random.Generator, *, lesion: bool, decoy: bool):
    """Probability, maps and truth: a true lesion (Z-ADC -4) and / or a decoy of the same size and
    probability but Z-ADC -2.5, each a 2x4x4 block at a random place inside the brain."""
    zadc = rng.normal(0.0, 0.2, SHAPE)
    brain = np.zeros(SHAPE, bool)
    brain[1:-1, 2:-2, 2:-2] = True
    prob, truth = np.zeros(SHAPE, np.float32), np.zeros(SHAPE, bool)
    for kind, on, z in (("lesion", lesion, LESION_Z), ("decoy", decoy, DECOY_Z)):
        if not on:
            continue
        k0, x0 = int(rng.integers(1, 5)), (3 if kind == "lesion" else 13)
        y0 = int(rng.integers(3, 15))
        block = (slice(k0, k0 + 2), slice(y0, y0 + 4), slice(x0, x0 + 4))
        zadc[block], prob[block] = z, 0.9
        if kind == "lesion":
            truth[block] = True
    maps = ComponentMaps(adc=np.where(brain, 1.0 + 0.2 * zadc, 0.0), zadc=np.where(brain, zadc, 0.0), brain=brain, spacing=SPACING)
    return prob, maps, truth


def test_a_filter_drops_one_component_and_keeps_the_other():
    prob, maps, truth = _patient(np.random.default_rng(1), lesion=True, decoy=True)
    comps = describe(prob >= 0.5, prob, maps)
    assert comps.features.shape == (2, len(FEATURES))
    coef = np.zeros(len(FEATURES))
    coef[FEATURES.index("mean_zadc")] = -1.0  # lower Z-ADC: more likely a lesion
    flt = ComponentFilter(mean=(0.0,) * len(FEATURES), scale=(1.0,) * len(FEATURES), coef=tuple(coef), intercept=-3.25, cutoff=0.5)
    kept = flt.apply(comps)
    assert kept.sum() == truth.sum() and (kept == truth).all()


def test_fitted_filter_learns_to_drop_the_decoys():
    rng = np.random.default_rng(0)
    cases = [_patient(rng, lesion=i % 4 != 3, decoy=i % 2 == 0) for i in range(12)]
    comps = [describe(p >= 0.5, p, m) for p, m, _ in cases]
    flt = fit_filter(comps, [t for *_, t in cases], groups=[i % 3 for i in range(12)])
    assert flt.cutoff > 0 and flt.mean_dice == pytest.approx(1.0)
    prob, maps, truth = _patient(np.random.default_rng(99), lesion=True, decoy=True)
    assert (flt.apply(describe(prob >= 0.5, prob, maps)) == truth).all()
    # the same settings saved and read back, and an old postprocess.json without a filter still loads
    post = pp.PostProcess(threshold=0.5, gate="zlow", mean_dice=0.9, component_filter=flt)
    assert pp.PostProcess.from_dict(json.loads(json.dumps(post.to_dict()))) == post
    assert pp.PostProcess.from_dict({"threshold": 0.4, "min_component_mm3": 50.0, "gate": "zlow"}).component_filter is None
    masked = pp.apply(prob, post, voxel_mm3=2.0, zlow=(maps.zadc < -2).astype(np.float32), maps=maps)
    assert (masked.astype(bool) == truth).all()
    assert pp.apply(prob, post, voxel_mm3=2.0, zlow=None, maps=None).sum() == 64  # no Z-ADC: no filter


def _samples(tmp_path, seed: int, *, flip_fold0: bool = False):
    rng = np.random.default_rng(seed)
    samples, maps = [], {}
    (tmp_path / "oof").mkdir(exist_ok=True)
    for i in range(12):
        prob, m, truth = _patient(rng, lesion=i % 4 != 3, decoy=i % 2 == 0)
        if flip_fold0 and i % 3 == 0:  # the judged fold's truth turned upside down: decoys called lesions
            truth = (prob >= 0.5) & ~truth
        cid = f"case_{i:02d}"
        image = np.stack([m.adc, m.zadc, (m.zadc < -2) & m.brain]).astype(np.float32)
        samples.append(Sample(cid, image, m.brain[None].astype(np.float32), truth[None].astype(np.float32), SPACING))
        maps[cid] = m
        np.save(tmp_path / "oof" / f"{cid}.npy", prob.astype(np.float16))
    folds = [[f"case_{i:02d}" for i in range(12) if i % 3 == k] for k in range(3)]
    gates = {s.case_id: s.image[2] for s in samples}
    return samples, folds, gates, maps


def test_nested_fitting_never_sees_the_judged_fold(tmp_path):
    runs = {}
    for name, flip in (("plain", False), ("flipped", True)):
        out = tmp_path / name
        out.mkdir()
        samples, folds, gates, maps = _samples(out, 5, flip_fold0=flip)
        judge_out_of_fold(out, samples, folds, gate_masks=gates, maps=maps)
        runs[name] = json.loads((out / "cv_metrics.json").read_text())
    plain, flipped = runs["plain"], runs["flipped"]
    assert plain["post_processing_per_fold"][0]["component_filter"]["cutoff"] > 0
    assert plain["dice"] == pytest.approx(1.0)  # every decoy dropped, every lesion kept, out of fold
    # fold 0's settings are fitted on folds 1 and 2 only: the same whatever fold 0's truth says
    assert flipped["post_processing_per_fold"][0] == plain["post_processing_per_fold"][0]
    assert flipped["post_processing_per_fold"][1] != plain["post_processing_per_fold"][1]
