"""Where the fetal tests find the real HC18 images: ../shared/data/real/fetal/hc18 beside the repository
(``NEOCUS_SHARED_DATA`` may point at another shared/data folder, e.g. from a git worktree); skip when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def hc18_root() -> Path:
    base = Path(os.environ.get("NEOCUS_SHARED_DATA", _DEFAULT))
    root = base / "real" / "fetal" / "hc18"
    if not (root / "images").is_dir():
        pytest.skip(f"real data not available: {root}")
    return root
