"""The one way results serialise: frozen dataclasses that subclass :class:`AsDict` get ``to_dict()``.

Every package (stats, detect, views, diagnose, hie, fetal, ...) returns frozen dataclasses built on this
mixin, so any result turns into plain JSON-ready values the same way (see docs/conventions.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, TypeVar

from neocus.errors import NeocusError

_D = TypeVar("_D")


def to_plain(value: Any) -> Any:
    """JSON-ready value: results (anything with ``to_dict``) to dicts, mappings to dicts with string keys,
    lists / tuples / numpy arrays to lists, numpy scalars to Python numbers, enums to their values,
    paths to strings, NaN / inf to ``None``."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Enum):
        return to_plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def rounded(value: Any, ndigits: int) -> Any:
    """:func:`to_plain` of ``value`` with every float rounded to ``ndigits`` (compact, stable JSON)."""
    plain = to_plain(value)
    if isinstance(plain, float):
        return round(plain, ndigits)
    if isinstance(plain, dict):
        return {k: rounded(v, ndigits) for k, v in plain.items()}
    if isinstance(plain, list):
        return [rounded(v, ndigits) for v in plain]
    return plain


def from_plain(cls: type[_D], data: Any, *, where: str | Path, prefix: str = "", error: type[NeocusError] = NeocusError) -> _D:
    """The dataclass ``cls`` from a plain mapping (a config file's section, the inverse of ``to_dict``):
    a field the class does not have is an ``error`` naming it (``prefix`` + name) and the known ones;
    a value the class refuses is an ``error`` too."""
    if not isinstance(data, Mapping):
        raise error(f"{prefix.rstrip('.') or 'the config'} must be a JSON object", where=where)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        names = ", ".join(prefix + u for u in unknown)
        raise error(f"unknown field {names}", where=where, hint=f"known fields: {', '.join(sorted(known))}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise error(f"bad value in {prefix.rstrip('.') or 'the config'} ({exc})", where=where) from None


class AsDict:
    """Mixin for result dataclasses: gives ``to_dict()``, every field as a plain JSON-ready value.

    Each field goes through :func:`to_plain`. Subclass it on a ``@dataclass(frozen=True)`` rather than
    writing another ``to_dict``. A bulky field that does not belong in the JSON (e.g. per-case arrays)
    is left out with ``field(metadata={"to_dict": False})``.
    """

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: to_plain(getattr(self, f.name))
            for f in fields(self)  # type: ignore[arg-type]
            if f.metadata.get("to_dict", True)
        }
