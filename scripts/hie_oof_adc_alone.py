"""Out-of-fold figures of a finished `neocus hie train` run, with and without the Z-ADC map.

Usage: python scripts/hie_oof_adc_alone.py RUN_DIR DATA_DIR
Each patient is segmented by the fold model that never saw it, with that fold's post-processing.
Prints mean Dice / MASD / NSD / HD95 with 95% CIs for ADC + Z-ADC and for ADC alone.
"""

from __future__ import annotations

import sys

from neocus.hie.evaluate import evaluate_out_of_fold


def main(run_dir: str, data_dir: str) -> None:
    for use_zadc in (True, False):
        r = evaluate_out_of_fold(run_dir, data_dir, use_zadc=use_zadc)
        cells = [f"{n} {getattr(r, n).mean:.3f} [{getattr(r, n).ci[0]:.3f}, {getattr(r, n).ci[1]:.3f}] (n={getattr(r, n).n})" for n in ("dice", "masd", "nsd", "hd95")]
        print(("ADC + Z-ADC" if use_zadc else "ADC alone  ") + ": " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
