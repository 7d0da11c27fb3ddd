"""The command line as the documentation shows it: every documented ``neocus ...`` line parses, every
command's help shows each option in the form that works, and the README's status table stays true.

The documented lines are read from README.md and docs/*.md (inline code and fenced blocks), so commands
that other work adds are checked as soon as they are documented; nothing here lists them by hand.
"""

from __future__ import annotations

import enum
import importlib.util
import re
import shlex
import types
import typing
from pathlib import Path

import pytest
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from neocus.cli import app, main

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"^[A-Z][A-Za-z0-9_]*(\.[a-z]+)?$")  # FILE, DIR, N, PRED.csv, WxH...


def documented_lines() -> list[tuple[str, str]]:
    """``(where, command line)`` for each ``neocus ...`` in inline code or a fenced block of the docs.

    A fenced line that starts with ``[`` or ``--``, or follows a line ending in ``\\``, continues the
    command above it.
    """
    found: list[tuple[str, str]] = []
    for doc in DOC_FILES:
        in_fence = False
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{doc.relative_to(ROOT)}:{number}"
            stripped = line.strip()
            if stripped.startswith("```"):
                in_fence = not in_fence
                continue
            if in_fence:
                text = stripped.removeprefix("$ ").split(" #", 1)[0].strip()
                continues = text.startswith(("[", "--")) or (found and found[-1][1].endswith("\\"))
                if text == "neocus" or text.startswith("neocus "):
                    found.append((where, text))
                elif found and found[-1][0].startswith(str(doc.relative_to(ROOT))) and continues:
                    found[-1] = (found[-1][0], f"{found[-1][1].removesuffix(chr(92)).rstrip()} {text}")
                continue
            for match in re.finditer(r"`(neocus(?: [^`]*)?)`", line):
                found.append((where, match.group(1)))
    return found


def _annotation(param: TyperOption | TyperArgument) -> object:
    ann = param.type_descriptor.annotation
    while typing.get_origin(ann) in (typing.Union, types.UnionType, list):
        ann = next(a for a in typing.get_args(ann) if a is not type(None))
    return ann


def _sample(param: TyperOption | TyperArgument, token: str) -> str:
    """A value of ``param``'s type for a placeholder such as ``N`` (kept as it is for paths and text)."""
    if not PLACEHOLDER.match(token):
        return token
    ann = _annotation(param)
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return str(next(iter(ann)).value)
    return {int: "1", float: "0.5"}.get(ann, token)  # type: ignore[call-overload]


def _tokens(line: str) -> list[str]:
    """The words of a documented line: optional parts kept, ``a|b`` -> ``a``, ``...`` dropped."""
    words = shlex.split(line.replace("\\|", "|"))[1:]
    out = []
    for word in words:
        word = word.strip("[]").split("|")[0]
        if word and word != "...":
            out.append(word)
    return out


def _resolve(tokens: list[str]) -> tuple[list[str], object, list[str]]:
    """``(command path, click command, remaining words)``: descend groups (hidden commands included)."""
    command = typer.main.get_command(app)
    path: list[str] = []
    rest = list(tokens)
    while isinstance(command, TyperGroup) and rest and rest[0] in command.commands:
        path.append(rest[0])
        command = command.commands[rest.pop(0)]
    return path, command, rest


def _with_samples(command, words: list[str]) -> list[str]:
    """Replace placeholders by values of the right type, for option values and positional arguments."""
    options = {opt: p for p in command.params if isinstance(p, TyperOption) for opt in p.opts}
    arguments = [p for p in command.params if isinstance(p, TyperArgument)]
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        param = options.get(word)
        if param is not None and not param.is_flag and i + 1 < len(words):
            out += [word, _sample(param, words[i + 1])]
            i += 2
            continue
        if not word.startswith("-") and arguments:
            word = _sample(arguments[0], word)
            if arguments[0].nargs == 1:
                arguments.pop(0)
        out.append(word)
        i += 1
    return out


def test_the_docs_document_commands() -> None:
    lines = [text for _, text in documented_lines()]
    assert any(t.startswith("neocus inspect FILE") for t in lines) and any(t.startswith("neocus simulate --out") for t in lines)


@pytest.mark.parametrize(("where", "line"), documented_lines(), ids=lambda v: v if ":" in str(v) else "")
def test_documented_command_line_parses(where: str, line: str) -> None:
    tokens = _tokens(line)
    path, command, rest = _resolve(tokens)
    if not rest or rest[0].startswith("<"):
        return  # the program or a command by name (``neocus validate``, ``neocus <command>``)
    if isinstance(command, TyperGroup) and not rest[0].startswith("-"):
        pytest.fail(f"{where}: `{line}`: {' '.join(['neocus', *path])} has no command {rest[0]!r}")
    args = _with_samples(command, rest)
    try:
        command.make_context(" ".join(["neocus", *path]), list(args))  # the parser consumes its list
    except typer.Exit as exc:  # an eager option such as --version did its job
        assert exc.exit_code == 0, f"{where}: `{line}`"
    except Exception as exc:  # noqa: BLE001 - any parse error is the failure this test reports
        pytest.fail(f"{where}: `{line}` does not parse (as {['neocus', *path, *args]}): {exc}")


