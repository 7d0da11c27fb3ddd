"""The ensemble rule: every branch, thresholds from the config, the trace; and the read-outs."""

from __future__ import annotations

import pytest

from neocus.diagnose.config import RuleConfig
from neocus.diagnose.rule import apply_rule, read_out
from neocus.errors import NeocusError
from neocus.vocab import Binary, Decision, Finding, Tier, View

NORMAL = {f: 0.01 for f in Finding} | {Finding.NORMAL: 0.99}
SEVERE_IMG = NORMAL | {Finding.IVH: 0.9, Finding.VENTRICULAR_DILATION: 0.8, Finding.NORMAL: 0.05}
MILD_IMG = NORMAL | {Finding.IVH: 0.9, Finding.NORMAL: 0.05}


def case(n_severe: int, n_views: int = 6, other=NORMAL):
    views = list(View)[:n_views]
    return {v: (SEVERE_IMG if i < n_severe else other) for i, v in enumerate(views)}


def test_case_head_branch():
    t = apply_rule(0.7, case(0), RuleConfig())
    assert t.decision is Decision.SEVERE and t.case_head_severe and not t.image_rule_severe
    assert "case head" in t.reason


def test_image_rule_branch_needs_two_severe_images():
    two = apply_rule(0.2, case(2), RuleConfig())
    assert two.decision is Decision.SEVERE and two.severe_images == ["AHV", "TVV"] and not two.case_head_severe
    one = apply_rule(0.2, case(1), RuleConfig())
    assert one.decision is Decision.NON_SEVERE and one.severe_images == ["AHV"]
    # IVH without dilation is not a severe image
    assert apply_rule(0.2, case(0, other=MILD_IMG), RuleConfig()).decision is Decision.NON_SEVERE


def test_thresholds_come_from_the_config():
    assert apply_rule(0.45, case(0), RuleConfig(case_threshold=0.4)).decision is Decision.SEVERE
    assert apply_rule(0.2, case(1), RuleConfig(min_severe_images=1)).decision is Decision.SEVERE
    assert apply_rule(0.2, case(2), RuleConfig(finding_threshold=0.95)).decision is Decision.NON_SEVERE
    off = apply_rule(0.2, case(3), RuleConfig(use_image_rule=False))
    assert off.decision is Decision.NON_SEVERE and not off.image_rule_used


def test_too_few_views_is_unsuitable():
    t = apply_rule(0.99, case(3, n_views=3), RuleConfig())
    assert t.decision is Decision.UNSUITABLE and not t.enough_views and t.n_views == 3
    assert apply_rule(0.99, case(3, n_views=3), RuleConfig(min_views=3)).decision is Decision.SEVERE


def test_trace_serialises():
    d = apply_rule(0.2, case(2), RuleConfig()).to_dict()
    assert d["decision"] == "severe" and d["image_findings"]["AHV"] == ["ivh", "ventricular_dilation"]
    assert d["image_findings"]["BV"] == ["normal"]


def test_rule_config_checks():
    with pytest.raises(NeocusError, match="case_threshold"):
        RuleConfig(case_threshold=1.5).check()
    with pytest.raises(NeocusError, match="min_severe_images"):
        RuleConfig(min_severe_images=0).check()


def test_read_outs():
    assert read_out(Decision.SEVERE, 3, frozenset({Finding.IVH})).tier is Tier.SEVERE
    r = read_out(Decision.NON_SEVERE, 1, frozenset({Finding.IVH}))
    assert (r.tier, r.binary, r.consistent) == (Tier.MILD, Binary.ABNORMAL, True)
    n = read_out(Decision.NON_SEVERE, 0, frozenset({Finding.NORMAL}))
    assert (n.tier, n.binary) == (Tier.NORMAL, Binary.NORMAL)
    clash = read_out(Decision.NON_SEVERE, 4, frozenset({Finding.IVH}))
    assert clash.tier is Tier.MILD and not clash.consistent
    assert read_out(Decision.UNSUITABLE, 0, frozenset()).tier is None
