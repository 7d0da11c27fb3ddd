"""The typer application that every ``neocus`` command registers on.

Every command and group made here (or on :data:`app`, :data:`train_app`, :data:`evaluate_app`,
:data:`export_app`) uses :class:`NeocusCommand` / :class:`NeocusGroup`: typer's rich help prints a
``<bool>`` value placeholder beside on/off flags (``--json <bool>``), although a flag takes no value
(``--json true`` is refused), and ``<list[str]>`` beside a repeatable option (``--subgroup a,b`` is one
value, not two); these classes show flags bare and repeatable options as ``<str> (repeatable)``, the
forms that work.
"""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

import neocus


def _help_forms(params: list[Any], ctx: Any) -> list[Any]:
    """Set the metavar of on/off flags (none: ``--json``), of repeatable options (``<str> (repeatable)``)
    and of arguments that take several values (``<path> (one or more)``)."""
    for param in params:
        if isinstance(param, TyperArgument) and param.metavar is None and param.nargs == -1:
            shown = param.display_type(ctx)
            item = re.fullmatch(r"<list\[(.+)\]>", shown or "")
            many = f"<{item.group(1).lower()}> (one or more)" if item else shown
            param.display_type_rich = lambda ctx=None, many=many: many  # type: ignore[method-assign]
            continue
        if not isinstance(param, TyperOption) or param.metavar is not None:
            continue
        if param.is_flag:
            param.metavar = ""
        elif param.multiple:
            shown = param.display_type(ctx)
            item = re.fullmatch(r"<list\[(.+)\]>", shown)
            param.metavar = f"<{item.group(1)}> (repeatable)" if item else f"{shown} (repeatable)"
    return params


class NeocusCommand(TyperCommand):
    """A typer command whose help shows flags without a value placeholder."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _help_forms(super().get_params(ctx), ctx)


class NeocusGroup(TyperGroup):
    """A typer group whose help shows flags (``--help``, ``--version``) without a value placeholder."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _help_forms(super().get_params(ctx), ctx)


class NeocusTyper(typer.Typer):
    """``typer.Typer`` whose commands and groups default to :class:`NeocusCommand` / :class:`NeocusGroup`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", NeocusGroup)
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Any:
        if kwargs.get("cls") is None:
            kwargs["cls"] = NeocusCommand
        return super().command(name, **kwargs)


app = NeocusTyper(
    name="neocus",
    help="Screen newborns for severe brain lesions on cranial ultrasound (research software, not a clinical device).",
    no_args_is_help=True,
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
    group = NeocusTyper(name=name, help=help_text, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


# Groups shared by several command modules: each module adds its own sub-command (e.g. `train detector`).
train_app = _group("train", "Train a model (detector, diagnosis, ...) on a neocus dataset or the phantom.")
evaluate_app = _group("evaluate", "Evaluate a model or predictions against ground truth; writes metrics.json and a report.")
export_app = _group("export", "Export a trained model (e.g. to ONNX).")
fit_app = _group("fit", "Fit settings (e.g. view-scoring weights) against ground truth.")


def parse_device(device: str) -> str:
    """The ``--device`` value checked: cpu, cuda or cuda:N, and CUDA only where torch sees it."""
    from neocus.errors import NeocusError

    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise NeocusError(f"unknown device {device!r}", where="--device", hint="use cpu or cuda")
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise NeocusError("CUDA is not available on this machine", where="--device", hint="use --device cpu")
    return device
