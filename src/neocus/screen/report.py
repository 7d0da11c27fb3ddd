"""``report.html``: one self-contained page (pictures inlined as base64) that a radiologist reads in
seconds: the decision and probability first, the six views with their heatmaps, what is missing and
why, the caveat, then the details (rule trace, warnings, inputs, timings, models).

A batch gets ``summary.html`` from :func:`summary_html`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
from jinja2 import Environment

from neocus.screen.result import ScreenResult

REPORT_WIDTH = 360  # pixels of the widest side of a picture inlined in the report

STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}
main{max-width:1240px;margin:0 auto;padding:16px 20px}
.head{display:flex;align-items:center;gap:24px;padding:16px 20px;border-radius:8px;color:#fff}
.severe{background:#b3261e}.non_severe{background:#1e7b34}.unsuitable{background:#5f6368}
.decision{font-size:34px;font-weight:700;letter-spacing:.5px}.prob{font-size:26px}
.sub{font-size:15px;opacity:.95}
.caveat{background:#fff4ce;border:1px solid #e0c060;padding:8px 12px;margin:12px 0;border-radius:6px;font-size:14px}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:12px}
.card{background:#fff;border-radius:8px;padding:10px;box-shadow:0 1px 2px rgba(0,0,0,.15)}
.card h3{margin:0 0 6px 0;font-size:17px}.card .pics{display:flex;gap:6px}
.card img{width:50%;height:auto;border-radius:4px;background:#000}
.nohm{width:50%;display:flex;align-items:center;justify-content:center;background:#eee;color:#555;font-size:13px;border-radius:4px}
.missing{color:#8a1c1c;font-size:14px;padding:30px 6px;text-align:center;background:#f1e6e6;border-radius:4px}
.poor{color:#7a5b00}.meta{font-size:12px;color:#444;margin-top:4px}
table{border-collapse:collapse;font-size:13px;background:#fff}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}
h2{font-size:19px;margin:18px 0 8px}ul{margin:4px 0}li{font-size:14px}
.plots img{max-width:100%;background:#fff}
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>neocus screen: {{ decision_text }}</title>
<style>{{ style }}</style></head><body><main>
<div class="head {{ r.decision.value }}">
  <div class="decision">{{ decision_text }}</div>
  <div class="prob">{% if r.severe_prob is not none %}P(severe) {{ '%.2f' % r.severe_prob }}{% else %}no probability{% endif %}</div>
  <div class="sub">{% if r.papile_grade is not none %}Papile grade {{ r.papile_grade }} &middot; 3-tier {{ r.tier }} &middot; {{ r.binary }}<br>{% endif %}
  {{ r.usable_views }} of 6 views usable &middot; {{ r.reason }}</div>
</div>
<div class="caveat"><b>Not a clinical device.</b> {{ r.caveat }}</div>
<div class="grid">
{% for v in views %}<div class="card"><h3>{{ v.name }}{% if v.status == 'poor' %} <span class="poor">(poor)</span>{% endif %}</h3>
{% if v.image %}<div class="pics"><img src="data:image/png;base64,{{ v.image }}" alt="{{ v.name }}">
{% if v.overlay %}<img src="data:image/png;base64,{{ v.overlay }}" alt="{{ v.name }} heatmap">{% else %}<div class="nohm">no heatmap{% if v.status == 'poor' %}: not diagnosed{% endif %}</div>{% endif %}</div>
<div class="meta">{{ v.where }}{% if v.findings %}<br>{{ v.findings }}{% endif %}{% if v.reason %}<br>{{ v.reason }}{% endif %}</div>
{% else %}<div class="missing">missing: {{ v.reason }}</div>{% endif %}</div>
{% endfor %}</div>
{% if r.errors or r.warnings %}<h2>Problems and warnings</h2><ul>
{% for e in r.errors %}<li><b>error</b>: {{ e }}</li>{% endfor %}{% for w in r.warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}
{% if plots %}<h2>Sweeps (view scores per frame; dashed: chosen frames)</h2><div class="plots">
{% for p in plots %}<img src="data:image/png;base64,{{ p }}" alt="sweep plot">{% endfor %}</div>{% endif %}
{% if trace %}<h2>Ensemble rule</h2><table>{% for k, val in trace %}<tr><th>{{ k }}</th><td>{{ val }}</td></tr>{% endfor %}</table>{% endif %}
<h2>Inputs (named by position; file names are not kept)</h2><table><tr><th>input</th><th>used as</th><th>kind</th><th>frames</th><th>size</th><th>planes found</th><th>problem</th></tr>
{% for i in r.inputs %}<tr><td>{{ i.name }}</td><td>{{ i.used_as }}</td><td>{{ i.kind or '-' }}</td><td>{{ i.n_frames or '-' }}</td>
<td>{{ i.size_wh | join('x') if i.size_wh else '-' }}</td><td>{{ i.planes | join(', ') or '-' }}</td><td>{{ i.error or '' }}</td></tr>{% endfor %}</table>
<h2>Time per stage (s)</h2><table><tr>{% for k in r.timings_s %}<th>{{ k }}</th>{% endfor %}</tr>
<tr>{% for val in r.timings_s.values() %}<td>{{ '%.2f' % val }}</td>{% endfor %}</tr></table>
<h2>Models</h2><table>{% for m in r.models %}<tr><th>{{ m.kind }}</th><td>sha256 {{ m.sha256[:16] }}&hellip;</td><td>{{ m.version }}</td></tr>{% endfor %}</table>
<p class="meta">neocus {{ version }} &middot; result schema {{ r.schema_version }}</p>
</main></body></html>
"""

