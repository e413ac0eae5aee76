"""Typer commands from `spec.Command` declarations, and the shared Typer options.

Only the Typer side imports this (help, completion, usage errors, and commands not on the
hot path); the thin dispatcher never does.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from toolforge.cli import spec

JsonOpt = Annotated[bool, typer.Option(*spec.JSON.decls, help=spec.JSON.help)]
LibraryOpt = Annotated[
    Path | None,
    typer.Option(*spec.LIBRARY.decls, help=spec.LIBRARY.help, metavar=spec.LIBRARY.metavar,
                 show_default=False, shell_complete=None),
]


def complete_tool(incomplete: str) -> list[str]:
    """Tool names of the library in use (read from its directories: no git, no daemon)."""
    from toolforge.cli.output import invocation_library
    from toolforge.library.discovery import resolve_library_path

    try:
        root = resolve_library_path(invocation_library())
        names = {d.name for sub in ("tools", "candidates") if (root / sub).is_dir()
                 for d in (root / sub).iterdir() if d.is_dir() and not d.name.startswith(".")}
    except OSError:
        return []
    return sorted(n for n in names if n.startswith(incomplete))


def _annotation(p: spec.Param) -> Any:
    kind: Any = p.kind
    if p.choices:
        kind = Literal[p.choices]  # a Choice: Typer lists the values in help and completion
    if p.default is None and kind is not bool:
        kind = kind | None
    extra: dict[str, Any] = {"help": p.help, "show_default": p.default not in (None, False)}
    if p.metavar:
        extra["metavar"] = p.metavar
    if p.complete == "tool":
        extra["autocompletion"] = complete_tool
    if p.positional:
        return Annotated[kind, typer.Argument(**extra)]
    if p.min is not None:
        extra["min"] = p.min
    return Annotated[kind, typer.Option(*p.decls, **extra)]


def typer_command(command: spec.Command) -> Any:
    """A function Typer can register: its signature is built from the declaration."""
    from toolforge.cli.common import run_command

    params = []
    for p in command.all_params():
        default = ... if p.required else p.default
        params.append(inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY,
                                        default=default, annotation=_annotation(p)))

    def run(**values: Any) -> None:
        json_mode = values.pop("json")
        run_command(json_mode, lambda out: command.body(out, **values))

    run.__name__ = command.name
    run.__doc__ = command.help
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: q.annotation for p, q in zip(command.all_params(), params,
                                                                strict=True)}
    return run


def register(app: typer.Typer, command: spec.Command) -> None:
    app.command(command.name, help=command.help)(typer_command(command))
