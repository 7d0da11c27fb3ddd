"""neocus.hie.transforms: normalisation inside the brain, channels, 2.5-D stacks, augmentation, post-processing."""

from __future__ import annotations

import numpy as np
import pytest

from hie_testdata import synthetic_arrays, write_case
from neocus.hie import postprocess as pp
from neocus.hie.models import ModelConfig
from neocus.hie.reading import load_case
from neocus.hie.transforms import (
    NormaliseBraind,
    RandBlankChanneld,
    RandSliceStackd,
    StackChannelsd,
    all_slice_stacks,
    preprocess,
    slice_stack,
    train_transforms,
    channel_planes,
    RandOnPlanesd,
)


def test_normalisation_uses_only_brain_voxels():
    adc, zadc, _ = synthetic_arrays()
    brain = (adc > 0)[None]
    out = NormaliseBraind(("adc", "zadc"))({"adc": adc[None] * 3 + 0, "zadc": zadc[None], "brain": brain})
    inside = out["adc"][brain]
    assert abs(float(inside.mean())) < 1e-4 and float(inside.std()) == pytest.approx(1.0, abs=1e-3)
    assert not out["adc"][~brain].any() and not out["zadc"][~brain].any()
    np.testing.assert_allclose(out["zadc"][brain], zadc[None][brain] / 5.0, rtol=1e-6)


def test_adc_alone_gets_a_zero_zadc_channel(tmp_path):
    adc, zadc, label = write_case(tmp_path)
    cfg = ModelConfig()
    both = preprocess(load_case(adc, zadc=zadc, label=label), cfg)
    alone = preprocess(load_case(adc), cfg)
    assert both["image"].shape == alone["image"].shape == (3, 8, 32, 32)
    np.testing.assert_array_equal(alone["image"][0], both["image"][0])
    assert not alone["image"][1:].any() and both["image"][1].any()
    raw = load_case(adc, zadc=zadc).zadc.array
    np.testing.assert_array_equal(both["image"][2], ((raw < -2) & (both["brain"][0] > 0)).astype(np.float32))
    assert "label" in both and "label" not in alone


def test_stack_channels_order():
    a, z = np.ones((1, 2, 3, 3), np.float32), np.full((1, 2, 3, 3), 2, np.float32)
    out = StackChannelsd(["adc", "zadc"])({"adc": a, "zadc": z})
    assert out["image"].shape == (2, 2, 3, 3) and out["image"][1].max() == 2


def test_slice_stacks_repeat_edges_and_agree():
    image = np.arange(2 * 4 * 2 * 2, dtype=np.float32).reshape(2, 4, 2, 2)  # [C, Z, Y, X]
    first = slice_stack(image, 0, context=1)
    # channel-major: ADC slices (0, 0, 1), then Z-ADC slices (0, 0, 1)
    np.testing.assert_array_equal(first, np.stack([image[0, 0], image[0, 0], image[0, 1], image[1, 0], image[1, 0], image[1, 1]]))
    every = all_slice_stacks(image, context=1)
    assert every.shape == (4, 6, 2, 2)
    for z in range(4):
        np.testing.assert_array_equal(every[z], slice_stack(image, z, context=1))
    cfg = ModelConfig(context=1)  # adc, zadc, zlow
    np.testing.assert_array_equal(channel_planes(cfg, ("zadc", "zlow")), [3, 4, 5, 6, 7, 8])
    np.testing.assert_array_equal(channel_planes(ModelConfig(model="unet3d", patch=(4, 8, 8)), ("adc",)), [0])


def test_lesion_aware_slice_draw():
    image = np.zeros((2, 10, 8, 8), np.float32)
    label = np.zeros((1, 10, 8, 8), np.uint8)
    label[0, 7, 3, 3] = 1
    brain = np.ones_like(label)
    t = RandSliceStackd(context=1, pos_fraction=1.0)
    t.set_random_state(seed=0)
    draws = [t({"image": image, "label": label, "brain": brain}) for _ in range(5)]
    assert all(d["label"].sum() == 1 for d in draws)  # always the lesion slice
    assert draws[0]["image"].shape == (6, 8, 8) and draws[0]["label"].shape == (1, 8, 8)
    t0 = RandSliceStackd(context=1, pos_fraction=0.0)
    t0.set_random_state(seed=0)
    assert sum(t0({"image": image, "label": label, "brain": brain})["label"].sum() for _ in range(30)) < 15


def test_intensity_augmentation_touches_only_the_chosen_planes():
    from monai.transforms import RandShiftIntensity

    x = np.zeros((6, 4, 4), np.float32)
    t = RandOnPlanesd(RandShiftIntensity(offsets=(0.5, 0.5), prob=1.0), planes=np.array([0, 1, 2]))
    t.set_random_state(seed=0)
    out = t({"image": x})["image"]
    assert np.allclose(out[:3], 0.5) and not out[3:].any()


