"""`toolforge review`: the terminal UI for reviewing candidates and tools.

Textual is imported inside the command only: importing this module (as `toolforge --help`
does) must stay as light as the rest of the CLI.
"""

from __future__ import annotations

import sys

from toolforge.cli.common import LibraryOpt, daemon_disabled, run_command
from toolforge.cli.output import Output
from toolforge.errors import UsageError


def review(library: LibraryOpt = None) -> None:
    """Review candidates and tools in a terminal UI: code, tests, validation, provenance,
    diff and history; promote, reject, revalidate, revert and retire by key (? for help)."""

    def body(out: Output) -> None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UsageError("toolforge review needs an interactive terminal",
                             hint="use `toolforge list`, `show`, `promote` ... in scripts")
        from toolforge.library.store import Library, resolve_library_path
        from toolforge.tui.app import ReviewApp
        from toolforge.tui.backend import open_backend

        root = resolve_library_path(library)
        Library.open(root).close()  # "not a library" as a plain error, before any UI
        backend, notice = open_backend(root, use_daemon=not daemon_disabled())
        try:
            ReviewApp(backend, notice=notice).run()
        finally:
            backend.close()

    run_command(False, body)
