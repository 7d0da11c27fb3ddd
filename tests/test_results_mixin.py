"""neocus.results: the one serialisation mixin, and neocus.errors.parse_choice for closed option sets."""

import json
import math
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class _WithBulk(AsDict):
    name: str
    per_case: np.ndarray = field(metadata={"to_dict": False})
    score: float = 0.123456


def test_bulky_fields_stay_out_and_rounded_keeps_json_compact():
    from neocus.results import rounded

    r = _WithBulk("a", np.arange(5))
    assert r.to_dict() == {"name": "a", "score": 0.123456}
    assert rounded(r, 3) == {"name": "a", "score": 0.123}
    assert rounded([r, {"k": (1.23456, True, 7)}], 2) == [{"name": "a", "score": 0.12}, {"k": [1.23, True, 7]}]
    assert rounded(float("nan"), 2) is None  # like to_plain: not-a-number becomes null


def test_parse_choice_raises_the_packages_own_error():
    from neocus.errors import StatsInputError

    with pytest.raises(StatsInputError, match="unknown colour 'green'.*use one of: red, blue"):
        parse_choice(_Colour, "green", what="colour", error=StatsInputError)


def test_from_plain_builds_the_dataclass_and_names_unknown_fields():
    from neocus.errors import InputFileError
    from neocus.results import from_plain

    assert from_plain(_Inner, {"x": 2.0}, where="cfg.json") == _Inner(2.0)
    with pytest.raises(InputFileError, match="unknown field inner.y") as err:
        from_plain(_Inner, {"x": 1.0, "y": 2}, where="cfg.json", prefix="inner.", error=InputFileError)
    assert "known fields: x" in str(err.value)
    with pytest.raises(NeocusError, match="must be a JSON object"):
        from_plain(_Inner, [1], where="cfg.json")
