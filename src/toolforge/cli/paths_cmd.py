"""`toolforge paths`: where each kind of state lives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolforge.cli.common import JsonOpt, LibraryOpt, run_command
from toolforge.cli.output import Output

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.config.paths import PathsResult


def paths(library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """Show where the library, its settings and state, the daemon's socket, the logs and
    your user config live (nothing is created)."""

    def body(out: Output) -> None:
        from toolforge.config.paths import state_paths

        result = state_paths(library)
        out.emit(result, lambda c: render(result, c))

    run_command(json, body)


def render(result: PathsResult, console: Console) -> None:
    from rich.text import Text

    from toolforge.cli.doctor_cmd import visible

    status = "" if result.is_library else "  (not a library)"
    console.print(Text(f"library found by: {result.library_found_by}{status}"), soft_wrap=True)
    width = max(len(kind) for kind in result.paths)
    for kind, entry in result.paths.items():
        line = Text(kind.ljust(width + 2), style="bold")
        line.append(visible(entry.path or "-"))
        if entry.path and not entry.exists:
            line.append("  (not there yet)", style="dim")
        line.append(f"  {entry.description}", style="dim")
        console.print(line, soft_wrap=True)
