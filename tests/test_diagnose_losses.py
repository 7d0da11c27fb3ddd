"""Losses: masked BCE, class-balanced CE (effective number), CE / ordinal grade loss, RegMixup mixing."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from neocus.diagnose.losses import (
    case_loss,
    effective_number_weights,
    grade_loss,
    image_bce,
    mix_batch,
    one_hot,
    ordinal_targets,
)


def test_image_bce_ignores_missing_views_and_unknown_labels():
    logits = torch.tensor([[[2.0, -1.0], [50.0, 50.0]]])
    targets = torch.tensor([[[1.0, -1.0], [0.0, 0.0]]])
    present = torch.tensor([[True, False]])
    expected = F.binary_cross_entropy_with_logits(torch.tensor([2.0]), torch.tensor([1.0]))
    assert torch.isclose(image_bce(logits, targets, present), expected)


def test_effective_number_weights():
    w = effective_number_weights([900, 100], beta=0.99)
    raw = np.array([(1 - 0.99) / (1 - 0.99**900), (1 - 0.99) / (1 - 0.99**100)])
    assert np.allclose(w.numpy(), raw / raw.mean(), atol=1e-6)
    assert w[1] > w[0]  # the rare class weighs more
    assert torch.allclose(effective_number_weights([5, 5], beta=0.9), torch.ones(2))


def test_class_balanced_ce_matches_weighted_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(6, 2)
    y = torch.tensor([0, 1, 1, 0, 0, 0])
    w = torch.tensor([0.4, 1.6])
    assert torch.isclose(case_loss(logits, one_hot(y, 2), weights=w), F.cross_entropy(logits, y, weight=w), atol=1e-6)
    assert torch.isclose(case_loss(logits, one_hot(y, 2)), F.cross_entropy(logits, y), atol=1e-6)


def test_grade_losses():
    torch.manual_seed(1)
    y = torch.tensor([0, 3, 4])
    ce_logits = torch.randn(3, 5)
    assert torch.isclose(grade_loss(ce_logits, one_hot(y, 5)), F.cross_entropy(ce_logits, y), atol=1e-6)
    cum = ordinal_targets(one_hot(y, 5))
    assert cum.tolist() == [[0, 0, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    ord_logits = torch.randn(3, 4)
    assert torch.isclose(grade_loss(ord_logits, one_hot(y, 5)), F.binary_cross_entropy_with_logits(ord_logits, cum))
    # the ordinal loss punishes a far miss more than a near one
    near = grade_loss(torch.tensor([[9.0, 9.0, 9.0, -9.0]]), one_hot(torch.tensor([4]), 5))
    far = grade_loss(torch.tensor([[-9.0, -9.0, -9.0, -9.0]]), one_hot(torch.tensor([4]), 5))
    assert far > near


def test_mix_batch_mixes_only_matching_present_views():
    images = torch.stack([torch.full((2, 1, 2, 2), 1.0), torch.full((2, 1, 2, 2), 3.0)])
    views = torch.tensor([[0, 1], [0, 2]])
    present = torch.tensor([[True, True], [True, True]])
    mixed, where = mix_batch(images, views, present, 0.25, torch.tensor([1, 0]))
    assert where.tolist() == [[True, False], [True, False]]
    assert torch.allclose(mixed[0, 0], torch.full((1, 2, 2), 0.25 * 1 + 0.75 * 3))
    assert torch.equal(mixed[0, 1], images[0, 1]) and torch.equal(mixed[1, 1], images[1, 1])
