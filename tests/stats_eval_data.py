"""Small synthetic PRED.csv / READERS.csv files for the evaluation tests (no real patients)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from neocus.vocab import Finding, IvhGrade, is_severe

# condition of each synthetic case: (ivh_grade, findings)
CONDITIONS: tuple[tuple[int, tuple[Finding, ...]], ...] = (
    (0, (Finding.NORMAL,)),
    (0, (Finding.EPENDYMAL_CYST,)),
    (0, (Finding.VENTRICULAR_DILATION,)),
    (1, (Finding.IVH,)),
    (2, (Finding.IVH,)),
    (3, (Finding.IVH, Finding.VENTRICULAR_DILATION)),
    (4, (Finding.IVH,)),
    (0, (Finding.HYDROCEPHALUS,)),
    (0, (Finding.PVL,)),
)
WEIGHTS = np.array([0.45, 0.08, 0.08, 0.12, 0.07, 0.06, 0.04, 0.04, 0.06])


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return Path(path)


def make_predictions(path: Path, n: int = 160, seed: int = 0, prediction: bool = False) -> Path:
    """PRED.csv with labels from the vocabulary rule, a noisy score, finding columns, ivh_grade,
    and metadata ga_group / probe."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(CONDITIONS), size=n, p=WEIGHTS / WEIGHTS.sum())
    findings = [f.value for f in Finding]
    header = ["case_id", "label", "score"] + (["prediction"] if prediction else []) + findings + ["ivh_grade", "ga_group", "probe"]
    rows = []
    for i, k in enumerate(kinds):
        grade, found = CONDITIONS[k]
        label = int(is_severe(IvhGrade(grade), found))
        score = float(1 / (1 + np.exp(-(2.2 * (2 * label - 1) + rng.normal(0, 1.4)))))
        row = [f"c{i:04d}", label, f"{score:.6f}"]
        if prediction:
            row.append(int(score >= 0.5))
        row += [int(f in {x.value for x in found}) for f in findings]
        row += [grade, rng.choice(["<32w", "32-37w", ">=37w"]), rng.choice(["linear", "sector"])]
        rows.append(row)
    return write_csv(path, header, rows)


def make_readers(
    path: Path,
    pred_path: Path,
    groups: dict[str, int] | None = None,
    seed: int = 1,
    ordinal: bool = False,
    with_ai: bool = True,
) -> Path:
    """READERS.csv: each reader reads every case without AI (and with AI for the junior group)."""
    groups = groups or {"junior": 4, "mid": 3}
    rng = np.random.default_rng(seed)
    with Path(pred_path).open(newline="") as fh:
        pred = list(csv.DictReader(fh))
    header = ["reader_id", "group", "case_id", "call", "with_ai", "time_s"]
    rows = []
    for group, count in groups.items():
        skill = {"junior": 1.0, "mid": 1.6}.get(group, 2.0)
        for r in range(count):
            rid = f"{group[0].upper()}{r + 1}"
            for ai in (0, 1) if (with_ai and group == "junior") else (0,):
                gain = 1.0 if ai else 0.0
                for case in pred:
                    y = int(case["label"])
                    latent = (skill + gain) * (2 * y - 1) + rng.normal(0, 1.0)
                    call = int(np.clip(np.round(3 + latent), 1, 5)) if ordinal else int(latent > 0.3)
                    time = rng.normal(45 if ai else 60, 8)
                    rows.append([rid, group, case["case_id"], call, ai, f"{max(time, 1.0):.1f}"])
    return write_csv(path, header, rows)
