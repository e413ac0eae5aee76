"""Options every command shares, and the wrapper that runs a command body."""

from __future__ import annotations

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


@contextmanager
def open_service(library: Path | None) -> Iterator[Any]:
    """The library service for this command (in-process; the daemon client plugs in here)."""
    from toolforge.library.store import resolve_library_path
    from toolforge.service.library_service import LibraryService

    svc = LibraryService(resolve_library_path(library))
    try:
        yield svc
    finally:
        svc.close()
