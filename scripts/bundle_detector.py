"""Bundle a trained detector: ``models/detector/<name>.pt`` with float16 weights (half the size;
``neocus.detect.load_model`` loads them into a float32 network), found by ``Detector()`` without a path.

    PYTHONPATH=src python scripts/bundle_detector.py RUN/model.pt [--name default]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neocus.detect.checkpoint import bundled_model_dirs, load_model, save_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="model.pt of a finished `neocus train detector` run")
    ap.add_argument("--name", default="default", help="bundled name (the config it was trained with)")
    args = ap.parse_args()
    loaded = load_model(args.model)
    out = save_model(bundled_model_dirs()[0] / f"{args.name}.pt", loaded.model, loaded.config,
                     info={**loaded.info, "stored": "float16"}, half=True)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
