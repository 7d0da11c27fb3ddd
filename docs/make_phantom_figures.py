"""Regenerate docs/phantom-vs-real.png and the statistics quoted in docs/phantom-rendering.md.

Real: the standard views that NCLS extracted from GE LOGIQ E8/E9 + 9L exams, and every 10th frame of
the two real sweeps (../shared/data/real/ncls-examples, MIT licence; read, never copied into the
repository).
Phantom: the standard views of a term NeonatalHead rendered with the ``internal`` preset at the
real captures' pixel spacing.

Both are measured the same way (neocus.phantom.image_stats) inside the same trapezoid: the 9L's
image region as measured on the captures (face 44.6 mm wide at y = 43, 57 degree opening, depth to
the last tick of the depth scale; pixel spacing from the scale's 5 / 10 mm ticks).

    python docs/make_phantom_figures.py [--real ../shared/data/real/ncls-examples] [--out docs]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neocus.io import load_sweep  # noqa: E402
from neocus.atomic import atomic_target  # noqa: E402
from neocus.phantom.anatomy import AnatomyParams, NeonatalHead, VentricleSize  # noqa: E402
from neocus.phantom.bmode import render_plane  # noqa: E402
from neocus.phantom.label_maps import label_map_figure  # noqa: E402
from neocus.phantom.image_stats import LookStats, ge_capture_region, grey_histogram, look_stats  # noqa: E402
from neocus.phantom.presets import PRESETS  # noqa: E402
from neocus.phantom.probe_geometry import ProbeGeometry  # noqa: E402
from neocus.phantom.recognisability import frame_contrasts, load_real_rois, roi_contrasts, summarise  # noqa: E402
from neocus.phantom.standard_views import standard_views  # noqa: E402
from neocus.phantom.subject import CaseType, sample_subject  # noqa: E402
from neocus.vocab import View  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REAL_DEFAULT = REPO.parent / "shared" / "data" / "real" / "ncls-examples"
ROIS = REPO / "docs" / "real_contrast_rois.json"  # hand-placed (by eye) ROI boxes on the real stills
# real still -> the phantom's standard view shown beside it
PAIRS = {"COR1": View.AHV, "COR2": View.TVV, "COR3": View.BV, "SAG1": View.MSV, "SAG2": View.RPSV}
FIGURE_PAIRS = (("20221224035", "COR2"), ("20221224035", "SAG1"), ("20221223027", "COR1"), ("20221231069", "SAG2"))


def _measure(img: np.ndarray, mask: np.ndarray, s: float) -> LookStats:
    inner = cv2.erode(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    return look_stats(img, inner, (s, s), bin_mm=5.0)


def anatomy_figures(out: Path) -> None:
    """The label-map pictures of docs/phantom-anatomy.md: a normal term subject and a 30-week PVHI case."""
    for name, case, ga in (("phantom-anatomy-normal-40wk.png", CaseType.NORMAL, 40.0), ("phantom-anatomy-pvhi-30wk.png", CaseType.PVHI, 30.0)):
        subject = sample_subject(2, case_type=case, ga_weeks=ga)
        label_map_figure(subject, out / name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=REAL_DEFAULT)
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sweep-step", type=int, default=10, help="use every n-th frame of the real sweeps")
    args = ap.parse_args()
    if not args.real.is_dir():
        raise SystemExit(f"real captures not found at {args.real}")
    preset = PRESETS["internal"]
    head = NeonatalHead(AnatomyParams.typical(39.0))
    views = standard_views(head)
    rng = np.random.default_rng(args.seed)

    real_stats: list[LookStats] = []
    real_hists: list[np.ndarray] = []
    n_stills = 0
    real_imgs: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    spacing = None
    for exam in sorted(p for p in args.real.iterdir() if p.is_dir()):
        for name in PAIRS:
            f = exam / f"{name}.png"
            if not f.exists():
                continue
            crop, mask, s = ge_capture_region(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE))
            real_stats.append(_measure(crop, mask, s))
            real_hists.append(grey_histogram(crop, mask))
            n_stills += 1
            real_imgs[(exam.name, name)] = (crop, mask)
            if exam.name == "20221224035":
                spacing = s
    # frames of the real sweeps (every ``--sweep-step``-th): what a sweep looks like between the views
    for video in sorted(args.real.glob("*/*.mp4")):
        frames = load_sweep(video).frames
        for frame in frames[:: args.sweep_step]:
            crop, mask, s = ge_capture_region(frame)
            real_stats.append(_measure(crop, mask, s))
            real_hists.append(grey_histogram(crop, mask))
    assert spacing is not None
    # the phantom at the real pixel spacing (contain-fit of the same trapezoid)
    g = ProbeGeometry.of(preset)
    x_min, x_max, d_min, d_max = g.bounds()
    size = (round((d_max - d_min) / spacing) + 1, round((x_max - x_min) / spacing) + 1)
    ph_stats: list[LookStats] = []
    ph_imgs: dict[View, tuple[np.ndarray, np.ndarray]] = {}
    for view in dict.fromkeys(PAIRS.values()):
        fr = render_plane(head, views[view].plane, preset, rng=rng, out_size_hw=size)
        ph_imgs[view] = (fr.image, fr.mask)
        ph_stats.append(_measure(fr.image, fr.mask, fr.pixel_spacing_mm[0]))

    # recognisability: local contrasts (neocus.phantom.recognisability), real ROI boxes vs exact labels
    real_con = []
    for r in load_real_rois(ROIS):
        crop, _, _ = ge_capture_region(cv2.imread(str(args.real / r.exam / f"{r.still}.png"), cv2.IMREAD_GRAYSCALE))
        real_con.append(roi_contrasts(crop, r))
    ph_con, dil_con = [], []
    dilated = NeonatalHead(AnatomyParams.typical(39.0, left=VentricleSize.typical(39.0, 2.0), right=VentricleSize.typical(39.0, 2.0)))
    dil_views = standard_views(dilated)
    for seed in range(3):
        r2 = np.random.default_rng(1000 + seed)
        for view in dict.fromkeys(PAIRS.values()):
            ph_con.append(frame_contrasts(render_plane(head, views[view].plane, preset, rng=r2, out_size_hw=size)))
            dil_con.append(frame_contrasts(render_plane(dilated, dil_views[view].plane, preset, rng=r2, out_size_hw=size)))
    contrasts = {"real_stills": summarise(real_con), "phantom_term": summarise(ph_con), "phantom_term_ventricles_+2sd": summarise(dil_con)}

    def summary(stats: list[LookStats]) -> dict[str, float]:
        keys = stats[0].summary().keys()
        return {k: round(float(np.mean([st.summary()[k] for st in stats])), 3) for k in keys}

    still_stats, sweep_stats = real_stats[:n_stills], real_stats[n_stills:]
    rs, ws, ps = summary(still_stats), summary(sweep_stats), summary(ph_stats)
    real_hist = np.mean(real_hists[:n_stills], axis=0)
    ph_hist = np.mean([grey_histogram(*ph_imgs[v]) for v in ph_imgs], axis=0)
    emd = float(np.abs(np.cumsum(real_hist - ph_hist)).sum() * 256 / len(real_hist))  # earth mover's distance, grey levels
    sweep_hist = np.mean(real_hists[n_stills:], axis=0)
    emd_sweep = float(np.abs(np.cumsum(sweep_hist - ph_hist)).sum() * 256 / len(real_hist))
    report = {"real_stills": rs, "real_sweep_frames": ws, "phantom": ps,
              "histogram_emd_vs_stills": round(emd, 1), "histogram_emd_vs_sweep_frames": round(emd_sweep, 1),
              "n_real_stills": n_stills, "n_real_sweep_frames": len(sweep_stats), "n_phantom": len(ph_stats),
              "pixel_spacing_mm": round(spacing, 4), "preset": preset.name, "contrasts": contrasts}
    print(json.dumps(report, indent=1))

    # ---- figure -----------------------------------------------------------------------------------
    fig = plt.figure(figsize=(16, 10.2), dpi=100)
    gs = fig.add_gridspec(3, len(FIGURE_PAIRS), height_ratios=[1, 1, 0.8], hspace=0.18, wspace=0.05)
    for j, (exam, name) in enumerate(FIGURE_PAIRS):
        crop, _ = real_imgs[(exam, name)]
        ax = fig.add_subplot(gs[0, j])
        ax.imshow(crop, cmap="gray", vmin=0, vmax=255, interpolation="lanczos")
        ax.set_title(f"real GE 9L: {name} ({exam[-3:]})", fontsize=10)
        ax.axis("off")
        img, _ = ph_imgs[PAIRS[name]]
        ax = fig.add_subplot(gs[1, j])
        ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="lanczos")
        ax.set_title(f"phantom, internal preset: {PAIRS[name].value}", fontsize=10)
        ax.axis("off")
    ax = fig.add_subplot(gs[2, 0])
    centres = (np.arange(len(real_hist)) + 0.5) * 256 / len(real_hist)
    ax.plot(centres, real_hist, "k-", label="real stills")
    ax.plot(centres, sweep_hist, "k:", label="real sweep frames")
    ax.plot(centres, ph_hist, "r--", label="phantom")
    ax.set_yscale("log")
    ax.set_xlabel("grey level")
    ax.set_title(f"grey-level histogram (EMD to stills {emd:.0f})", fontsize=10)
    ax.legend(fontsize=8)
    ax = fig.add_subplot(gs[2, 1])
    n_bins = min(len(st.depth_mm) for st in real_stats + ph_stats)
    for stats, style, lab in ((still_stats, "k-", "real stills"), (sweep_stats, "k:", "real sweep frames"), (ph_stats, "r--", "phantom")):
        prof = np.nanmean(np.stack([st.depth_mean[:n_bins] for st in stats]), axis=0)
        ax.plot(stats[0].depth_mm[:n_bins], prof, style, label=lab)
    ax.set_xlabel("depth (mm)")
    ax.set_title("mean grey vs depth", fontsize=10)
    ax.legend(fontsize=8)
    ax = fig.add_subplot(gs[2, 2])
    lab = ["axial", "lateral"]
    x = np.arange(2)
    ax.bar(x - 0.27, [rs["speckle_axial_mm"], rs["speckle_lateral_mm"]], 0.27, color="k", label="real stills")
    ax.bar(x, [ws["speckle_axial_mm"], ws["speckle_lateral_mm"]], 0.27, color="grey", label="real sweep frames")
    ax.bar(x + 0.27, [ps["speckle_axial_mm"], ps["speckle_lateral_mm"]], 0.27, color="r", label="phantom")
    ax.set_xticks(x, lab)
    ax.set_ylabel("mm")
    ax.set_title("speckle size (autocorrelation FWHM)", fontsize=10)
    ax.legend(fontsize=8)
    ax = fig.add_subplot(gs[2, 3])
    ax.axis("off")
    rows = [("", "stills", "sweeps", "phantom")] + [(k, f"{rs[k]:g}", f"{ws[k]:g}", f"{ps[k]:g}") for k in rs]
    for name in ("ventricle", "choroid", "thalamus"):
        rc, pc = contrasts["real_stills"].get(name), contrasts["phantom_term"].get(name)
        if rc and pc:
            rows.append((f"{name} contrast dB / CNR", f"{rc['contrast_db']:.1f} / {rc['cnr']:.1f}", "-", f"{pc['contrast_db']:.1f} / {pc['cnr']:.1f}"))
    ax.table(cellText=rows, loc="center", cellLoc="right", colWidths=[0.40, 0.2, 0.14, 0.2]).scale(1, 1.2)
    ax.set_title(f"real: {n_stills} stills, {len(sweep_stats)} sweep frames; phantom: {len(ph_stats)} views", fontsize=10)
    fig.suptitle("neocus phantom vs real neonatal cranial ultrasound (same pixel spacing, same measurements)", fontsize=12)
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_target(args.out / "phantom-vs-real.png") as tmp:
        fig.savefig(tmp, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    anatomy_figures(args.out)


if __name__ == "__main__":
    main()
