"""A Table-2-style evaluation report from a model's predictions (and optionally readers' calls).

:func:`build_report` computes everything (plain typed objects); :func:`write_report` writes it into a
folder atomically (a temporary sibling folder renamed into place, nothing partial on failure):

* ``report.md``: the tables for people (percentages with 95 % intervals, like the NCLS paper);
* ``table2.csv``: one row per model / reader group, fractions with interval bounds;
* ``readers.csv``: one row per reader and condition (with / without AI);
* ``conditions.csv`` + ``conditions.png``: calls per condition (the paper's Fig. 2b);
* ``subgroups.csv``: AUC per subgroup and pairwise unpaired DeLong tests with BH-adjusted p-values;
* ``report.json``: all of the above, machine-readable (NaN as null);
* ``roc.png``: the model's ROC curve with each reader's operating point.

What the numbers mean (see docs/evaluation.md): the model row is computed on all cases at the chosen
operating threshold (``score >= threshold`` is severe); a reader-group row gives the mean over its
readers, with the Clopper-Pearson interval of the pooled reads for proportions (as the paper's Table 2)
and a Student-t interval over readers for F1 and AUC. ``P`` against the model is a one-sided Wilcoxon
signed-rank test of the per-reader ΔAUC (model minus reader, on that reader's cases); ``P*`` compares
the same readers with and without AI (ΔAUC with minus without). Outputs never carry case ids.

Layout: the numbers (result objects, :func:`build_report`) live in :mod:`neocus.stats.report_tables`
and are re-exported here; this module renders and writes them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neocus.atomic import atomic_dir, check_output_dir
from neocus.stats.readers import METRIC_NAMES, ReaderResult
from neocus.stats.report_tables import (  # noqa: F401  (re-exported: they lived here before the split)
    DEFAULT_THRESHOLD,
    MODEL_NAME,
    CorrectionSummary,
    EvaluationReport,
    ModelEvaluation,
    ReaderAgreement,
    ReaderGroupEvaluation,
    _ordered_unique,
    build_report,
    model_calls,
)
from neocus.stats.results import AsDict, to_plain
from neocus.stats.roc import plot_roc
from neocus.vocab import DECISION_TEXT, Decision


# --------------------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:.1f}"


def _pct_ci(est: float, low: float, high: float) -> str:
    if not math.isfinite(est):
        return "n/a"
    if not (math.isfinite(low) and math.isfinite(high)):
        return _pct(est)
    return f"{_pct(est)} ({_pct(low)}-{_pct(high)})"


def _num(value: float | None, spec: str) -> str:
    """A number for the report tables; "n/a" where it is undefined (None, NaN), never "nan"."""
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def _p(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class Table2Row(AsDict):
    """One row of Table 2: estimates and interval bounds (fractions) per metric, plus tests."""

    name: str
    n_readers: int
    values: dict[str, tuple[float, float, float]]
    p_vs_model: float | None = None
    p_vs_without_ai: float | None = None
    fleiss_kappa: float | None = None
    fleiss_p: float | None = None


def table2_rows(report: EvaluationReport) -> list[Table2Row]:
    """The model row, then one row per reader group and condition."""
    m = report.model
    values = {k: _triple(getattr(m.metrics, k)) for k in ("sensitivity", "specificity", "ppv", "npv", "accuracy")}
    values["f1"] = (m.metrics.f1.estimate, m.metrics.f1.ci.low, m.metrics.f1.ci.high)
    values["auc"] = (m.auc.auc, m.auc.ci.low, m.auc.ci.high)
    rows = [Table2Row(MODEL_NAME, 0, values)]
    for g in report.groups:
        s = g.summary
        vals = {}
        for k in METRIC_NAMES:
            mean = s.mean[k]
            if k in ("f1", "auc"):
                vals[k] = (mean.estimate, mean.ci.low, mean.ci.high)
            else:
                pooled = getattr(s.pooled, k)
                vals[k] = (mean.estimate, pooled.ci.low, pooled.ci.high)
        rows.append(
            Table2Row(
                g.label, s.n_readers, vals,
                g.vs_model.p_value if g.vs_model else None,
                g.vs_without_ai.p_value if g.vs_without_ai else None,
                g.fleiss.kappa if g.fleiss else None,
                g.fleiss.p_value if g.fleiss else None,
            )
        )
    return rows


def _triple(res) -> tuple[float, float, float]:
    return (res.estimate, res.ci.low, res.ci.high)


_LABELS = {"sensitivity": "SEN", "specificity": "SPE", "ppv": "PPV", "npv": "NPV", "accuracy": "ACC", "f1": "F1", "auc": "AUC"}


def render_markdown(report: EvaluationReport) -> str:
    """The report as Markdown (percentages with 95 % intervals)."""
    lv = f"{100 * report.level:g}%"
    out = io.StringIO()
    w = out.write
    w("# Evaluation report\n\n")
    w(f"Predictions: `{report.source}`" + (f"; reads: `{report.readers_source}`" if report.readers_source else "") + "\n\n")
    w(f"Cases: {report.n_cases} ({report.n_pos} severe, {report.n_neg} non-severe). ")
    m = report.model
    rule = m.threshold_rule + (f", score >= {m.threshold:.4g}" if m.threshold is not None else "")
    w(f"Model operating point: {rule}.\n\n")
    w(f"## Table 2: diagnostic performance ({lv} CI)\n\n")
    cols = list(_LABELS.values())
    w("| | Readers | " + " | ".join(cols) + " | P | P* | Fleiss' kappa |\n")
    w("|---|---|" + "---|" * len(cols) + "---|---|---|\n")
    for row in table2_rows(report):
        cells = [_pct_ci(*row.values[k]) for k in _LABELS]
        fk = "-" if row.fleiss_kappa is None or not math.isfinite(row.fleiss_kappa) else f"{row.fleiss_kappa:.4f} (P {_p(row.fleiss_p)})"
        w(f"| {row.name} | {row.n_readers or '-'} | " + " | ".join(cells) + f" | {_p(row.p_vs_model)} | {_p(row.p_vs_without_ai)} | {fk} |\n")
    w(
        "\nValues in percent. Model: on all cases; intervals Clopper-Pearson (proportions), bootstrap (F1), "
        "DeLong (AUC). Reader groups: mean over readers; intervals Clopper-Pearson of the pooled reads "
        "(proportions) or Student t over readers (F1, AUC). P: model vs each reader, one-sided Wilcoxon "
        "signed-rank on reader-level ΔAUC. P*: the same readers with vs without AI, one-sided Wilcoxon "
        "signed-rank on ΔAUC. No adjustment for multiple comparisons.\n\n"
    )
    cm = m.metrics.confusion
    w(f"Model confusion matrix: TP {cm.tp}, FP {cm.fp}, FN {cm.fn}, TN {cm.tn}.\n\n")
    if report.groups:
        w("## Reading time and corrections with AI\n\n")
        w("| Group | Mean time (s) | Welch t (with < without AI) | Wrong without AI → corrected | Right without AI → wrong | χ² (right reads, without vs with AI) |\n")
        w("|---|---|---|---|---|---|\n")
        for g in report.groups:
            t = "-" if not math.isfinite(g.mean_time_s) else f"{g.mean_time_s:.1f}"
            tt = f"t = {_num(g.time_test.statistic, '.2f')}, P {_p(g.time_test.p_value)}" if g.time_test else "-"
            c = g.corrections
            corr = f"{c.corrected} / {c.wrong_without}" if c else "-"
            brk = f"{c.broken} / {c.right_without}" if c else "-"
            chi = f"χ² = {_num(c.test.statistic, '.2f')}, P {_p(c.test.p_value)}" if c else "-"
            w(f"| {g.label} | {t} | {tt} | {corr} | {brk} | {chi} |\n")
        w("\n## Readers\n\n| Reader | Group | AI | SEN | SPE | AUC | Cohen's kappa with model |\n|---|---|---|---|---|---|---|\n")
        kappas = {(a.reader_id, a.with_ai): a.kappa for a in report.agreements}
        for r in report.readers:
            k = kappas.get((r.reader_id, r.with_ai))
            ks = "-" if k is None or not math.isfinite(k.kappa) else f"{k.kappa:.3f} ({_num(k.ci.low, '.3f')}-{_num(k.ci.high, '.3f')})"
            w(
                f"| {r.reader_id} | {r.group} | {'with' if r.with_ai else 'without'} | "
                f"{_pct_ci(*_triple(r.metrics.sensitivity))} | {_pct_ci(*_triple(r.metrics.specificity))} | "
                f"{_pct_ci(r.auc.auc, r.auc.ci.low, r.auc.ci.high)} | {ks} |\n"
            )
        w("\n")
    if report.conditions:
        w("## Calls per condition (Fig. 2b)\n\nEach cell: called severe / called non-severe (correct calls in bold).\n\n")
        names = _ordered_unique([r.condition for rows in report.conditions.values() for r in rows])
        w("| Condition | Expected | " + " | ".join(report.conditions) + " |\n")
        w("|---|---|" + "---|" * len(report.conditions) + "\n")
        for name in names:
            cells = []
            expected = "-"
            for rows in report.conditions.values():
                row = next((r for r in rows if r.condition == name), None)
                if row is None:
                    cells.append("-")
                    continue
                expected = {True: DECISION_TEXT[Decision.SEVERE], False: DECISION_TEXT[Decision.NON_SEVERE], None: "mixed"}[row.expected_severe]
                sev, non = str(row.called_severe), str(row.called_non_severe)
                if row.expected_severe is True:
                    sev = f"**{sev}**"
                elif row.expected_severe is False:
                    non = f"**{non}**"
                cells.append(f"{sev} / {non}")
            w(f"| {name} | {expected} | " + " | ".join(cells) + " |\n")
        w("\n")
    for sub in report.subgroups:
        w(f"## Subgroups by `{sub.column}`\n\n| {sub.column} | Cases | Severe | AUC ({lv} CI) |\n|---|---|---|---|\n")
        for g in sub.groups:
            auc = _pct_ci(g.auc.auc, g.auc.ci.low, g.auc.ci.high) if g.auc else f"n/a ({g.note})"
            w(f"| {g.group} | {g.n} | {g.n_pos} | {auc} |\n")
        if sub.comparisons:
            w("\n| Comparison | ΔAUC | D | df | P | P (BH) |\n|---|---|---|---|---|---|\n")
            for c in sub.comparisons:
                t = c.test
                w(f"| {c.group_a} vs {c.group_b} | {_pct(t.difference)} | {_num(t.statistic, '.3f')} | {_num(t.df, '.1f')} | {_p(t.p_value)} | {_p(c.p_adjusted)} |\n")
        w("\nUnpaired two-sided DeLong tests; P (BH): Benjamini-Hochberg adjusted.\n\n")
    if report.warnings:
        w("## Warnings\n\n" + "".join(f"- {msg}\n" for msg in report.warnings) + "\n")
    return out.getvalue()


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v for v in row])
    return buf.getvalue()


def table2_csv(report: EvaluationReport) -> str:
    header = ["row", "n_readers"]
    for k in METRIC_NAMES:
        header += [k, f"{k}_low", f"{k}_high"]
    header += ["p_vs_model", "p_vs_without_ai", "fleiss_kappa", "fleiss_p"]
    rows = []
    for r in table2_rows(report):
        line: list[Any] = [r.name, r.n_readers]
        for k in METRIC_NAMES:
            line += list(r.values[k])
        line += [r.p_vs_model, r.p_vs_without_ai, r.fleiss_kappa, r.fleiss_p]
        rows.append(line)
    return _csv_text(header, rows)


def readers_csv(report: EvaluationReport) -> str:
    kappas = {(a.reader_id, a.with_ai): a.kappa for a in report.agreements}
    header = ["reader_id", "group", "with_ai", "n_cases"]
    for k in METRIC_NAMES:
        header += [k, f"{k}_low", f"{k}_high"]
    header += ["mean_time_s", "kappa_with_model", "kappa_low", "kappa_high"]
    rows = []
    for r in report.readers:
        line: list[Any] = [r.reader_id, r.group, int(r.with_ai), r.n_cases]
        for k in METRIC_NAMES:
            if k == "auc":
                line += [r.auc.auc, r.auc.ci.low, r.auc.ci.high]
            elif k == "f1":
                line += [r.metrics.f1.estimate, r.metrics.f1.ci.low, r.metrics.f1.ci.high]
            else:
                line += list(_triple(getattr(r.metrics, k)))
        kap = kappas.get((r.reader_id, r.with_ai))
        line += [r.mean_time_s] + ([kap.kappa, kap.ci.low, kap.ci.high] if kap else [None, None, None])
        rows.append(line)
    return _csv_text(header, rows)


def conditions_csv(report: EvaluationReport) -> str:
    rows = [
        [rater, r.condition, {True: Decision.SEVERE.value, False: Decision.NON_SEVERE.value, None: ""}[r.expected_severe], r.n, r.called_severe, r.called_non_severe, r.correct]
        for rater, rs in report.conditions.items()
        for r in rs
    ]
    return _csv_text(["rater", "condition", "expected", "n", "called_severe", "called_non_severe", "correct"], rows)


def subgroups_csv(report: EvaluationReport) -> str:
    rows = []
    for sub in report.subgroups:
        for g in sub.groups:
            a = g.auc
            rows.append([sub.column, "auc", g.group, "", g.n, g.n_pos, a.auc if a else None, a.ci.low if a else None,
                         a.ci.high if a else None, None, None, None, None, g.note])
        for c in sub.comparisons:
            t = c.test
            rows.append([sub.column, "delong_unpaired", c.group_a, c.group_b, None, None, t.difference, t.ci.low if t.ci else None,
                         t.ci.high if t.ci else None, t.statistic, t.df, t.p_value, c.p_adjusted, ""])
    header = ["column", "kind", "group", "versus", "n", "n_pos", "estimate", "low", "high", "statistic", "df", "p_value", "p_adjusted", "note"]
    return _csv_text(header, rows)


def report_json(report: EvaluationReport) -> str:
    data = {
        "source": report.source,
        "readers_source": report.readers_source,
        "n_cases": report.n_cases,
        "n_pos": report.n_pos,
        "n_neg": report.n_neg,
        "level": report.level,
        "model": to_plain(report.model),
        "roc": to_plain(report.roc),
        "table2": to_plain(table2_rows(report)),
        "readers": to_plain(report.readers),
        "groups": [
            {
                "label": g.label,
                "summary": to_plain(g.summary),
                "fleiss": to_plain(g.fleiss), "vs_model": to_plain(g.vs_model),
                "vs_without_ai": to_plain(g.vs_without_ai), "mean_time_s": to_plain(g.mean_time_s),
                "time_test": to_plain(g.time_test), "corrections": to_plain(g.corrections),
            }
            for g in report.groups
        ],
        "agreements": to_plain(report.agreements),
        "conditions": to_plain(report.conditions),
        "subgroups": to_plain(report.subgroups),
        "warnings": list(report.warnings),
    }
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# --------------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------------


def roc_figure(report: EvaluationReport):
    """The model's ROC curve with each reader's operating point (colour = group and condition)."""
    fig = plot_roc({MODEL_NAME: report.roc}, aucs={MODEL_NAME: report.model.auc}, title="ROC curve")
    ax = fig.axes[0]
    by_label: dict[str, list[ReaderResult]] = {}
    for r in report.readers:
        by_label.setdefault(f"{r.group} ({'with AI' if r.with_ai else 'without AI'})", []).append(r)
    for label, members in by_label.items():
        fpr = [1 - r.metrics.specificity.estimate for r in members]
        tpr = [r.metrics.sensitivity.estimate for r in members]
        ax.scatter(fpr, tpr, s=18, marker="^" if "with AI" in label else "o", label=f"{label}, n = {len(members)}")
    if by_label:
        ax.legend(loc="lower right", fontsize="x-small")
    return fig


def conditions_figure(report: EvaluationReport):
    """Fig. 2b-style panels: per rater, conditions x (severe, non-severe) counts; green = correct call."""
    from matplotlib.figure import Figure

    raters = list(report.conditions)
    names = _ordered_unique([r.condition for rows in report.conditions.values() for r in rows])
    fig = Figure(figsize=(2.2 * len(raters) + 1.5, 0.45 * len(names) + 1.5), dpi=150)
    for k, rater in enumerate(raters):
        ax = fig.add_subplot(1, len(raters), k + 1)
        rows = {r.condition: r for r in report.conditions[rater]}
        grid = np.full((len(names), 2), np.nan)
        for i, name in enumerate(names):
            r = rows.get(name)
            if r is None:
                continue
            for j, (count, severe_col) in enumerate(((r.called_severe, True), (r.called_non_severe, False))):
                right = None if r.expected_severe is None else (r.expected_severe == severe_col)
                grid[i, j] = 0.5 if right is None else (1.0 if right else 0.0)
                ax.text(j, i, str(count), ha="center", va="center", fontsize=8)
        ax.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=-0.3, vmax=1.3, aspect="auto")
        ax.set_xticks([0, 1], [DECISION_TEXT[Decision.SEVERE], DECISION_TEXT[Decision.NON_SEVERE]], fontsize=7)
        ax.set_yticks(range(len(names)), names if k == 0 else [""] * len(names), fontsize=7)
        ax.set_title(rater, fontsize=8)
    fig.suptitle("Calls per condition (green: correct, red: wrong)", fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------------


def write_report(report: EvaluationReport, out_dir: str | Path, *, force: bool = False) -> list[Path]:
    """Write every output into ``out_dir`` atomically; returns the written paths (in ``out_dir``).

    The files are written into a temporary sibling folder which is renamed to ``out_dir`` only when
    everything succeeded. An existing non-empty ``out_dir`` is an error unless ``force`` is given and it
    holds an earlier report (``report.json``): other folders are never replaced.
    """
    out = Path(out_dir)
    check_output_dir(out, force=force, marker="report.json", kind="an earlier evaluation report")
    texts = {
        "report.md": render_markdown(report),
        "table2.csv": table2_csv(report),
        "report.json": report_json(report),
    }
    if report.readers:
        texts["readers.csv"] = readers_csv(report)
    if report.conditions:
        texts["conditions.csv"] = conditions_csv(report)
    if report.subgroups:
        texts["subgroups.csv"] = subgroups_csv(report)
    with atomic_dir(out) as tmp:
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
        figures = {"roc.png": roc_figure(report)}
        if report.conditions:
            figures["conditions.png"] = conditions_figure(report)
        for name, fig in figures.items():
            fig.savefig(tmp / name, bbox_inches="tight")
    names = sorted([*texts, *figures])
    return [out / n for n in names]
