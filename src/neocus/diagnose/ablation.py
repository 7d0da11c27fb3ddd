"""Ablation of the read-out (after the paper's Supplementary Table 15) on one held-out set:
case head alone -> + ensemble rule (multi-label head) -> + TTA -> + fold ensemble.

Every row reuses the same trained folds; a *binary-only trained* baseline (no multi-label head during
training) needs its own training run and is listed only when its bundle is given.

    python -m neocus.diagnose.ablation MODEL_DIR CASES.pkl [CASES2.pkl ...] [--baseline DIR] [--out table.md]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from neocus.diagnose.bundle import Bundle, load_bundle
from neocus.diagnose.config import TtaMode
from neocus.diagnose.data import CaseExample, load_examples
from neocus.diagnose.infer import diagnose_case
from neocus.results import AsDict
from neocus.vocab import Decision


@dataclass(frozen=True)
class AblationRow(AsDict):
    name: str
    n_cases: int
    n_severe: int
    auc: float | None
    auc_ci: tuple[float, float] | None
    sensitivity: float
    specificity: float


def score_variant(name: str, bundle: Bundle, cases: Sequence[CaseExample], *, tta: TtaMode) -> AblationRow:
    from neocus.stats import roc_auc

    diags = [diagnose_case(bundle, c, tta=tta) for c in cases]
    keep = [(c, d) for c, d in zip(cases, diags) if d.decision is not Decision.UNSUITABLE]
    y = np.array([c.severe for c, _ in keep])
    p = np.array([d.severe_prob for _, d in keep])
    call = np.array([d.decision is Decision.SEVERE for _, d in keep])
    auc = ci = None
    if len(set(y.tolist())) == 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = roc_auc(y, p)
        auc, ci = float(res.auc), (float(res.ci.low), float(res.ci.high))
    sens = float(call[y == 1].mean()) if (y == 1).any() else float("nan")
    spec = float((~call[y == 0]).mean()) if (y == 0).any() else float("nan")
    return AblationRow(name, len(keep), int(y.sum()), auc, ci, sens, spec)


def ablation(bundle: Bundle, cases: Sequence[CaseExample], *, baseline: Bundle | None = None) -> list[AblationRow]:
    first = bundle.select_folds(bundle.config.folds[:1])
    no_rule = replace(first, config=first.config.with_rule(use_image_rule=False))
    rows = []
    if baseline is not None:
        b1 = baseline.select_folds(baseline.config.folds[:1])
        rows.append(score_variant("binary-only trained baseline (1 fold, no TTA)", replace(b1, config=b1.config.with_rule(use_image_rule=False)),
                                  cases, tta=TtaMode.NONE))
    rows.append(score_variant("case head alone (1 fold, no TTA)", no_rule, cases, tta=TtaMode.NONE))
    rows.append(score_variant("+ ensemble rule (multi-label head)", first, cases, tta=TtaMode.NONE))
    rows.append(score_variant("+ TTA (flip)", first, cases, tta=TtaMode.FLIP))
    if len(bundle.models) > 1:
        rows.append(score_variant(f"+ {len(bundle.models)} folds", bundle, cases, tta=TtaMode.FLIP))
    return rows


def markdown(rows: Sequence[AblationRow], title: str) -> str:
    def f(x):
        return "-" if x is None or x != x else f"{x:.3f}"

    lines = [f"### {title}", "", "| read-out | cases (severe) | AUC (95% CI) | sensitivity | specificity |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        ci = "" if r.auc_ci is None or r.auc_ci[0] != r.auc_ci[0] else f" ({r.auc_ci[0]:.3f}-{r.auc_ci[1]:.3f})"
        lines.append(f"| {r.name} | {r.n_cases} ({r.n_severe}) | {f(r.auc)}{ci} | {f(r.sensitivity)} | {f(r.specificity)} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("cases", type=Path, nargs="+", help="held-out case caches (neocus.diagnose.data.save_examples)")
    ap.add_argument("--baseline", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    bundle = load_bundle(args.model)
    baseline = load_bundle(args.baseline) if args.baseline else None
    text = "".join(markdown(ablation(bundle, load_examples(p), baseline=baseline), p.stem) + "\n" for p in args.cases)
    print(text)
    if args.out:
        from neocus.atomic import atomic_write_text

        atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()
