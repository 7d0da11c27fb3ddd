"""Draw the sim2real-mri figure (never committed: its MRI rows derive from BONBID-HIE, which may not be
redistributed): the real NCLS stills beside stills of the MRI-derived phantom heads
(issue #14, :mod:`neocus.phantom.mri_head`) and of the analytic phantom, as the sim-to-real probe sees
them (ROI crop with neocus.io.roi, 80 x 112, shown at twice that size).

Rows: the three NCLS exams (COR1, COR2, COR3, SAG1, SAG2 = AHV, TVV, BV, MSV, parasagittal; MIT
licence, read from ../shared, never copied); then three BONBID-HIE brains (read from ../shared, never
copied) rendered with the probe's presets (internal, external, blind) and the same views; then the
analytic phantom (probe subject 140000, internal).

    python docs/make_mri_figure.py [--real DIR] [--mri-data DIR] [--patients ID ID ID] [--out sim2real-mri.png]
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
from neocus.vocab import View  # noqa: E402

VIEWS = (View.AHV, View.TVV, View.BV, View.MSV, View.RPSV)
REAL_NAMES = ("COR1", "COR2", "COR3", "SAG1", "SAG2")
PRESETS = ("internal", "external", "blind")
SCALE = 2


def _tile(img: np.ndarray, label: str) -> np.ndarray:
    out = cv2.resize(img, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
    out = cv2.copyMakeBorder(out, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0)
    cv2.putText(out, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
    return out


def mri_rows(folder: Path, patients: list[str]) -> list[list[np.ndarray]]:
    from neocus.phantom import get_preset
    from neocus.phantom.mri_head import mri_head, mri_still

    found = {pid: (adc, les) for pid, adc, les in probe.mri_patients(folder)}
    rows = []
    for k, pid in enumerate(patients):
        adc, les = found[pid]
        head = mri_head(adc, lesion_path=les)
        rng = np.random.default_rng(140000 + k)
        scan = get_preset(PRESETS[k % len(PRESETS)]).vary(rng=rng)
        row = []
        for view in VIEWS:
            frame = mri_still(head, view, scan, rng=rng, out_size_hw=probe.RENDER_HW)
            row.append(_tile(probe.to_input(frame.image)[0], f"MRI {pid[-3:]} {PRESETS[k % 3]} {view.value}"))
        rows.append(row)
    return rows


def phantom_row() -> list[np.ndarray]:
    from neocus.phantom import get_preset, new_subject, standard_still

    rng = np.random.default_rng(140000)
    subject = new_subject(140000, population="internal")
    scan = get_preset("internal").vary(rng=rng)
    return [_tile(probe.to_input(standard_still(subject, view=v, preset=scan, rng=rng, out_size_hw=probe.RENDER_HW).frame.image)[0],
                  f"phantom {v.value}") for v in VIEWS]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=Path("../shared/data/real/ncls-examples"))
    ap.add_argument("--mri-data", type=Path, default=Path("../shared/data/real/bonbid-hie"))
    ap.add_argument("--patients", nargs=3, default=["MGHNICU_264", "MGHNICU_275", "MGHNICU_359"])
    ap.add_argument("--out", type=Path, default=Path("sim2real-mri.png"))
    args = ap.parse_args()
    real = {(Path(r[0]).name, r[1][:4].upper()): r[3] for r in probe.real_stills([args.real])}
    exams = sorted({e for e, _ in real})
    rows = [[_tile(real[e, n], f"real {e[-3:]} {n}") for n in REAL_NAMES] for e in exams]
    rows += mri_rows(args.mri_data, list(args.patients))
    rows.append(phantom_row())
    figure = np.concatenate([np.concatenate(r, axis=1) for r in rows], axis=0)
    with atomic_target(args.out, make_parents=True) as tmp:
        cv2.imwrite(str(tmp), figure)


if __name__ == "__main__":
    main()
