"""Printing: Rich for people, one JSON envelope for scripts. Nothing else prints.

With `--json` every command prints exactly one document (docs/json.md):

    {"schema_version": 1, "command": "list", "ok": true, "library": "/abs/lib",
     "warnings": [], "result": {...}}
    {"schema_version": 1, "command": "show", "ok": false, "library": "/abs/lib",
     "warnings": [], "error": {"kind": "not_found", "message": "...", "hint": "...",
                               "exit_code": 1}}

`Output.emit(result, render)` and `Output.error(kind, message, hint)` build it, so a
command written against them gets the envelope without knowing about it. The command's
name and its `--library` come from the invocation (Typer's context, or the thin path).

Text from tools never drives the terminal: every Rich console made here escapes control
characters in what it renders (terminal.printable), and JSON is written with them as \\u
escapes. When stdout is not a terminal, text output is plain: no colour, no padding to a
width, nothing cut to fit.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any, cast

from toolforge.terminal import Escaped, json_printable, printable_line

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA_VERSION = 1
PLAIN_WIDTH = 10_000  # "no width" for text that goes to a file or a pipe
_MISSING: Any = object()
NO_LIBRARY = ""


def to_jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def dumps(doc: Any, *, pretty: bool = False) -> str:
    """JSON that is safe on a terminal and the same value as json.dumps would give."""
    text = json.dumps(doc, indent=2 if pretty else None, ensure_ascii=False, default=str)
    return json_printable(text)


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Output:
    def __init__(self, json_mode: bool, *, command: str | None = None,
                 library: str | None = None) -> None:
        self.json_mode = json_mode
        self.command = command  # "list", "trajectories export" (default: from the invocation)
        # The library the command works on (default: its --library); NO_LIBRARY for a
        # command about no one library (`daemon list`): null in the envelope.
        self.library = library
        self.warnings: list[str] = []
        self.emitted = False
        self._console: Console | None = None
        self._err: Console | None = None

    # --- consoles ---------------------------------------------------------------------------

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = make_console(sys.stdout)
        return self._console

    @property
    def err(self) -> Console:
        if self._err is None:
            self._err = make_console(sys.stderr)
        return self._err

    # --- results -----------------------------------------------------------------------------

    def emit(self, result: Any, render: Callable[[Console], None] | None = None) -> None:
        """The command's result: the envelope's `result` with --json, else `render(console)`."""
        if self.json_mode:
            self.write_json(self.envelope(ok=True, result=result))
        elif render is not None:
            render(self.console)
        self.emitted = True

    def warn(self, text: str) -> None:
        """A warning: on stderr for people, in the envelope's `warnings` for scripts."""
        self.warnings.append(text)
        if not self.json_mode:
            from rich.markup import escape

            self.err.print(f"[yellow]warning:[/] {escape(text)}")

    def error(self, kind: str, message: str, hint: str | None,
              extra: dict[str, Any] | None = None, *, exit_code: int = 1,
              result: Any = _MISSING) -> None:
        """The command failed: the envelope's `error` with --json (and `result` when part of
        the work was done, e.g. an `add` whose validation failed), else on stderr."""
        if self.json_mode:
            error = {"kind": kind, "message": message, "hint": hint, "exit_code": exit_code,
                     **(extra or {})}
            self.write_json(self.envelope(ok=False, error=error, result=result))
            self.emitted = True
            return
        from rich.markup import escape

        self.err.print(f"[bold red]error:[/] {escape(message)}")
        if hint:
            self.err.print(f"[dim]hint:[/] {escape(hint)}")

    def envelope(self, *, ok: bool, result: Any = _MISSING, error: Any = None
                 ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "command": self.command or invocation_command(),
            "ok": ok,
            "library": self.library_path(),
            "warnings": list(self.warnings),
        }
        if result is not _MISSING:
            doc["result"] = to_jsonable(result)
        if error is not None:
            doc["error"] = error
        return doc

    def library_path(self) -> str | None:
        if self.library == NO_LIBRARY:
            return None
        if self.library is not None:
            return str(self.library)
        from toolforge.library.discovery import resolve_library_path

        try:
            return str(resolve_library_path(invocation_library()))
        except OSError:  # e.g. the working directory is gone
            return None

    # --- raw writes --------------------------------------------------------------------------

    def write_json(self, doc: Any) -> None:
        sys.stdout.write(dumps(doc, pretty=is_terminal(sys.stdout)) + "\n")
        sys.stdout.flush()

    def json_line(self, doc: Any) -> None:
        """One line of a JSON Lines stream (watch, jobs --follow)."""
        sys.stdout.write(dumps(doc) + "\n")
        sys.stdout.flush()

    def text_lines(self, lines: Iterable[str], *, stream: IO[str] | None = None) -> None:
        """Lines of text from elsewhere (a job's log, the daemon's log), escaped."""
        out = stream or sys.stdout
        for line in lines:
            out.write(printable_line(line.rstrip("\n")) + "\n")
        out.flush()


# --- the invocation (set by the entry point: Typer's context or the thin dispatcher) --------


class Invocation:
    """Global options of this process's command: `toolforge -L lib --json --no-daemon CMD`,
    and the command's name and --library once known."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.command: str | None = None
        self.library: str | None = None  # the global -L (a command's own -L wins)
        self.command_library: str | None = None  # the running command's -L
        self.json = False
        self.no_daemon = False
        self.output: Output | None = None  # the running command's


INVOCATION = Invocation()


def _click_context() -> Any:
    """Typer's (click's) current context, if a Typer command is running; never imports it."""
    for name in ("typer._click.globals", "click.globals"):
        module = sys.modules.get(name)
        if module is not None:
            ctx = module.get_current_context(silent=True)
            if ctx is not None:
                return ctx
    return None


def invocation_command() -> str | None:
    if INVOCATION.command:
        return INVOCATION.command
    ctx = _click_context()
    if ctx is None:
        return None
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return " ".join(reversed(names)) or None


def invocation_library() -> str | None:
    """The running command's --library (its own, else the global one), as given."""
    if INVOCATION.command_library:
        return INVOCATION.command_library
    ctx = _click_context()
    if ctx is not None:
        value = ctx.params.get("library")
        if isinstance(value, str | os.PathLike):
            return os.fspath(value)
    return INVOCATION.library


# --- consoles ---------------------------------------------------------------------------------


def make_console(stream: IO[str]) -> Console:
    """A Rich console on `stream` that escapes control characters in everything it renders;
    plain (no colour, no width, no trailing padding) when `stream` is not a terminal."""
    from rich.console import Console

    if is_terminal(stream):
        console = Console(file=stream, highlight=False, soft_wrap=False)
    else:
        console = Console(file=cast(IO[str], _Unpadded(stream)), highlight=False,
                          soft_wrap=False, color_system=None, width=PLAIN_WIDTH, emoji=False)
    console.push_render_hook(cast(Any, _EscapeHook()))  # duck-typed: rich stays lazy
    return console


class _EscapeHook:
    """Rich render hook: everything printed is wrapped in terminal.Escaped."""

    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        return [Escaped(r) for r in renderables]


class _Unpadded:
    """A text stream that drops the spaces Rich pads table rows with at line ends."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        data = self._pending + text
        head, sep, tail = data.rpartition("\n")
        if sep:
            self._stream.write("\n".join(line.rstrip(" ") for line in head.split("\n")) + "\n")
        self._pending = tail
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._pending)
            self._pending = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", "utf-8") or "utf-8"
