"""Commands on the CLI's hot path, declared once, without Typer.

A `Command` lists its parameters as plain data. Two things are built from that one
declaration: the Typer command (help, completion, usage errors; cli/typer_build.py) and the
thin dispatcher's parser (cli/main.py), which runs the command for ordinary argument lists
without importing Typer, and hands anything unusual (--help, an unknown or malformed
option) to Typer. The body is the same either way: `body(out, **values)`.

Stdlib only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Body = Callable[..., None]


class Param:
    """One parameter. (Plain classes, not dataclasses: `dataclasses` imports `inspect`,
    which the hot path does not otherwise need.)"""

    __slots__ = ("choices", "complete", "decls", "default", "help", "kind", "metavar", "min",
                 "name", "required")

    def __init__(self, name: str, decls: tuple[str, ...] = (), *, help: str = "",
                 default: Any = None, kind: type = str, choices: tuple[str, ...] = (),
                 metavar: str | None = None, min: int | None = None, required: bool = False,
                 complete: str | None = None) -> None:
        self.name = name  # the body's keyword
        self.decls = decls  # option flags; none: a positional argument
        self.help = help
        self.default = default
        self.kind = kind  # str | int | bool | Path
        self.choices = choices
        self.metavar = metavar
        self.min = min
        self.required = required
        self.complete = complete  # "tool": shell completion offers the library's tools

    @property
    def positional(self) -> bool:
        return not self.decls

    def __repr__(self) -> str:
        return f"Param({self.name!r}, {self.decls!r})"


class Command:
    __slots__ = ("body", "help", "name", "params")

    def __init__(self, name: str, help: str, body: Body, params: tuple[Param, ...] = ()
                 ) -> None:
        self.name = name
        self.help = help
        self.body = body
        self.params = params

    def all_params(self) -> tuple[Param, ...]:
        return (*self.params, LIBRARY, JSON)

    def __repr__(self) -> str:
        return f"Command({self.name!r})"


# The options every command takes (the Typer commands elsewhere use these two as well).
LIBRARY = Param(
    "library", ("--library", "-L"), kind=Path, metavar="PATH",
    help="Library path (default: TOOLFORGE_LIBRARY, else the current directory if it is a "
    "library, else ./library). Also accepted before the command.")
JSON = Param("json", ("--json",), kind=bool, default=False,
             help="Print one JSON document (docs/json.md) instead of text. Also accepted "
             "before the command.")
NO_DAEMON = Param("no_daemon", ("--no-daemon",), kind=bool, default=False,
                  help="Run in-process instead of through the library's daemon (also "
                  "TOOLFORGE_NO_DAEMON=1); accepted after the command too.")
GLOBAL_OPTIONS = (LIBRARY, JSON, NO_DAEMON)


class BadArgs(Exception):
    """The argument list is not one the thin parser takes: Typer parses it instead."""


def parse(command: Command, args: list[str]) -> dict[str, Any]:
    """The values of `command`'s parameters in `args`, or BadArgs for anything this small
    parser leaves to Typer (help, unknown options, clustered short options, bad values)."""
    params = command.all_params()
    values: dict[str, Any] = {p.name: p.default for p in params}
    by_flag = {d: p for p in params for d in p.decls}
    positional = [p for p in params if p.positional]
    seen_positional = 0
    only_positional = False
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not only_positional and arg == "--":
            only_positional = True
            continue
        if not only_positional and arg.startswith("-") and arg != "-":
            flag, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
            p = by_flag.get(flag)
            if p is None:
                raise BadArgs(arg)
            if p.kind is bool:
                if eq:
                    raise BadArgs(arg)
                values[p.name] = True
                continue
            if not eq:
                if i >= len(args):
                    raise BadArgs(arg)
                value = args[i]
                i += 1
            values[p.name] = convert(p, value)
            continue
        if seen_positional >= len(positional):
            raise BadArgs(arg)
        p = positional[seen_positional]
        seen_positional += 1
        values[p.name] = convert(p, arg)
    if any(p.required for p in positional[seen_positional:]):
        raise BadArgs("missing argument")
    if any(p.required and values[p.name] is None for p in params if not p.positional):
        raise BadArgs("missing option")
    return values


def convert(p: Param, value: str) -> Any:
    if p.choices and value not in p.choices:
        raise BadArgs(value)
    if p.kind is int:
        if not (value.isascii() and value.lstrip("-").isdigit()) or len(value) > 18:
            raise BadArgs(value)
        number = int(value)
        if p.min is not None and number < p.min:
            raise BadArgs(value)
        return number
    if p.kind is Path:
        return Path(value)
    return value


def split_globals(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Global options before the command (`-L lib --json --no-daemon list ...`): their
    values, and the arguments from the command on. BadArgs for anything else before it."""
    found: dict[str, Any] = {}
    by_flag = {d: p for p in GLOBAL_OPTIONS for d in p.decls}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        flag, eq, value = args[i].partition("=") if args[i].startswith("--") else \
            (args[i], "", "")
        p = by_flag.get(flag)
        if p is None:
            raise BadArgs(args[i])
        i += 1
        if p.kind is bool:
            if eq:
                raise BadArgs(flag)
            found[p.name] = True
            continue
        if not eq:
            if i >= len(args):
                raise BadArgs(flag)
            value = args[i]
            i += 1
        found[p.name] = value
    return found, args[i:]
