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


def _group(name: str, help_text: str) -> typer.Typer:
    """A sub-command group (``neocus <name> <command>``) that the command modules register on."""
    group = typer.Typer(name=name, help=help_text, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    app.add_typer(group, name=name)
    return group


# Groups shared by several command modules: each module adds its own sub-command (e.g. `train detector`).
train_app = _group("train", "Train a model (detector, diagnosis, ...) on a neocus dataset or the phantom.")
evaluate_app = _group("evaluate", "Evaluate a model or predictions against ground truth; writes metrics.json and a report.")
export_app = _group("export", "Export a trained model (e.g. to ONNX).")
fit_app = _group("fit", "Fit settings (e.g. view-scoring weights) against ground truth.")
