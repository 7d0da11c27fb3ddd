"""Heatmaps: Grad-CAM against a hand computation, Finer-CAM's contrast classes, overlays, lesion hits."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from diagnosis_testdata import synthetic_case

from neocus.diagnose.config import FINDINGS, ModelConfig
from neocus.diagnose.data import ViewImage, collate
from neocus.diagnose.model import DiagnosisNet
from neocus.explain import case_heatmaps, similar_findings, write_overlay
from neocus.explain.cam import ViewHeatmap, case_hit
from neocus.vocab import Finding, View


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return DiagnosisNet(ModelConfig(image_size_hw=(64, 64), dropout=0.0, drop_path_rate=0.0)).eval()


def test_grad_cam_matches_a_hand_computation(net):
    case = synthetic_case(1, severe=True, size=64)
    maps = case_heatmaps(net, case.views, method="grad-cam", target=Finding.IVH, stage=-1)
    b = collate([case.views])
    feats = net.image_features(b.images.flatten(0, 1)).detach().requires_grad_(True)
    out = net.forward_from_features(feats, b.views, b.present, b.metadata, batch_views=(1, 6))
    j = b.slot_views[0].index(View.TVV)
    out.image_logits[0, j, FINDINGS.index(Finding.IVH)].backward()
    cam = torch.relu((feats.grad[j].mean((1, 2), keepdim=True) * feats[j].detach()).sum(0)).numpy()
    cam = cv2.resize(cam, (64, 64), interpolation=cv2.INTER_LINEAR)
    expected = cam / cam.max() if cam.max() > 0 else cam
    hm = maps[View.TVV]
    assert hm.heatmap.shape == (64, 64) and hm.heatmap.min() >= 0 and hm.heatmap.max() <= 1
    assert np.allclose(hm.heatmap, expected, atol=1e-5)
    finer_grid = case_heatmaps(net, case.views, method="grad-cam", target=Finding.IVH)[View.TVV].heatmap  # default stage: stride 4
    assert finer_grid.shape == (64, 64) and not np.allclose(finer_grid, hm.heatmap)


def test_finer_cam_contrasts_with_the_most_similar_classes(net):
    with torch.no_grad():
        w = torch.randn(len(FINDINGS), net.image_head.in_features)
        w[FINDINGS.index(Finding.HYDROCEPHALUS)] = w[FINDINGS.index(Finding.VENTRICULAR_DILATION)] + 0.01 * torch.randn(w.shape[1])
        net.image_head.weight.copy_(w)
    assert similar_findings(net, Finding.HYDROCEPHALUS, k=1) == (Finding.VENTRICULAR_DILATION,)
    case = synthetic_case(2, severe=True, size=64)
    finer = case_heatmaps(net, case.views, method="finer-cam", target=Finding.HYDROCEPHALUS, n_similar=1)
    grad = case_heatmaps(net, case.views, method="grad-cam", target=Finding.HYDROCEPHALUS)
    assert finer[View.AHV].contrast == (Finding.VENTRICULAR_DILATION,) and grad[View.AHV].contrast == ()
    assert not np.allclose(finer[View.AHV].heatmap, grad[View.AHV].heatmap)
    same = case_heatmaps(net, case.views, method="finer-cam", target=Finding.HYDROCEPHALUS, alpha=0.0)
    assert np.allclose(same[View.AHV].heatmap, grad[View.AHV].heatmap, atol=1e-6)


def test_overlay_png(tmp_path):
    img = np.full((40, 50), 100, np.uint8)
    hm = np.zeros((40, 50), np.float32)
    hm[10, 30] = 1.0
    path = write_overlay(tmp_path / "sub" / "o.png", img, hm)
    pic = cv2.imread(str(path))
    assert pic.shape == (40, 50, 3)
    assert tuple(pic[10, 30]) == (255, 255, 255)  # the peak marker


def test_case_hit_uses_the_most_suspicious_view():
    mask = np.zeros((10, 10), bool)
    mask[2:4, 2:4] = True
    views = {View.AHV: ViewImage(np.zeros((10, 10), np.uint8), None, mask), View.TVV: ViewImage(np.zeros((10, 10), np.uint8), None, mask)}
    inside = np.zeros((10, 10), np.float32)
    inside[3, 3] = 1
    outside = np.zeros((10, 10), np.float32)
    outside[8, 8] = 1
    maps = {View.AHV: ViewHeatmap(View.AHV, Finding.IVH, "grad-cam", (), inside),
            View.TVV: ViewHeatmap(View.TVV, Finding.IVH, "grad-cam", (), outside)}
    assert case_hit(maps, views, {View.AHV: 0.9, View.TVV: 0.2}) is True
    assert case_hit(maps, views, {View.AHV: 0.1, View.TVV: 0.8}) is False
    empty = {v: ViewImage(vi.image, None, None) for v, vi in views.items()}
    assert case_hit(maps, empty, {}) is None


class _BrightnessBackbone(torch.nn.Module):
    """A stand-in backbone whose every feature is the local mean brightness (stride 4, then 8, 16, 32):
    a model forced to look where the image is bright."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features
        stem = torch.nn.Conv2d(1, num_features, kernel_size=4, stride=4, bias=False)
        torch.nn.init.constant_(stem.weight, 1.0 / 16)
        self.stages = torch.nn.Sequential(stem, *[torch.nn.AvgPool2d(2) for _ in range(3)])

    def forward_features(self, x):
        return self.stages(x)

    def forward_head(self, features):
        return features.mean(dim=(2, 3))


@pytest.mark.parametrize("method", ["grad-cam", "finer-cam"])
@pytest.mark.parametrize("stage", [0, 1, 2])
def test_a_model_forced_to_look_at_a_known_region_hits_it(method, stage):
    """Map-to-image coordinates: a non-square still with a bright lesion off the diagonal (a swapped x/y,
    a transposed or flipped map, or a crop would all miss it)."""
    net = DiagnosisNet(ModelConfig(image_size_hw=(64, 64), dropout=0.0, drop_path_rate=0.0)).eval()
    net.backbone = _BrightnessBackbone(net.backbone.num_features)
    with torch.no_grad():
        net.image_head.weight.zero_()
        net.image_head.bias.zero_()
        net.image_head.weight[FINDINGS.index(Finding.IVH)] = 1.0
    h, w = 64, 128
    img = np.full((h, w), 10, np.uint8)
    mask = np.zeros((h, w), bool)
    mask[2:30, 100:124] = True  # upper right, on the border cells of the stride-16 grid (index 2)
    img[mask] = 250
    views = {View.TVV: ViewImage(img, frozenset({Finding.IVH}), mask), View.MSV: ViewImage(np.full((h, w), 10, np.uint8), None, None)}
    maps = case_heatmaps(net, views, method=method, target=Finding.IVH, stage=stage)
    hm = maps[View.TVV]
    assert hm.heatmap.shape == (h, w)
    x, y = hm.peak_xy
    assert mask[y, x], (x, y)
    assert case_hit(maps, views, {View.TVV: 1.0, View.MSV: 0.0}) is True


def test_the_peak_of_a_flat_maximum_is_its_centre_not_its_first_pixel():
    hm = np.zeros((48, 64), np.float32)
    hm[0:8, 40:56] = 1.0  # what an upsampled border cell looks like
    hm[30, 5] = 0.9
    assert ViewHeatmap(View.AHV, Finding.IVH, "grad-cam", (), hm).peak_xy in {(47, 3), (48, 3), (47, 4), (48, 4)}
