"""``neocus`` command line: each command lives in its own module and registers on :data:`app`."""

from __future__ import annotations

import re
import sys
from functools import cache

import typer
from rich.markup import escape


from neocus.cli.app import app, err_console
from neocus.errors import NeocusError

# Command modules register themselves on import (one line each, kept sorted).
from neocus.cli import detector_cmd  # noqa: E402,F401
from neocus.cli import diagnose_cmd  # noqa: E402,F401
from neocus.cli import diagnosis_cmd  # noqa: E402,F401
from neocus.cli import evaluate_cmd  # noqa: E402,F401
from neocus.cli import fetal_cmd  # noqa: E402,F401
from neocus.cli import fetal_fossa_cmd  # noqa: E402,F401
from neocus.cli import fetal_hypoplasia_cmd  # noqa: E402,F401
from neocus.cli import hie_cmd  # noqa: E402,F401
from neocus.cli import inspect_cmd  # noqa: E402,F401
from neocus.cli import screen_cmd  # noqa: E402,F401
from neocus.cli import simulate_cmd  # noqa: E402,F401
from neocus.cli import validate_cmd  # noqa: E402,F401
from neocus.cli import views_cmd  # noqa: E402,F401


@cache
def _option_flags() -> dict[str, str]:
    """Each command option's parameter name -> its long flag (``positive_from`` -> ``--reader-positive-from``)."""
    flags: dict[str, str] = {}
    stack = [typer.main.get_command(app)]
    while stack:
        cmd = stack.pop()
        stack.extend(getattr(cmd, "commands", {}).values())  # groups
        for param in cmd.params:
            if getattr(param, "param_type_name", "") == "option" and param.name:
                flags.setdefault(param.name, max(param.opts, key=len))
    return flags


def error_line(exc: NeocusError) -> str:
    """The one line printed for a user mistake. Library code names parameters, never flags (a ``where``
    that is a parameter name, or a name in backquotes); here they become the command's flags."""
    flags = _option_flags()
    where = flags.get(exc.where, exc.where) if exc.where else None
    text = f"{where}: {exc.what}" if where else exc.what
    text = f"{text} ({exc.hint})" if exc.hint else text
    return re.sub(r"`([a-z_]+)`", lambda m: flags.get(m.group(1), m.group(0)), text)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command; a user mistake prints one line and exits non-zero, never a traceback."""
    try:
        app(args=argv, prog_name="neocus", standalone_mode=True)
    except NeocusError as exc:
        err_console.print(f"[bold red]neocus: error:[/] {escape(error_line(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:  # typer / click exit codes (Ctrl-C: typer exits 130)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
