"""The zlow loss region: the loss ignores predictions outside it, the region follows the label through
the augmentation, the config round-trips and old configs load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hie_testdata import write_case
from neocus.hie import load_case
from neocus.hie.models import DeepSupervisionLoss, LossRegion, ModelConfig, RegionDiceCELoss
from neocus.hie.transforms import loss_region_mask, preprocess, train_transforms

ROOT = Path(__file__).resolve().parents[1]


def _case():
    torch.manual_seed(0)
    out = torch.randn(2, 2, 8, 8)
    target = torch.zeros(2, 1, 8, 8, dtype=torch.long)
    target[:, :, 2:5, 2:5] = 1
    region = torch.zeros(2, 1, 8, 8)
    region[:, :, 1:6, 1:6] = 1
    return out, target, region


def test_predictions_outside_the_region_do_not_change_the_loss_inside_they_do():
    loss = RegionDiceCELoss()
    out, target, region = _case()
    base = float(loss(out, target, region))
    outside = out.clone()
    outside[:, :, 6:, :] = torch.randn(2, 2, 2, 8) * 10  # rows 6-7: outside the region
    outside[:, 1, 0, 0] = 50.0  # a confident false lesion outside
    assert float(loss(outside, target, region)) == pytest.approx(base, abs=1e-6)
    inside = out.clone()
    inside[:, 1, 3, 3] -= 5.0  # less lesion where the lesion is
    assert float(loss(inside, target, region)) > base + 1e-3
    # gradient only inside
    x = out.clone().requires_grad_(True)
    DeepSupervisionLoss(loss)(x, target, region).backward()
    assert not x.grad[:, :, 6:, :].any() and x.grad[:, :, 2:5, 2:5].abs().sum() > 0


def test_the_whole_patch_as_region_is_monai_dice_ce():
    from neocus.hie.models import build_loss

    out, target, _ = _case()
    full = torch.ones(2, 1, 8, 8)
    assert float(RegionDiceCELoss()(out, target, full)) == pytest.approx(float(build_loss("dicece")(out, target)), abs=1e-5)


def test_empty_region_gives_a_finite_loss():
    out, target, region = _case()
    value = RegionDiceCELoss()(out, torch.zeros_like(target), torch.zeros_like(region))
    assert torch.isfinite(value) and float(value) == pytest.approx(0.0, abs=1e-3)


def test_config_round_trips_and_old_configs_load():
    cfg = ModelConfig(loss_region="zlow")
    assert cfg.loss_region is LossRegion.ZLOW
    assert ModelConfig.from_json(json.loads(json.dumps(cfg.to_json()))) == cfg
    old = json.loads((ROOT / "models" / "hie" / "config.json").read_text(encoding="utf-8"))
    old.pop("loss_region", None)
    assert ModelConfig.from_json(old).loss_region is LossRegion.ALL
    with pytest.raises(ValueError, match="zlow loss region"):
        ModelConfig(loss_region="zlow", loss="dice")
    with pytest.raises(ValueError, match="zlow loss region"):
        ModelConfig(loss_region="zlow", channels=("adc", "zadc"))


def test_region_is_the_dilated_zlow_and_follows_the_label(tmp_path):
    cfg = ModelConfig(patch=(16, 16), loss_region="zlow")
    adc, zadc, label = write_case(tmp_path)
    d = preprocess(load_case(adc, zadc=zadc, label=label), cfg)
    region = loss_region_mask(d["image"], cfg)
    zlow = d["image"][cfg.channels.index("zlow")] > 0.5
    assert region.shape == d["label"].shape and region[0][zlow].all()
    assert region.sum() > zlow.sum()
    # two voxels in-plane, none across slices
    z, y, x = np.argwhere(zlow)[0]
    assert region[0, z, y, x + 2] or x + 2 >= zlow.shape[2]
    grown = region[0].astype(bool) & ~zlow
    for zz in range(zlow.shape[0]):
        if not zlow[zz].any():
            assert not grown[zz].any()
    t = train_transforms(cfg)
    t.set_random_state(seed=1)
    for _ in range(4):
        out = t({"image": d["image"], "label": d["label"], "brain": d["brain"], "region": region})
        out = out[0] if isinstance(out, list) else out
        assert tuple(np.asarray(out["region"]).shape) == (1, *cfg.patch)
        assert set(np.unique(np.asarray(out["region"]))) <= {0, 1}
