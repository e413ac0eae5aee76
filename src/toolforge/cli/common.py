"""Options every command shares, and the wrapper that runs a command body."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from toolforge.cli.errors import handle_error
from toolforge.cli.output import Output

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]
LibraryOpt = Annotated[
    Path | None,
    typer.Option(
        "--library",
        "-L",
        envvar="TOOLFORGE_LIBRARY",
        help="Library path (default: the current directory if it is a library, else ./library).",
        show_default=False,
    ),
]


def run_command(json_mode: bool, body: Callable[[Output], Any]) -> None:
    """Run `body`, mapping any error to the documented exit code."""
    out = Output(json_mode)
    try:
        body(out)
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        out.error("interrupted", "interrupted", None)
        raise typer.Exit(130)
    except Exception as exc:
        raise typer.Exit(handle_error(exc, out))


NO_DAEMON_ENV = "TOOLFORGE_NO_DAEMON"
_no_daemon_flag = False


def set_no_daemon(value: bool) -> None:
    """Set by the root command's `--no-daemon` for this invocation."""
    global _no_daemon_flag
    _no_daemon_flag = value


def daemon_disabled() -> bool:
    env = os.environ.get(NO_DAEMON_ENV, "").strip().lower()
    return _no_daemon_flag or env not in ("", "0", "false", "no")


@contextmanager
def open_service(library: Path | None) -> Iterator[Any]:
    """The library service for this command: the library's daemon (started on demand), or
    with --no-daemon / TOOLFORGE_NO_DAEMON=1 the same service in-process, under the same
    lock. Both have the same methods, results and errors."""
    from toolforge.library.store import resolve_library_path

    root = resolve_library_path(library)
    svc: Any
    if daemon_disabled():
        from toolforge.service.library_service import LibraryService

        svc = LibraryService(root)
    else:
        from toolforge.daemon.client import connect

        svc = connect(root, warn=Output(json_mode=False).warn)
    try:
        yield svc
    finally:
        svc.close()
