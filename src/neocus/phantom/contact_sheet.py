"""Contact sheets: grids of phantom standard views for people to look at.

:func:`compose_sheet` lays out rows of images (one row per case, one column per view) with captions;
:func:`write_contact_sheets` renders the set kept in ``docs/contact-sheets/``: the six views of a normal
case and of a case for each lesion kind, and one sheet per scanner preset. PNG output is
deterministic (same seed, same bytes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from neocus.phantom.api import PRESET_POPULATION, Still, new_subject, standard_still
from neocus.phantom.export import png_bytes
from neocus.phantom.presets import PRESETS, ScannerPreset, get_preset
from neocus.phantom.subject import CaseType, Subject
from neocus.vocab import VIEWS_IN_SWEEP_ORDER, View

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_CAPTION_H = 22
_ROW_LABEL_W = 190
_TITLE_H = 34
_PAD = 4


def _put(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45, thickness: int = 1) -> None:
    cv2.putText(img, text, org, _FONT, scale, 255, thickness, cv2.LINE_AA)


def _fit(image: np.ndarray, tile_wh: tuple[int, int]) -> np.ndarray:
    """Resize a greyscale image into a ``(width, height)`` tile keeping its aspect ratio (black borders)."""
    tw, th = tile_wh
    h, w = image.shape[:2]
    s = min(tw / w, th / h)
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    out = np.zeros((th, tw), np.uint8)
    y0, x0 = (th - nh) // 2, (tw - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = resized
    return out


def compose_sheet(
    rows: Sequence[tuple[str, Mapping[View, np.ndarray | None]]],
    *,
    title: str = "",
    views: Sequence[View] = VIEWS_IN_SWEEP_ORDER,
    tile_wh: tuple[int, int] = (256, 200),
    row_notes: Sequence[str] | None = None,
) -> np.ndarray:
    """A greyscale grid: one row per ``(label, {view: image})``, one column per view, captions on top.

    Missing views (None or absent) show as an empty tile marked "missing". ``row_notes`` adds a second
    line under each row label (e.g. the case's findings).
    """
    tw, th = tile_wh
    width = _ROW_LABEL_W + len(views) * (tw + _PAD) + _PAD
    height = _TITLE_H + _CAPTION_H + len(rows) * (th + _PAD) + _PAD
    sheet = np.zeros((height, width), np.uint8)
    if title:
        _put(sheet, title, (8, 23), 0.6, 1)
    for j, view in enumerate(views):
        _put(sheet, view.value, (_ROW_LABEL_W + j * (tw + _PAD) + tw // 2 - 14, _TITLE_H + 15), 0.5)
    for i, (label, images) in enumerate(rows):
        y = _TITLE_H + _CAPTION_H + i * (th + _PAD)
        for k, line in enumerate(_wrap(label, 24)[:3]):
            _put(sheet, line, (6, y + 20 + 16 * k), 0.45)
        if row_notes is not None and i < len(row_notes):
            for k, line in enumerate(_wrap(row_notes[i], 28)[:6]):
                _put(sheet, line, (6, y + 76 + 14 * k), 0.38)
        for j, view in enumerate(views):
            x = _ROW_LABEL_W + j * (tw + _PAD)
            img = images.get(view)
            if img is None:
                cv2.rectangle(sheet, (x, y), (x + tw - 1, y + th - 1), 60, 1)
                _put(sheet, "missing", (x + tw // 2 - 28, y + th // 2), 0.45)
            else:
                sheet[y : y + th, x : x + tw] = _fit(np.asarray(img, dtype=np.uint8), tile_wh)
    return sheet


def _wrap(text: str, width: int) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    if cur:
        lines.append(cur)
    return lines


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write a greyscale PNG (deterministic bytes for the same pixels)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(image))
    return path


# --------------------------------------------------------------------------------------------------
# The sheets kept in docs/contact-sheets/
# --------------------------------------------------------------------------------------------------


def draw_truth(still: Still) -> np.ndarray:
    """A still with its ground truth drawn on: structure boxes (grey) and lesion boxes (white)."""
    img = cv2.cvtColor(still.image, cv2.COLOR_GRAY2BGR)
    for b in still.truth.boxes:
        cv2.polylines(img, [np.round(b.box.corners()).astype(np.int32)], True, (0, 200, 255), 1, cv2.LINE_AA)
    for b in still.truth.lesions:
        cv2.polylines(img, [np.round(b.box.corners()).astype(np.int32)], True, (60, 60, 255), 2, cv2.LINE_AA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def _six_views(subject: Subject, preset: ScannerPreset, seed: int, out_size_hw: tuple[int, int] | None) -> dict[View, Still]:
    rng = np.random.default_rng(seed)
    return {v: standard_still(subject, v, preset, rng=rng, out_size_hw=out_size_hw) for v in VIEWS_IN_SWEEP_ORDER}


def _note(subject: Subject, stills: Mapping[View, Still]) -> str:
    found = sorted({f.value for s in stills.values() for f in s.findings})
    return f"GA {subject.ga_weeks:.1f} wk, Papile {int(subject.ivh_grade)}, VI {subject.measurements.vi_max:.1f} mm; stills: {', '.join(found)}"


def write_contact_sheets(
    out_dir: str | Path, *, frame_size_wh: tuple[int, int] | None = None, tile_wh: tuple[int, int] = (300, 230), seed: int = 0
) -> list[Path]:
    """Render and write the contact sheets (PNG) into ``out_dir``; returns their paths.

    * ``normal.png``: the six views of a normal subject, plain and with its ground-truth boxes;
    * ``lesions.png``: the six views of one subject per lesion pattern (case type);
    * ``preset_<name>.png``: per scanner preset, the six views of a normal and two lesion subjects of
      that preset's population;
    * ``sweeps.png``: a freehand and a blind coronal sweep (:func:`write_sweep_figure`).

    ``frame_size_wh`` is ``(width, height)`` (None: each preset's own size).
    """
    out_dir = Path(out_dir)
    out_size_hw = None if frame_size_wh is None else (int(frame_size_wh[1]), int(frame_size_wh[0]))
    internal = get_preset("internal")
    paths: list[Path] = []

    normal = new_subject(np.random.SeedSequence(seed, spawn_key=(0,)), case_type=CaseType.NORMAL)
    stills = _six_views(normal, internal, seed, out_size_hw)
    sheet = compose_sheet(
        [("normal", {v: s.image for v, s in stills.items()}), ("normal + truth boxes", {v: draw_truth(s) for v, s in stills.items()})],
        title=f"neocus phantom - normal subject, preset internal, seed {seed} (synthetic, not patient data)",
        tile_wh=tile_wh,
        row_notes=[_note(normal, stills), "grey: structure boxes, bold: lesion boxes"],
    )
    paths.append(write_png(out_dir / "normal.png", sheet))

    rows, notes = [], []
    for k, ct in enumerate(CaseType):
        subject = new_subject(np.random.SeedSequence(seed, spawn_key=(1, k)), case_type=ct)
        st = _six_views(subject, internal, seed + k, out_size_hw)
        rows.append((ct.value.replace("_", " "), {v: s.image for v, s in st.items()}))
        notes.append(_note(subject, st))
    sheet = compose_sheet(rows, title=f"neocus phantom - one subject per lesion pattern, preset internal, seed {seed}", tile_wh=tile_wh, row_notes=notes)
    paths.append(write_png(out_dir / "lesions.png", sheet))

    for name in PRESETS:
        preset = get_preset(name)
        population = PRESET_POPULATION[name]
        rows, notes = [], []
        for k, ct in enumerate((CaseType.NORMAL, CaseType.IVH_DILATED, CaseType.CYSTIC_PVL)):
            subject = new_subject(np.random.SeedSequence(seed, spawn_key=(2, k)), population=population, case_type=ct)
            scan = preset.vary(rng=np.random.default_rng(seed + k))
            st = _six_views(subject, scan, seed + k, out_size_hw)
            rows.append((ct.value.replace("_", " "), {v: s.image for v, s in st.items()}))
            notes.append(_note(subject, st))
        sheet = compose_sheet(
            rows, title=f"neocus phantom - preset {name}: {preset.scanner}, {preset.probe}, {preset.frequency_mhz:.1f} MHz", tile_wh=tile_wh, row_notes=notes
        )
        paths.append(write_png(out_dir / f"preset_{name}.png", sheet))
    paths.append(write_sweep_figure(out_dir / "sweeps.png", seed=seed))
    return paths


def write_sweep_figure(path: str | Path, *, seed: int = 0) -> Path:
    """A figure of freehand vs blind coronal sweeps of one subject: probe tilt over time (pauses, blurred
    and dropped frames marked) and each view's quality per frame with its acceptable window.

    Geometry only (nothing rendered), so it is quick.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neocus.phantom.api import subject_views
    from neocus.phantom.standard_views import view_quality
    from neocus.phantom.sweep import plan_sweep
    from neocus.phantom.truth import VIEW_QUALITY_THRESHOLD, view_windows
    from neocus.vocab import Plane, views_of_plane

    subject = new_subject(np.random.SeedSequence(seed, spawn_key=(3,)), case_type=CaseType.NORMAL)
    views = subject_views(subject)
    plane = Plane.CORONAL
    tilts = {v: views[v].tilt_deg for v in views_of_plane(plane)}
    fig, axes = plt.subplots(2, 2, figsize=(12, 6.5), sharex="col", dpi=110)
    for col, style in enumerate(("freehand", "blind")):
        plan = plan_sweep(rng=np.random.default_rng(seed + 11 * col), plane=plane, apex=subject.head.fontanelle.centre, style=style, view_tilts=tilts)
        t = np.array([m.time_s for m in plan.motion])
        tilt = np.array([m.tilt_deg for m in plan.motion])
        ax = axes[0, col]
        ax.plot(t, tilt, lw=1.2, color="black", label="tilt")
        ax.plot(t, [m.twist_deg for m in plan.motion], lw=0.8, color="tab:orange", label="twist (about the beam)")
        paused = np.array([m.paused for m in plan.motion])
        ax.scatter(t[paused], tilt[paused], s=10, color="tab:blue", label="paused", zorder=3)
        blur = np.array([m.blur_deg > 0 for m in plan.motion])
        ax.scatter(t[blur], tilt[blur], s=30, marker="x", color="tab:red", label="motion-blurred", zorder=3)
        drop = np.array([m.dropped_before > 0 for m in plan.motion])
        ax.scatter(t[drop], tilt[drop], s=30, marker="v", color="tab:purple", label="after a dropped frame", zorder=3)
        for v, vt in tilts.items():
            ax.axhline(vt, color="grey", lw=0.6, ls=":")
            ax.text(t[-1], vt, f" {v.value}", va="center", fontsize=8, color="grey")
        ax.set_title(f"{style} coronal sweep ({plan.direction.value.replace('_', ' ')}), {plan.n_frames} frames")
        ax.set_ylabel("degrees (+ = anterior)")
        ax.legend(fontsize=7, loc="lower left" if plan.motion[0].tilt_deg > 0 else "upper left")
        quality = {v: np.array([view_quality(plan.frame_plane(i), views[v], scale=subject.head.scale) for i in range(plan.n_frames)]) for v in tilts}
        ax = axes[1, col]
        for v, q in quality.items():
            (line,) = ax.plot(t, q, lw=1.2, label=v.value)
            win = view_windows({v: q})[v]
            if win is not None:
                ax.axvspan(t[win.start], t[win.end], color=line.get_color(), alpha=0.15)
                ax.plot(t[win.best_frame], q[win.best_frame], "o", color=line.get_color())
        ax.axhline(VIEW_QUALITY_THRESHOLD, color="black", lw=0.6, ls="--")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("view quality (shaded: window)")
        ax.legend(fontsize=8, loc="upper right")
    fig.suptitle("neocus phantom sweeps: uneven speed, pauses, tremor, out-of-plane twist, blurred / dropped frames (synthetic)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
