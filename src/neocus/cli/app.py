"""The typer application that every ``neocus`` command registers on."""

from __future__ import annotations

import typer
from rich.console import Console

import neocus

app = typer.Typer(
    name="neocus",
    help="Screen newborns for severe brain lesions on cranial ultrasound (research software, not a clinical device).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"neocus {neocus.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """neocus command line."""
