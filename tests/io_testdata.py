"""Where the io tests find their inputs: pydicom's / pydicom-data's files and ../shared/data (skip when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

#: ../shared/data/real/ncls-examples relative to the repository root (tests/ is one level below it).
NCLS_EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "ncls-examples"


def dicom_test_file(name: str) -> str:
    """A pydicom / pydicom-data test file, never downloaded; skip when not installed."""
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not installed (pip install pydicom-data)")
    return str(path)


def ncls_file(*parts: str) -> Path:
    """A file of ../shared/data/real/ncls-examples; skip when the shared data is absent."""
    path = NCLS_EXAMPLES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path
