"""Regenerate docs/sim2real-looks.png and the look statistics quoted in docs/sim2real.md.

Rows: the real NCLS stills (../shared/data/real/ncls-examples, MIT licence; read, never copied into
the repository), the phantom as rendered today (``internal``), the same stills with the GE-like look
(:mod:`neocus.phantom.appearance`), and SynthSeg-style randomised versions of them
(:mod:`neocus.phantom.randomise`). Every image goes through the probe's own input path (ROI crop with
neocus.io.roi, 80 x 112), and the statistics are measured on those inputs inside the imaging mask:
median grey, 90th percentile, and the mean absolute difference of neighbouring pixels (a texture /
graininess statistic, grey levels).

    python docs/make_sim2real_figure.py [--real ../shared/data/real/ncls-examples] [--out docs]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import sim2real_probe as probe  # noqa: E402

from neocus.atomic import atomic_target  # noqa: E402
from neocus.phantom import get_preset, new_subject, standard_still  # noqa: E402
from neocus.phantom.appearance import apply_appearance  # noqa: E402
from neocus.phantom.randomise import randomise_still  # noqa: E402
from neocus.vocab import VIEW_PLANE, View  # noqa: E402

VIEWS = (View.AHV, View.TVV, View.BV, View.MSV, View.RPSV)


def _stats(images: list[np.ndarray], masks: list[np.ndarray]) -> dict[str, float]:
    med, p90, grain = [], [], []
    for im, m in zip(images, masks):
        v = im[m].astype(np.float64)
        med.append(np.median(v))
        p90.append(np.percentile(v, 90))
        d = np.abs(np.diff(im.astype(np.float64), axis=1))[m[:, 1:] & m[:, :-1]]
        grain.append(d.mean())
    return {"median": float(np.mean(med)), "p90": float(np.mean(p90)), "grain": float(np.mean(grain))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=Path("../shared/data/real/ncls-examples"))
    ap.add_argument("--out", type=Path, default=Path("docs"))
    args = ap.parse_args()
    real = probe.real_stills([args.real])
    rows: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {"real": ([r[3] for r in real], [r[4] for r in real])}
    today: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    ge: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    rand: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for seed in (1, 2, 3):
        rng = np.random.default_rng(seed)
        subject = new_subject(seed, population="internal")
        preset = get_preset("internal").vary(rng=rng)
        for view in VIEWS:
            still = standard_still(subject, view=view, preset=preset, rng=rng, out_size_hw=probe.RENDER_HW)
            img, mask, tissue = probe.to_input(still.image, still.frame.tissue)
            today[0].append(img), today[1].append(mask)
            look = apply_appearance(still.frame, "ge", plane=VIEW_PLANE[view], rng=rng)
            img_ge, mask_ge, _ = probe.to_input(look)
            ge[0].append(img_ge), ge[1].append(mask_ge)
            r = randomise_still(img, tissue, mask, rng=rng)
            rand[0].append(r), rand[1].append(r > 0)
    rows.update({"phantom today": today, "phantom, GE-like look": ge, "phantom, randomised": rand})
    for name, (imgs, masks) in rows.items():
        s = _stats(imgs, masks)
        print(f"{name:24s} n={len(imgs):2d}  median {s['median']:5.1f}  p90 {s['p90']:5.1f}  neighbour difference {s['grain']:5.1f}")
    n_cols = 8
    h, w = probe.INPUT_HW
    lines = []
    for name, (imgs, _) in rows.items():
        tiles = [cv2.resize(im, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR) for im in imgs[:n_cols]]
        tiles += [np.zeros((2 * h, 2 * w), np.uint8)] * (n_cols - len(tiles))
        line = np.hstack(tiles)
        label = np.zeros((18, line.shape[1]), np.uint8)
        cv2.putText(label, name, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
        lines += [label, line]
    with atomic_target(args.out / "sim2real-looks.png") as tmp:
        cv2.imwrite(str(tmp), np.vstack(lines))


if __name__ == "__main__":
    main()
