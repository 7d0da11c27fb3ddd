"""Where the bundled model weights live: ``models/`` at the top of the neocus source tree.

One definition for every package that falls back to a bundled model when no folder is given.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BUNDLED_MODELS", "bundled_model_dir"]

BUNDLED_MODELS = Path(__file__).resolve().parents[2] / "models"


def bundled_model_dir(*parts: str) -> Path:
    """``models/<parts...>`` of the source tree, e.g. ``bundled_model_dir("fetal", "skull")``."""
    return BUNDLED_MODELS.joinpath(*parts)
