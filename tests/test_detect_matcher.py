"""Hungarian matching with the rotated cost, the Varifocal loss and the denoising groups."""

import itertools

import torch

from neocus.detect.criterion import ALPHA, GAMMA, hungarian_match, varifocal_loss
from neocus.detect.decoder import make_denoising
from neocus.geometry import probiou


def _cost(logits, boxes, t, qi, ti):
    p = torch.sigmoid(logits)[qi, t["labels"][ti]]
    c_cls = ALPHA * (1 - p) ** GAMMA * -torch.log(p + 1e-8) - (1 - ALPHA) * p**GAMMA * -torch.log(1 - p + 1e-8)
    l1 = (boxes[qi, :4] - t["boxes"][ti, :4]).abs().sum()
    return float(2 * c_cls + 5 * l1 + 2 * (1 - probiou(boxes[qi], t["boxes"][ti])))


def test_matching_is_the_cheapest_assignment():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1, 5, 3, generator=g)
    boxes = torch.cat([torch.rand(1, 5, 4, generator=g) * 0.5 + 0.25, torch.rand(1, 5, 1, generator=g) * 180 - 90], -1)
    t = {"labels": torch.tensor([0, 2, 1]), "boxes": torch.cat([torch.rand(3, 4, generator=g) * 0.5 + 0.25, torch.rand(3, 1, generator=g) * 180 - 90], -1)}
    (qi, ti), = hungarian_match(logits, boxes, [t])
    got = sum(_cost(logits[0], boxes[0], t, int(q), int(j)) for q, j in zip(qi, ti))
    best = min(sum(_cost(logits[0], boxes[0], t, q, j) for j, q in enumerate(perm)) for perm in itertools.permutations(range(5), 3))
    assert abs(got - best) < 1e-4


def test_matching_prefers_the_box_across_the_angle_wrap():
    logits = torch.zeros(1, 2, 1)
    boxes = torch.tensor([[[0.5, 0.5, 0.4, 0.1, -89.0], [0.5, 0.5, 0.4, 0.1, 0.0]]])
    t = {"labels": torch.tensor([0]), "boxes": torch.tensor([[0.5, 0.5, 0.4, 0.1, 89.0]])}
    (qi, _), = hungarian_match(logits, boxes, [t])
    assert qi.tolist() == [0]


def test_varifocal_targets_are_the_iou_of_the_match():
    logits = torch.zeros(1, 3, 2, requires_grad=True)
    t = [{"labels": torch.tensor([1]), "boxes": torch.zeros(1, 5)}]
    loss = varifocal_loss(logits, [(torch.tensor([2]), torch.tensor([0]))], t, torch.tensor([0.7]), 1.0)
    loss.backward()
    g = logits.grad[0]
    assert g[2, 1] < 0  # pushed up toward 0.7
    assert (g[:2] > 0).all() and g[2, 0] > 0  # the rest pushed down


def test_denoising_groups_cannot_see_each_other():
    emb = torch.nn.Embedding(4, 8)
    targets = [{"labels": torch.tensor([0, 1]), "boxes": torch.tensor([[0.5, 0.5, 0.2, 0.1, 10.0], [0.3, 0.3, 0.1, 0.1, 0.0]])},
               {"labels": torch.tensor([2]), "boxes": torch.tensor([[0.6, 0.4, 0.3, 0.1, -45.0]])}]
    dn = make_denoising(targets, emb, num_classes=3, num_queries=5, num_denoising=8, label_noise_ratio=0.5, box_noise_scale=0.4,
                        angle_noise_deg=10.0, generator=torch.Generator().manual_seed(0))
    assert dn.size == 2 * 2 * 4 and dn.content.shape == (2, 16, 8) and dn.ref.shape == (2, 16, 5)
    m = dn.attn_mask
    assert m[16:, :16].all() and not m[:16, 16:].any() and not m[16:, 16:].any()
    assert m[0, 4] and not m[0, 3] and not m[4, 7]  # group 0 = queries 0..3
    q, j = dn.matches[1]
    assert q.tolist() == [0, 4, 8, 12] and j.tolist() == [0, 0, 0, 0]
    # positives stay close to their box, angle noise bounded by angle_noise_deg
    pos = dn.ref[0, [0, 4, 8, 12]]
    assert (pos[:, 4] - 10).abs().max() <= 10.0 + 1e-5


def test_decoder_looks_forward_twice():
    """RT-DETR: in training, layer i's boxes refine layer i-1's boxes *with* their gradient, so layer i's
    box loss also trains layer i-1's box head; the reference the next layer samples at stays detached."""
    from neocus.detect.decoder import Decoder

    torch.manual_seed(0)
    dec = Decoder(16, 2, 32, 1, 2, 2, 3)
    for head in dec.bbox_heads:  # non-zero heads, so the refinement depends on them
        torch.nn.init.normal_(head.layers[-1].weight, std=0.1)
    tgt, ref = torch.randn(1, 4, 16), torch.cat([torch.rand(1, 4, 4) * 0.5 + 0.25, torch.zeros(1, 4, 1)], -1)
    memory = torch.randn(1, 16, 16)
    dec.train()
    _, boxes = dec(tgt, ref, memory, [(4, 4)])
    boxes[1].sum().backward()
    assert dec.bbox_heads[0].layers[-1].weight.grad is not None and dec.bbox_heads[0].layers[-1].weight.grad.abs().sum() > 0
    dec.eval()
    with torch.no_grad():
        _, eval_boxes = dec(tgt, ref, memory, [(4, 4)])
    assert torch.allclose(eval_boxes[1], boxes[1].detach(), atol=1e-6)


def test_box_losses_turn_an_off_centre_thin_box_toward_the_target_angle():
    """ProbIoU alone pushes the angle of a thin box lying beside its target the wrong way; the
    detector's box losses together (as weighted in the default config) must turn it toward the target."""
    from neocus.detect.config import load_config
    from neocus.detect.criterion import DetectionLoss, angle_loss

    c = load_config("default").train
    t = torch.tensor([[0.5, 0.5, 0.3, 0.02, 0.0]])
    for angle in (30.0, -30.0, 150.0):
        p = torch.tensor([[0.5, 0.55, 0.3, 0.02, angle]], requires_grad=True)
        loss = c.weight_rot * DetectionLoss(c)._rot(p, t) + c.weight_angle * angle_loss(p, t).sum()
        loss.backward()
        # a step against the gradient moves the angle toward 0 (mod 180)
        toward = -torch.sign(torch.sin(torch.deg2rad(p.detach()[0, 4]) * 2))
        assert float(-p.grad[0, 4]) * float(toward) > 0
    square = torch.tensor([[0.5, 0.5, 0.1, 0.1, 40.0]])
    assert float(angle_loss(square, torch.tensor([[0.5, 0.5, 0.1, 0.1, 0.0]]))) == 0.0
