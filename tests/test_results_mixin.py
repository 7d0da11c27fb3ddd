"""neocus.results: the one serialisation mixin, and neocus.errors.parse_choice for closed option sets."""

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pytest

from neocus.errors import NeocusError, parse_choice
from neocus.results import AsDict


class _Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class _Inner(AsDict):
    x: float


@dataclass(frozen=True)
class _Outer(AsDict):
    inner: _Inner
    arr: np.ndarray
    colour: _Colour
    path: Path
    missing: float
    table: dict


def test_to_dict_gives_json_ready_values():
    out = _Outer(_Inner(1.5), np.arange(3), _Colour.RED, Path("a/b.png"), math.nan, {1: np.float32(2.0)}).to_dict()
    assert out == {"inner": {"x": 1.5}, "arr": [0, 1, 2], "colour": "red", "path": "a/b.png", "missing": None,
                   "table": {"1": 2.0}}
    json.dumps(out)  # plain values only


def test_parse_choice_accepts_member_or_value_and_names_allowed_values():
    assert parse_choice(_Colour, "blue", what="colour") is _Colour.BLUE
    assert parse_choice(_Colour, _Colour.RED, what="colour") is _Colour.RED
    with pytest.raises(NeocusError) as err:
        parse_choice(_Colour, "green", what="colour")
    assert "red, blue" in str(err.value) and "--" not in str(err.value)
