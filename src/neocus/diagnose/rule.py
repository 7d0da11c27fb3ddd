"""The paper's ensemble rule and the read-outs (decision, 3-tier, binary), with a trace of every step.

NCLS calls a case severe when its case head does, or when the multi-label head finds severe findings
(vocab rule: PVL, hydrocephalus, or IVH with ventricular dilation) in at least two images. neocus adds
``unsuitable`` below :data:`neocus.vocab.MIN_VIEWS_FOR_DECISION` views. Thresholds come from
:class:`RuleConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from neocus.diagnose.config import RuleConfig
from neocus.results import AsDict
from neocus.vocab import Binary, Decision, Finding, IvhGrade, Tier, View, image_findings_severe, three_tier


@dataclass(frozen=True)
class RuleTrace(AsDict):
    """How a decision was reached: each branch's input, threshold and outcome."""

    n_views: int
    min_views: int
    enough_views: bool
    severe_prob: float
    case_threshold: float
    case_head_severe: bool
    finding_threshold: float
    image_findings: dict[str, list[str]]  # view -> findings above threshold
    severe_images: list[str]
    min_severe_images: int
    image_rule_used: bool
    image_rule_severe: bool
    decision: Decision
    reason: str


def image_calls(image_probs: Mapping[View, Mapping[Finding, float]], threshold: float) -> dict[View, frozenset[Finding]]:
    """Findings each image shows at ``threshold`` (``normal`` when no abnormal finding reaches it)."""
    out = {}
    for v, probs in image_probs.items():
        found = frozenset(f for f, p in probs.items() if f is not Finding.NORMAL and p >= threshold)
        out[v] = found if found else frozenset({Finding.NORMAL})
    return out


def apply_rule(severe_prob: float, image_probs: Mapping[View, Mapping[Finding, float]], rule: RuleConfig) -> RuleTrace:
    """The decision for one case from its (calibrated) case probability and its images' finding probabilities."""
    calls = image_calls(image_probs, rule.finding_threshold)
    severe_images = [v for v, f in calls.items() if image_findings_severe(f)]
    n_views = len(image_probs)
    enough = n_views >= rule.min_views
    case_severe = severe_prob >= rule.case_threshold
    image_severe = rule.use_image_rule and len(severe_images) >= rule.min_severe_images
    if not enough:
        decision, reason = Decision.UNSUITABLE, f"{n_views} views < {rule.min_views}"
    elif case_severe:
        decision, reason = Decision.SEVERE, f"case head p {severe_prob:.3f} >= {rule.case_threshold}"
    elif image_severe:
        decision, reason = Decision.SEVERE, f"{len(severe_images)} images with severe findings >= {rule.min_severe_images}"
    else:
        decision, reason = Decision.NON_SEVERE, "neither the case head nor the image rule calls severe"
    return RuleTrace(
        n_views=n_views, min_views=rule.min_views, enough_views=enough, severe_prob=float(severe_prob),
        case_threshold=rule.case_threshold, case_head_severe=bool(case_severe), finding_threshold=rule.finding_threshold,
        image_findings={v.value: sorted(f.value for f in calls[v]) for v in calls},
        severe_images=[v.value for v in severe_images], min_severe_images=rule.min_severe_images,
        image_rule_used=rule.use_image_rule, image_rule_severe=bool(image_severe), decision=decision, reason=reason,
    )


@dataclass(frozen=True)
class ReadOut(AsDict):
    tier: Tier | None
    binary: Binary | None
    consistent: bool  # False when the grade / findings alone would read otherwise than the decision


def read_out(decision: Decision, grade: int, findings: frozenset[Finding]) -> ReadOut:
    """3-tier and binary read-outs (vocab rules) of the predicted grade and case findings, made
    consistent with the decision: a severe decision reads severe; a non-severe one at most mild."""
    if decision is Decision.UNSUITABLE:
        return ReadOut(None, None, True)
    tier = three_tier(IvhGrade(grade), findings)
    consistent = (tier is Tier.SEVERE) == (decision is Decision.SEVERE)
    if decision is Decision.SEVERE:
        tier = Tier.SEVERE
    elif tier is Tier.SEVERE:
        tier = Tier.MILD
    return ReadOut(tier, Binary.NORMAL if tier is Tier.NORMAL else Binary.ABNORMAL, consistent)
