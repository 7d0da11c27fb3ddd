"""The diagnosis network: heads, masking of missing views, metadata token, grade probabilities."""

from __future__ import annotations

import pytest
import torch
from diagnosis_testdata import synthetic_case

from neocus.diagnose.config import FINDINGS, ModelConfig
from neocus.diagnose.data import collate
from neocus.diagnose.model import DiagnosisNet, grade_probabilities
from neocus.errors import NeocusError
from neocus.vocab import View

CFG = ModelConfig(image_size_hw=(32, 32), dropout=0.0, drop_path_rate=0.0)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return DiagnosisNet(CFG).eval()


def test_head_shapes(net):
    b = collate([synthetic_case(1, severe=True).views, synthetic_case(2, severe=False).views])
    out = net(b.images, b.views, b.present, b.metadata)
    assert out.image_logits.shape == (2, 6, len(FINDINGS))
    assert out.case_logits.shape == (2, 2)
    assert out.grade_logits.shape == (2, 5)
    assert torch.allclose(out.grade_probs().sum(-1), torch.ones(2))


def test_missing_views_are_masked(net):
    four = synthetic_case(3, severe=True, views=(View.AHV, View.TVV, View.MSV, View.LPSV)).views
    b = collate([four])
    assert b.present.tolist() == [[True, True, True, True, False, False]]
    ref = net(b.images, b.views, b.present, b.metadata)
    garbage = b.images.clone()
    garbage[0, 4:] = torch.randn_like(garbage[0, 4:]) * 5
    views = b.views.clone()
    views[0, 4:] = 2
    out = net(garbage, views, b.present, b.metadata)
    assert torch.allclose(ref.case_logits, out.case_logits, atol=1e-5)
    assert torch.allclose(ref.grade_logits, out.grade_logits, atol=1e-5)
    # unmasked, the same garbage does change the case call: the mask is what hides it
    out_unmasked = net(garbage, views, torch.ones_like(b.present), b.metadata)
    assert not torch.allclose(ref.case_logits, out_unmasked.case_logits, atol=1e-4)


def test_a_case_reads_the_same_alone_and_beside_a_full_case(net):
    four = synthetic_case(4, severe=False, views=(View.AHV, View.BV, View.RPSV, View.MSV)).views
    alone = collate([four])
    both = collate([four, synthetic_case(5, severe=True).views])
    a = net(alone.images, alone.views, alone.present, alone.metadata).case_logits[0]
    b = net(both.images, both.views, both.present, both.metadata).case_logits[0]
    assert torch.allclose(a, b, atol=1e-5)


def test_view_embedding_matters(net):
    b = collate([synthetic_case(6, severe=True).views])
    out = net(b.images, b.views, b.present, b.metadata).case_logits
    shuffled = net(b.images, b.views.flip(1), b.present, b.metadata).case_logits
    assert not torch.allclose(out, shuffled, atol=1e-6)


def test_metadata_token():
    torch.manual_seed(0)
    net = DiagnosisNet(ModelConfig(image_size_hw=(32, 32), use_metadata=True, dropout=0.0)).eval()
    case = synthetic_case(7, severe=True)
    b = collate([case.views], [case])
    assert b.metadata[0, 3:].tolist() == [1.0, 1.0, 0.0]  # birth weight unknown
    with_meta = net(b.images, b.views, b.present, b.metadata).case_logits
    no_meta = net(b.images, b.views, b.present, torch.zeros_like(b.metadata)).case_logits
    assert not torch.allclose(with_meta, no_meta)
    assert DiagnosisNet(CFG).meta_proj is None


def test_ordinal_grade_head_gives_grade_probabilities():
    net = DiagnosisNet(ModelConfig(image_size_hw=(32, 32), grade_loss="ordinal")).eval()
    assert net.grade_head.out_features == 4
    logits = torch.tensor([[8.0, 8.0, -8.0, -8.0], [-8.0, -8.0, -8.0, -8.0], [1.0, 2.0, 0.0, 3.0]])
    p = grade_probabilities(logits)
    assert torch.allclose(p.sum(-1), torch.ones(3), atol=1e-6)
    assert p[0].argmax() == 2 and p[1].argmax() == 0
    assert (p >= 0).all()


def test_bad_config_values():
    with pytest.raises(NeocusError, match="multiples of 32"):
        ModelConfig(image_size_hw=(100, 100)).check()
    with pytest.raises(NeocusError, match="grade_loss"):
        ModelConfig(grade_loss="poisson").check()


def test_layer_scale_init_is_configurable():
    default = DiagnosisNet(ModelConfig(image_size_hw=(32, 32)))
    wide = DiagnosisNet(ModelConfig(image_size_hw=(32, 32), layer_scale_init=0.5))
    gammas = [p for n, p in wide.backbone.named_parameters() if n.endswith(".gamma")]
    assert gammas and all(torch.all(g == 0.5) for g in gammas)
    assert all(torch.all(p == 1e-6) for n, p in default.backbone.named_parameters() if n.endswith(".gamma"))
    assert set(dict(default.named_parameters())) == set(dict(wide.named_parameters()))  # same (timm) names
