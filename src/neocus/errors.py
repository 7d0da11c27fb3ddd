"""User-facing errors.

A :class:`NeocusError` is a problem with what the user gave neocus (a file, a field, an option), not a
bug. The CLI prints it as one line -- ``neocus: error: <where>: <what> (<hint>)`` -- and exits non-zero,
never with a traceback. Library callers catch it like any exception.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TypeVar

_E = TypeVar("_E", bound=Enum)


class NeocusError(Exception):
    """A problem with the user's input: where it is, what is wrong, and what to do about it."""

    exit_code = 2

    def __init__(self, what: str, *, where: str | Path | None = None, hint: str | None = None):
        self.what = what
        self.where = str(where) if where is not None else None
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One printable line: characters that are not printable (a tab or line break in a file name,
        a terminal escape sequence from a file's content) are shown as Python escapes (``\\t``, ``\\x1b``),
        and a ``what`` longer than :data:`MAX_WHAT` characters is cut."""
        what = self.what if len(self.what) <= MAX_WHAT else self.what[: MAX_WHAT - 3] + "..."
        text = f"{self.where}: {what}" if self.where else what
        return printable(f"{text} ({self.hint})" if self.hint else text)


#: Longest ``what`` a message shows: a quoted value from a file (a 3000-character CSV cell) is cut.
MAX_WHAT = 400


def printable(text: str) -> str:
    """``text`` with every non-printable character (controls, line breaks, bidi overrides) escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class InputFileError(NeocusError):
    """A file that cannot be read as what it claims to be (missing, corrupt, wrong kind, empty)."""

    exit_code = 3


class DatasetError(NeocusError):
    """A dataset folder that does not follow the neocus dataset format."""

    exit_code = 4


class StatsInputError(NeocusError, ValueError):
    """Arrays given to neocus.stats that cannot be analysed (NaN, one class, mismatched lengths...)."""

    exit_code = 5


def parse_choice(choices: type[_E], value: _E | str, *, what: str, error: type[NeocusError] = NeocusError) -> _E:
    """``value`` as a member of the enum ``choices``; a :class:`NeocusError` naming the allowed values if
    it is none of them. ``what`` names the parameter (e.g. ``"preset"``), never a CLI flag; ``error`` is
    the :class:`NeocusError` subclass to raise (a package's own, e.g. :class:`StatsInputError`)."""
    if isinstance(value, choices):
        return value
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(str(c.value) for c in choices)
        raise error(f"unknown {what} {value!r}", where=what, hint=f"use one of: {allowed}") from None
