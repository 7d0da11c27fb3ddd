"""ResNet-vd backbones: timm's parameter names and counts, weights loading from a local file."""

import pytest
import torch

from neocus.errors import InputFileError
from neocus.nets.resnet import ResNetVd, load_timm_weights

# Parameter counts of timm's models without the 1000-class head (fc), and names timm uses.
TIMM_PARAMS = {"resnet10t": 5_435_488 - 513_000, "resnet18d": 11_708_744 - 513_000, "resnet50d": 25_576_264 - 2_049_000}


@pytest.mark.parametrize("variant", list(TIMM_PARAMS))
def test_parameter_count_matches_timm(variant):
    m = ResNetVd(variant, in_chans=3)
    assert sum(p.numel() for p in m.parameters()) == TIMM_PARAMS[variant]


def test_timm_names_and_strides():
    m = ResNetVd("resnet50d", in_chans=3)
    names = set(m.state_dict())
    for k in ("conv1.0.weight", "conv1.1.running_var", "conv1.3.weight", "conv1.6.weight", "bn1.weight",
              "layer1.0.conv3.weight", "layer1.0.downsample.1.weight", "layer2.0.downsample.2.bias", "layer4.2.bn3.weight"):
        assert k in names
    feats = m(torch.zeros(1, 3, 64, 96))
    assert [tuple(f.shape[-2:]) for f in feats] == [(8, 12), (4, 6), (2, 3)]
    assert [f.shape[1] for f in feats] == m.out_channels == [512, 1024, 2048]


def test_load_rgb_checkpoint_into_grey_model(tmp_path):
    rgb = ResNetVd("resnet18d", in_chans=3)
    state = rgb.state_dict() | {"fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}
    torch.save(state, tmp_path / "r18d.pth")
    grey = ResNetVd("resnet18d", in_chans=1)
    assert load_timm_weights(grey, tmp_path / "r18d.pth") == []
    assert torch.allclose(grey.conv1[0].weight, rgb.conv1[0].weight.sum(1, keepdim=True))
    assert torch.equal(grey.layer3[1].conv2.weight, rgb.layer3[1].conv2.weight)


def test_bad_weight_files_are_input_errors(tmp_path):
    m = ResNetVd("resnet18d")
    with pytest.raises(InputFileError, match="no such"):
        load_timm_weights(m, tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputFileError, match="cannot read"):
        load_timm_weights(m, tmp_path / "junk.pth")
    torch.save(ResNetVd("resnet50d").state_dict(), tmp_path / "r50.pth")
    with pytest.raises(InputFileError, match="do not fit"):
        load_timm_weights(m, tmp_path / "r50.pth")
