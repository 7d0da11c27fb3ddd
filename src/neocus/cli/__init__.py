"""``neocus`` command line: each command lives in its own module and registers on :data:`app`."""

from __future__ import annotations

import sys

from neocus.cli.app import app, err_console
from neocus.errors import NeocusError

# Command modules register themselves on import (one line each, kept sorted).
from neocus.cli import evaluate_cmd  # noqa: E402,F401
from neocus.cli import hie_cmd  # noqa: E402,F401
from neocus.cli import inspect_cmd  # noqa: E402,F401
from neocus.cli import simulate_cmd  # noqa: E402,F401
from neocus.cli import validate_cmd  # noqa: E402,F401


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command; a user mistake prints one line and exits non-zero, never a traceback."""
    try:
        app(args=argv, prog_name="neocus", standalone_mode=True)
    except NeocusError as exc:
        err_console.print(f"[bold red]neocus: error:[/] {exc.message}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:  # typer / click exit codes (Ctrl-C: typer exits 130)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
