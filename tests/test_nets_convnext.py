"""ConvNeXt backbones: timm's parameter names and sizes, and loading timm weights from a local file."""

from __future__ import annotations

import pytest
import torch

from neocus.errors import InputFileError, NeocusError
from neocus.nets.convnext import ConvNeXt, load_timm_weights


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_sizes_match_timm():
    # timm's convnext_tiny has 28,589,128 parameters with the 1000-class ImageNet head
    assert n_params(ConvNeXt("tiny", in_chans=3, num_classes=1000)) == 28_589_128
    # convnext_atto: 3.70 M in timm's model table
    assert round(n_params(ConvNeXt("atto", in_chans=3, num_classes=1000)) / 1e6, 2) == 3.70


def test_timm_parameter_names_and_shapes():
    atto = ConvNeXt("atto", in_chans=3, num_classes=1000).state_dict()
    assert atto["stem.0.weight"].shape == (40, 3, 4, 4)
    assert atto["stages.1.downsample.0.weight"].shape == (40,)
    assert atto["stages.1.downsample.1.weight"].shape == (80, 40, 2, 2)
    assert atto["stages.0.blocks.0.mlp.fc1.weight"].shape == (160, 40, 1, 1)  # conv_mlp in timm's atto
    assert atto["stages.2.blocks.5.gamma"].shape == (160,)
    assert atto["head.norm.weight"].shape == (320,) and atto["head.fc.weight"].shape == (1000, 320)
    tiny = ConvNeXt("tiny", in_chans=3, num_classes=1000).state_dict()
    assert tiny["stages.0.blocks.0.mlp.fc1.weight"].shape == (384, 96)  # Linear MLP in timm's tiny
    assert "stages.3.blocks.2.conv_dw.weight" in tiny


def test_feature_map_and_pooled_output():
    m = ConvNeXt("atto", in_chans=1).eval()
    x = torch.randn(2, 1, 64, 96)
    assert m.forward_features(x).shape == (2, 320, 2, 3)
    assert m(x).shape == (2, 320)


def test_unknown_variant_is_a_user_error():
    with pytest.raises(NeocusError, match="backbone"):
        ConvNeXt("huge")


def test_load_timm_weights_adapts_the_stem_and_skips_the_classifier(tmp_path):
    src = ConvNeXt("atto", in_chans=3, num_classes=1000)
    path = tmp_path / "convnext_atto.pth"
    torch.save(src.state_dict(), path)
    grey = ConvNeXt("atto", in_chans=1)
    missing = load_timm_weights(grey, path)
    assert missing == []
    assert torch.allclose(grey.stem[0].weight, src.stem[0].weight.sum(1, keepdim=True))
    assert torch.equal(grey.stages[2].blocks[3].mlp.fc2.weight, src.stages[2].blocks[3].mlp.fc2.weight)


def test_load_timm_weights_errors(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_timm_weights(ConvNeXt("atto"), tmp_path / "none.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(InputFileError, match="cannot read"):
        load_timm_weights(ConvNeXt("atto"), bad)
    other = tmp_path / "femto.pth"
    torch.save(ConvNeXt("femto", in_chans=3).state_dict(), other)
    with pytest.raises(InputFileError, match="same ConvNeXt variant"):
        load_timm_weights(ConvNeXt("atto"), other)