_ENV = Environment(autoescape=True)


def png_b64(image: np.ndarray, *, width: int = REPORT_WIDTH) -> str:
    """A picture as base64 PNG text, shrunk so its longer side is at most ``width`` pixels."""
    h, w = image.shape[:2]
    scale = min(1.0, width / max(h, w))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV fails only on broken arrays
        raise ValueError("PNG encoding failed")
    return base64.b64encode(data.tobytes()).decode("ascii")


def _view_cards(result: ScreenResult) -> list[dict[str, Any]]:
    cards = []
    for name, v in result.views.items():
        where = ""
        if v.input is not None:
            where = f"{v.input} frame {v.frame}" + (f" ({v.time_s:.2f} s)" if v.time_s is not None else "")
            if v.score is not None:
                where += f", score {v.score:.2f}, confidence {v.confidence:.2f}"
        top = sorted((v.findings or {}).items(), key=lambda kv: -kv[1])[:3]
        cards.append({
            "name": name, "status": v.status, "where": where, "reason": v.reason,
            "image": png_b64(v.picture) if v.picture is not None else None,
            "overlay": png_b64(v.overlay) if v.overlay is not None else None,
            "findings": ", ".join(f"{f} {p:.2f}" for f, p in top),
        })
    return cards


def report_html(result: ScreenResult, *, sweep_plots: Mapping[str, bytes] | None = None) -> str:
    """The whole page as one string (UTF-8, self-contained)."""
    import neocus

    plots = [base64.b64encode(b).decode("ascii") for b in (sweep_plots or {}).values()]
    trace = [(k, v) for k, v in (result.rule_trace or {}).items()]
    return _ENV.from_string(TEMPLATE).render(
        r=result, style=STYLE, views=_view_cards(result), plots=plots, trace=trace, version=neocus.__version__,
        decision_text=result.decision.value.replace("_", "-").upper(),
    )


SUMMARY = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>neocus screen: {{ rows | length }} cases</title><style>{{ style }}</style></head>
<body><main><h2>{{ rows | length }} cases: {% for k, n in counts %}{{ n }} {{ k }}{% if not loop.last %}, {% endif %}{% endfor %}</h2>
<div class="caveat"><b>Not a clinical device.</b> {{ caveat }}</div>
<table><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in columns %}<td>{% if c == 'case_id' and row.status != 'failed' %}<a href="cases/{{ row[c] }}/report.html">{{ row[c] }}</a>{% else %}{{ row[c] }}{% endif %}</td>{% endfor %}</tr>{% endfor %}
</table></main></body></html>
"""


def summary_html(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The batch summary table (one row per case, a link to each finished case's report)."""
    from collections import Counter

    from neocus.screen.result import CAVEAT

    counts = sorted(Counter(r["status"] if r["status"] == "failed" else str(r["decision"]) for r in rows).items())
    return _ENV.from_string(SUMMARY).render(rows=rows, columns=columns, counts=counts, caveat=CAVEAT, style=STYLE)
