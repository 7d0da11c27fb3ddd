"""Compare two skull models on the same HC18 images, paired by image, and draw their learning curves.

Input: two `neocus fetal evaluate` folders (their images.csv) and, optionally, the two training logs
(metrics.jsonl). Output (in --out): compare.json with, for each model, the mean of |HC error|, HC error,
skull Dice and Hausdorff with a 95 % bootstrap interval over images (scipy.stats.bootstrap, BCa,
10,000 resamples, seed 0), the paired difference (B - A) with its bootstrap interval and the Wilcoxon
signed-rank p (neocus.stats.wilcoxon_signed_rank); and learning_curves.png (validation Dice per
epoch of both runs). Images that either model failed to measure are counted and left out of the pairs.

    PYTHONPATH=src python benchmarks/fetal_skull_compare.py --a EVAL_A --b EVAL_B --name-a real-only \
        --name-b phantom-pretrained --log-a RUN_A/metrics.jsonl --log-b RUN_B/metrics.jsonl --out OUT
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from scipy import stats

from neocus.stats import wilcoxon_signed_rank

METRICS = (("abs_hc_error_mm", "|HC error| (mm)"), ("hc_difference_mm", "HC error (mm)"), ("skull_dice", "skull Dice"),
           ("hausdorff_mm", "Hausdorff (mm)"))


def _rows(folder: Path) -> dict[str, dict[str, float]]:
    out = {}
    with open(folder / "images.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["hc_difference_mm"] == "":
                continue
            d = float(r["hc_difference_mm"])
            out[r["name"]] = {"abs_hc_error_mm": abs(d), "hc_difference_mm": d, "skull_dice": float(r["skull_dice"]),
                              "hausdorff_mm": float(r["hausdorff_mm"])}
    return out


def _ci(x: np.ndarray) -> list[float]:
    res = stats.bootstrap((x,), np.mean, n_resamples=10_000, confidence_level=0.95, method="BCa",
                          random_state=np.random.default_rng(0))
    return [round(float(res.confidence_interval.low), 4), round(float(res.confidence_interval.high), 4)]


def _better(key: str, xa: np.ndarray, xb: np.ndarray) -> int:
    """On how many images B is better: higher Dice, smaller distance, smaller |HC error|."""
    if key == "skull_dice":
        return int((xb > xa).sum())
    return int((np.abs(xb) < np.abs(xa)).sum())


def compare(a: Path, b: Path) -> dict:
    ra, rb = _rows(a), _rows(b)
    names = sorted(set(ra) & set(rb))
    out: dict = {"n_paired": len(names), "only_a": sorted(set(ra) - set(rb)), "only_b": sorted(set(rb) - set(ra)), "metrics": {}}
    for key, _label in METRICS:
        xa = np.array([ra[n][key] for n in names])
        xb = np.array([rb[n][key] for n in names])
        test = wilcoxon_signed_rank(xb, xa)
        out["metrics"][key] = {
            "a_mean": round(float(xa.mean()), 4), "a_ci95": _ci(xa), "b_mean": round(float(xb.mean()), 4), "b_ci95": _ci(xb),
            "b_minus_a_mean": round(float((xb - xa).mean()), 4), "b_minus_a_ci95": _ci(xb - xa),
            "wilcoxon_p": round(float(test.p_value), 4), "b_better_images": _better(key, xa, xb),
        }
    return out


def _curve(path: Path) -> tuple[list[int], list[float]]:
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [d["epoch"] for d in lines], [d["validation_dice"] for d in lines]


def plot_curves(logs: list[tuple[str, Path]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for name, path in logs:
        ep, dice = _curve(path)
        ax.plot(ep, dice, marker="o", ms=3, label=name)
    ax.set_xlabel("epoch on the 130 HC18 training images")
    ax.set_ylabel("validation Dice (18 images, 176x256)")
    ax.set_ylim(0.85, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", type=Path, required=True)
    ap.add_argument("--b", type=Path, required=True)
    ap.add_argument("--name-a", default="A")
    ap.add_argument("--name-b", default="B")
    ap.add_argument("--log-a", type=Path)
    ap.add_argument("--log-b", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"a": args.name_a, "b": args.name_b, **compare(args.a, args.b)}
    (args.out / "compare.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"{result['n_paired']} paired images; A = {args.name_a}, B = {args.name_b}")
    for key, label in METRICS:
        m = result["metrics"][key]
        print(f"{label:18} A {m['a_mean']:.3f} {m['a_ci95']}  B {m['b_mean']:.3f} {m['b_ci95']}  "
              f"B-A {m['b_minus_a_mean']:+.3f} {m['b_minus_a_ci95']}  Wilcoxon p {m['wilcoxon_p']:.3f}  B better on {m['b_better_images']}")
    if args.log_a and args.log_b:
        plot_curves([(args.name_a, args.log_a), (args.name_b, args.log_b)], args.out / "learning_curves.png")


if __name__ == "__main__":
    main()