def test_blank_channel():
    x = np.ones((6, 4, 4), np.float32)
    out = RandBlankChanneld("image", planes=slice(3, 6), prob=1.0)({"image": x})["image"]
    assert out[:3].all() and not out[3:].any() and x.all()


@pytest.mark.parametrize("cfg", [ModelConfig(patch=(16, 16)), ModelConfig(model="unet3d", patch=(4, 16, 16))])
def test_train_transforms_give_patches_of_the_patch_size(tmp_path, cfg):
    adc, zadc, label = write_case(tmp_path)
    d = preprocess(load_case(adc, zadc=zadc, label=label), cfg)
    t = train_transforms(cfg)
    t.set_random_state(seed=1)
    hits = 0
    for _ in range(8):
        out = t({"image": d["image"], "label": d["label"], "brain": d["brain"]})
        out = out[0] if isinstance(out, list) else out
        assert tuple(out["image"].shape) == (cfg.in_channels, *cfg.patch)
        assert tuple(out["label"].shape) == (1, *cfg.patch)
        assert set(np.unique(np.asarray(out["label"]))) <= {0, 1}
        hits += int(np.asarray(out["label"]).any())
    assert hits >= 3  # lesion patches are oversampled


def test_post_processing_threshold_and_min_size():
    prob = np.zeros((6, 12, 12), np.float32)
    prob[1:4, 1:4, 1:4] = 0.9  # 27 voxels
    prob[5, 10, 10] = 0.9  # one voxel
    prob[2, 8, 8] = 0.4
    post = pp.PostProcess(threshold=0.5, min_component_mm3=10.0)
    mask = pp.apply(prob, post, voxel_mm3=2.0)  # 10 mm3 = 5 voxels
    assert mask.sum() == 27 and mask.dtype == np.uint8
    assert pp.apply(prob, pp.PostProcess(threshold=0.3), voxel_mm3=2.0).sum() == 29


def test_post_processing_fit_finds_the_separating_values():
    truth = np.zeros((6, 12, 12), bool)
    truth[1:4, 1:4, 1:4] = True
    prob = np.where(truth, 0.62, 0.05).astype(np.float32)
    prob[5, 10, 10] = 0.95  # a one-voxel false alarm that only the minimum size removes
    prob[0, 0, 0] = 0.5  # a false alarm below 0.55
    post = pp.fit([prob], [truth], voxel_mm3=[8.0], thresholds=(0.3, 0.55, 0.7), min_sizes_mm3=(0.0, 25.0))
    assert (post.threshold, post.min_component_mm3) == (0.55, 25.0)
    assert post.mean_dice == pytest.approx(1.0) and post.fitted_on == 1


def test_gate_keeps_only_low_zadc_voxels_and_is_fitted_when_it_helps():
    truth = np.zeros((6, 12, 12), bool)
    truth[1:4, 1:4, 1:4] = True
    prob = np.where(truth, 0.9, 0.05).astype(np.float32)
    prob[1:4, 4:6, 1:4] = 0.9  # a rim the network adds around the lesion ...
    zlow = truth.astype(np.float32)  # ... where Z-ADC is not low
    gated = pp.PostProcess(threshold=0.5, gate="zlow")
    assert pp.apply(prob, gated, voxel_mm3=1.0, zlow=zlow).sum() == truth.sum()
    assert pp.apply(prob, gated, voxel_mm3=1.0, zlow=None).sum() > truth.sum()  # ADC alone: no gate
    tables = {
        pp.Gate.NONE: [pp.component_table(prob, truth, voxel_mm3=1.0)],
        pp.Gate.ZLOW: [pp.component_table(prob, truth, voxel_mm3=1.0, gate_mask=zlow)],
    }
    best = pp.fit_gated(tables)
    assert best.gate is pp.Gate.ZLOW and best.mean_dice == pytest.approx(1.0)
    assert pp.PostProcess.from_dict(best.to_dict()) == best


def test_optional_resampling_changes_the_grid_consistently(tmp_path):
    adc, zadc, label = write_case(tmp_path)  # 8 slices of 4 mm, 32 x 32 of 1.5 mm
    out = preprocess(load_case(adc, zadc=zadc, label=label), ModelConfig(), spacing_mm=(2.0, 1.5, 1.5))
    assert out["image"].shape[1:] == out["label"].shape[1:] == out["brain"].shape[1:]
    assert out["image"].shape[1] in (15, 16) and out["image"].shape[2:] == (32, 32)
    assert set(np.unique(np.asarray(out["label"]))) <= {0, 1} and np.asarray(out["label"]).any()
