"""`toolforge review`: the terminal UI for reviewing candidates and tools.

Textual is imported inside the command only: importing this module (as `toolforge --help`
does) must stay as light as the rest of the CLI.
"""

from __future__ import annotations

import sys

from toolforge.cli.common import JsonOpt, LibraryOpt, daemon_disabled, run_command
from toolforge.cli.output import Output
from toolforge.errors import UsageError


def review(library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """Review candidates and tools in a terminal UI: code, tests, validation, provenance,
    diff and history; promote, reject, revalidate, revert and retire by key (? for help).
    Interactive only: --json is a usage error (scripts use list, show, promote ...)."""

    def body(out: Output) -> None:
        if out.json_mode:
            raise UsageError("toolforge review is interactive and has no JSON output",
                             hint="use `toolforge list --json`, `show`, `promote` ... in "
                             "scripts")
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UsageError("toolforge review needs an interactive terminal",
                             hint="use `toolforge list`, `show`, `promote` ... in scripts")
        from toolforge.cli.common import library_root
        from toolforge.library.discovery import require_library
        from toolforge.tui.app import ReviewApp
        from toolforge.tui.backend import open_backend

        root = require_library(library_root(library))  # a plain error, before any UI
        backend, notice = open_backend(root, use_daemon=not daemon_disabled())
        try:
            ReviewApp(backend, notice=notice).run()
        finally:
            backend.close()

    run_command(json, body)
