"""What ``neocus views`` writes: ``views.json``, the chosen frames as PNG (ROI-cropped) and one sweep
plot per sweep (score curves per view, clusters, chosen frames, direction). The command writes them
with :func:`neocus.atomic.atomic_write_folder`."""

from __future__ import annotations

import io
import json

import cv2
import numpy as np

from neocus.results import rounded
from neocus.views.extract import ExamViews, SweepViews
from neocus.views.score import VIEWS
from neocus.vocab import View

COLOURS = {View.AHV: "tab:blue", View.TVV: "tab:orange", View.BV: "tab:green", View.MSV: "tab:red",
           View.RPSV: "tab:purple", View.LPSV: "tab:brown"}


def views_json(exam: ExamViews) -> str:
    """Per view: source sweep, frame, time, score, confidence (or null with the reason); the decision."""
    views = {}
    for v in View:
        c = exam.views[v]
        entry = rounded(c, 4) if c is not None else None
        views[v.value] = {"choice": entry, "reason": exam.missing.get(v)}
    body = {
        "schema": "neocus-views/1",
        "views": views,
        "usable_views": exam.usable,
        "unsuitable": exam.unsuitable,
        "reason": exam.reason,
        "sweeps": [rounded(s, 4) for s in exam.sweeps],
    }
    return json.dumps(body, indent=2) + "\n"


def sweep_plot_png(sweep: SweepViews, *, dpi: int = 100) -> bytes:
    """Score curve per view over the frames, DBSCAN clusters (kept solid, dropped hatched), chosen frames."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6), dpi=dpi)
    ax = fig.add_subplot(1, 1, 1)
    t = np.arange(sweep.n_frames)
    for i, v in enumerate(VIEWS):
        if v is View.LPSV:
            continue  # identical to RPSV (no side in detections): one "parasagittal" curve
        label = "RPSV / LPSV" if v is View.RPSV else v.value
        ax.plot(t, sweep.scores[:, i], color=COLOURS[v], lw=1.2, label=label)
    title = []
    for seg in sweep.segments:
        ax.axvspan(seg.start - 0.5, seg.end + 0.5, color="0.95", zorder=0)
        for c in seg.clusters:
            ax.axvspan(c.start - 0.5, c.end + 0.5, ymin=0, ymax=0.06, color=COLOURS[c.view], alpha=0.8 if c.kept else 0.25)
        for ch in seg.choices:
            ax.axvline(ch.frame, color=COLOURS[ch.view], ls="--", lw=1)
            ax.text(ch.frame, 1.02, ch.view.value, color=COLOURS[ch.view], ha="center", fontsize=8)
        title.append(f"{seg.plane.value} {seg.start}-{seg.end}: {seg.direction.value if seg.direction else 'direction unknown'}")
    ax.set_ylim(0, 1.1)
    ax.set_xlim(-0.5, max(sweep.n_frames - 0.5, 0.5))
    ax.set_xlabel("frame")
    ax.set_ylabel("view score")
    ax.set_title(f"{sweep.sweep}: " + ("; ".join(title) if title else (sweep.reason or "no segment")), fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def png_bytes(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - cv2 fails only on broken arrays
        raise ValueError("PNG encoding failed")
    return data.tobytes()