def _commands(command=None, path: tuple[str, ...] = ()):
    command = command or typer.main.get_command(app)
    yield path, command
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


ALL_COMMANDS = [path for path, _ in _commands()]


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "neocus")
def test_help_shows_each_option_as_it_is_typed(capsys, monkeypatch, path: tuple[str, ...]) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one row per option, long names unwrapped
    capsys.readouterr()
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    command = dict(_commands())[path]
    for param in command.get_params(typer.Context(command)):
        if not isinstance(param, TyperOption) or param.hidden:
            continue
        for opt in param.opts:
            names = "|".join(re.escape(o) for o in param.opts + param.secondary_opts)
            shown = re.search(rf"(?<![\w-]){re.escape(opt)}(?:[ ]+(?:{names}))*(?![\w-])[ ]+(\S*)", text)
            assert shown is not None, f"{opt} missing from `neocus {' '.join(path)} --help`"
            if param.is_flag:  # a flag takes no value: no placeholder after it
                assert not shown.group(1).startswith("<"), f"`neocus {' '.join(path)} --help` shows {opt} {shown.group(1)}"
    assert "list[" not in text  # a repeatable option is typed once per value, not as a list


def test_a_flag_works_as_the_help_shows_it_and_not_with_a_value(capsys, tmp_path: Path) -> None:
    assert main(["inspect", str(tmp_path / "missing.png"), "--json"]) != 0
    assert "no such file" in capsys.readouterr().err  # parsed: the file is what failed
    assert main(["inspect", str(tmp_path / "missing.png"), "--json", "true"]) == 2
    assert "unexpected extra argument" in capsys.readouterr().err.lower()


# --------------------------------------------------------------------------------------------------
# The README's status table
# --------------------------------------------------------------------------------------------------

STATUSES = ("works", "partial", "not yet")


def status_rows() -> list[dict[str, str]]:
    """The rows of the table under ``## Status`` in README.md (columns: part, status, where)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Status", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    header = [c.strip().lower() for c in rows[0]]
    return [dict(zip(header, (c.strip() for c in row))) for row in rows[2:]]


def test_the_readme_opens_with_set_up_then_status_and_says_what_is_not_built() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text[text.index("```") : text.index("```", text.index("```") + 3)]
    assert "bash scripts/demo.sh" in first_block and "bash scripts/test.sh" in first_block, "the README opens with the two set-up commands"
    sections = re.findall(r"^## (.+)$", text, flags=re.M)
    assert sections[:2] == ["First run", "Status"], "the set-up commands come first, the status table right after them"
    rows = status_rows()
    assert {r["status"] for r in rows} <= set(STATUSES)
    not_yet = " ".join(r["part"].lower() for r in rows if r["status"] == "not yet")
    for part in ("detection", "view", "diagnosis", "screening", "hie", "fetal"):
        assert part in not_yet or any(part in r["part"].lower() for r in rows), f"the status table says nothing of {part}"


def _modules(cell: str) -> list[str]:
    return re.findall(r"`(neocus(?:\.\w+)+)`", cell)


def test_status_rows_match_the_code() -> None:
    """A row that works names a command that exists; a row that is not built names a module that does
    not exist yet (when it lands, this fails until the row is brought up to date)."""
    documented = dict(documented_lines())
    for row in status_rows():
        commands = re.findall(r"`(neocus [^`]*)`", row["where"])
        modules = _modules(row["where"])
        assert commands or modules, f"status row {row['part']!r} names no command or module"
        if row["status"] == "not yet":
            for module in modules:
                assert importlib.util.find_spec(module) is None, (
                    f"{module} exists now: update the README status row {row['part']!r} (it says 'not yet')"
                )
        else:
            for module in modules:
                assert importlib.util.find_spec(module) is not None, f"status row {row['part']!r}: no module {module}"
            for command in commands:
                path, _, _ = _resolve(_tokens(command))
                assert path, f"status row {row['part']!r}: `{command}` is no neocus command"
    assert documented  # the rows' commands are also parsed by test_documented_command_line_parses


def test_every_command_is_in_the_readme() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for path, command in _commands():
        if path and not command.hidden and not isinstance(command, TyperGroup):
            assert f"neocus {' '.join(path)}" in text, f"`neocus {' '.join(path)}` is not in README.md"
