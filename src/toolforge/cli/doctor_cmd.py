"""`toolforge doctor`: is this machine and configuration ready; each problem with its fix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, run_command
from toolforge.cli.output import Output

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.doctor.checks import DoctorReport

_MARKS = {"ok": ("✓", "green"), "info": ("·", "dim"), "warn": ("!", "yellow"),
          "error": ("✗", "bold red")}


def doctor(
    offline: Annotated[bool, typer.Option(
        "--offline", help="Do not contact the model's endpoint.")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Check Python, git, the sandbox, the settings, the model and the daemon; print each
    problem with its fix. Exits 1 when something toolforge needs does not work."""

    def body(out: Output) -> None:
        from toolforge.doctor.checks import run_doctor

        report = run_doctor(library, probe_model=not offline)
        out.emit(report, lambda c: render(report, c))
        if not report.ok:
            raise typer.Exit(1)

    run_command(json, body)


def render(report: DoctorReport, console: Console) -> None:
    from rich.text import Text

    width = max(len(c.title) for c in report.checks)
    for check in report.checks:
        mark, style = _MARKS[check.status]
        line = Text()
        line.append(f"{mark} ", style=style)
        line.append(check.title.ljust(width + 2), style="bold")
        line.append(visible(check.summary))
        console.print(line, soft_wrap=True)
        if check.fix and check.status != "ok":
            for i, fix_line in enumerate(check.fix.splitlines()):
                label = "fix: " if i == 0 else "     "
                console.print(Text(" " * (width + 4) + label, style="cyan") + Text(
                    visible(fix_line)), soft_wrap=True)
    if report.ok:
        tail = f"ready ({report.warnings} warning(s))" if report.warnings else "all good"
        console.print(Text(tail, style="green"))
    else:
        console.print(Text(f"{report.errors} problem(s), {report.warnings} warning(s)",
                           style="bold red"))


def visible(text: str) -> str:
    """Control characters (escape sequences from a hostile setting) shown, never obeyed."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape")
                   .decode("ascii") for ch in text)
