"""Issue #14: domain randomisation, appearance transfer and the GE-like look of phantom stills."""

from __future__ import annotations

import numpy as np
import pytest

from neocus.errors import NeocusError
from neocus.phantom.appearance import apply_appearance
from neocus.phantom.randomise import random_region, random_zoom, randomise_still
from neocus.phantom.style_transfer import fda_transfer, histogram_match
from neocus.phantom.tissues import Tissue
from neocus.vocab import Plane, View


def _toy(h: int = 60, w: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    tissue = np.full((h, w), int(Tissue.WHITE_MATTER), np.uint8)
    tissue[20:35, 30:50] = int(Tissue.CSF)
    tissue[:4] = int(Tissue.SKULL)
    mask = np.ones((h, w), bool)
    mask[:, :5] = False
    image = np.clip(rng.rayleigh(60.0, (h, w)), 0, 255).astype(np.uint8)
    image[tissue == Tissue.CSF] = 2
    image[~mask] = 0
    return image, tissue, mask


def test_randomise_same_seed_same_bytes_and_seeds_differ():
    image, tissue, mask = _toy()
    a = randomise_still(image, tissue, mask, rng=np.random.default_rng(5))
    b = randomise_still(image, tissue, mask, rng=np.random.default_rng(5))
    c = randomise_still(image, tissue, mask, rng=np.random.default_rng(6))
    assert a.dtype == np.uint8 and a.shape == image.shape
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_randomise_varies_tissue_contrast_far_beyond_one_look():
    image, tissue, mask = _toy()
    fluid, wm = tissue == Tissue.CSF, (tissue == Tissue.WHITE_MATTER) & mask
    ratios = []
    for seed in range(40):
        out = randomise_still(image, tissue, mask, rng=np.random.default_rng(seed)).astype(float)
        inside = out > 0
        if (fluid & inside).sum() > 20 and (wm & inside).sum() > 20:
            ratios.append((out[fluid & inside].mean() + 1) / (out[wm & inside].mean() + 1))
    assert max(ratios) / min(ratios) > 3.0  # fluid/parenchyma contrast spans a wide range
    assert min(ratios) < 0.5  # ... while fluid often stays the darker one


def test_randomise_strength_zero_keeps_the_image():
    image, tissue, mask = _toy()
    out = randomise_still(image, tissue, mask, strength=0.0, rng=np.random.default_rng(1))
    assert np.array_equal(out, image)


def test_randomise_refuses_mismatched_maps():
    image, tissue, mask = _toy()
    with pytest.raises(ValueError):
        randomise_still(image, tissue[:-1], mask, rng=np.random.default_rng(0))


def test_random_zoom_magnifies_from_the_top_and_keeps_labels_aligned():
    image, tissue, mask = _toy()
    before = (tissue == Tissue.CSF).sum()
    growth = []
    for seed in range(8):
        img, tis, msk = random_zoom(image, tissue, mask, max_zoom=1.5, rng=np.random.default_rng(seed))
        growth.append((tis == Tissue.CSF).sum() / before)
        assert (tis[:2] == Tissue.SKULL).all()  # the probe face (top rows) stays at the top
        assert np.median(img[tis == Tissue.CSF]) <= 10  # the image moved with its labels (fluid stays dark)
        assert msk.dtype == bool and img.shape == image.shape
    assert max(growth) > 1.6 and min(growth) >= 0.95  # magnified by up to 1.5 x 1.5


def test_random_regions_differ_in_shape_and_fill_the_frame():
    masks = [random_region((90, 120), rng=np.random.default_rng(s)) for s in range(12)]
    fractions = [m.mean() for m in masks]
    assert all(0.25 < f < 0.95 for f in fractions)
    top_widths = {int(m[1].sum()) for m in masks}
    assert min(top_widths) < 10 < max(top_widths)  # pointed sectors and flat faces both occur


def test_fda_keeps_structure_and_takes_the_reference_brightness():
    image, tissue, mask = _toy()
    ref = np.full_like(image, 30)
    out = fda_transfer(image, ref, mask, beta=0.05)
    assert out.shape == image.shape and (out[~mask] == 0).all()
    assert abs(float(out[mask].mean()) - 30) < abs(float(image[mask].mean()) - 30)
    fluid = tissue == Tissue.CSF
    assert out[fluid].mean() < out[mask & ~fluid & (tissue != Tissue.SKULL)].mean()  # the ventricle stays darker


def test_histogram_match_takes_the_reference_distribution():
    image, _, mask = _toy()
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 80, image.shape).astype(np.uint8)
    ref_mask = np.ones_like(mask)
    out = histogram_match(image, ref, mask, ref_mask)
    assert abs(np.median(out[mask]) - np.median(ref)) <= 3
    assert (out[~mask] == 0).all()
    order = np.argsort(image[mask], kind="stable")
    assert (np.diff(out[mask][order].astype(int)) >= 0).all()  # monotone: grey order is kept


@pytest.fixture(scope="module")
def _stills():
    from neocus.phantom import get_preset, new_subject, standard_still

    subject = new_subject(11, population="internal")
    rng = np.random.default_rng(11)
    preset = get_preset("internal")
    return {v: standard_still(subject, view=v, preset=preset, rng=rng, out_size_hw=(128, 128)) for v in (View.TVV, View.MSV)}


def test_ge_look_is_darker_and_deterministic(_stills):
    frame = _stills[View.TVV].frame
    parenchyma = (frame.tissue == Tissue.WHITE_MATTER) & frame.mask
    a = apply_appearance(frame, "ge", plane=Plane.CORONAL, rng=np.random.default_rng(2))
    b = apply_appearance(frame, "ge", plane=Plane.CORONAL, rng=np.random.default_rng(2))
    assert a.tobytes() == b.tobytes()
    assert 38 <= np.median(a[parenchyma]) <= 62  # the real GE stills' ~49
    assert np.median(a[parenchyma]) < np.median(frame.image[parenchyma])
    assert (a[~frame.mask] == 0).all()
    assert apply_appearance(frame, "today", plane=Plane.CORONAL, rng=np.random.default_rng(2)) is frame.image


def test_ge_look_dims_the_calvarium_on_sagittal_views_only(_stills):
    frame = _stills[View.MSV].frame
    skull_top = (frame.tissue == Tissue.SKULL) & frame.mask
    skull_top[frame.shape[0] // 2 :] = False
    if skull_top.sum() < 5:
        pytest.skip("no calvarium in the upper half of this still")
    sag = apply_appearance(frame, "ge", plane=Plane.SAGITTAL, rng=np.random.default_rng(4))
    cor = apply_appearance(frame, "ge", plane=Plane.CORONAL, rng=np.random.default_rng(4))
    assert sag[skull_top].mean() < 0.6 * cor[skull_top].mean()


def test_unknown_appearance_is_a_user_error(_stills):
    with pytest.raises(NeocusError, match="appearance"):
        apply_appearance(_stills[View.TVV].frame, "philips", plane=Plane.CORONAL, rng=np.random.default_rng(0))

