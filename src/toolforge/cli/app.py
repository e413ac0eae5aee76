"""The `toolforge` command: a thin client of the service layer.

Start-up stays light: heavy modules (the service, git, pydantic models, Rich renderers)
are imported inside the commands that need them.
"""

from __future__ import annotations

import os

# We use no pydantic plugins; skipping their entry-point scan saves ~18 ms per command.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer
from typer.core import TyperGroup

from toolforge import __version__
from toolforge.cli import (
    daemon_cmds,
    doctor_cmd,
    evolve_cmds,
    jobs_cmds,
    library_cmds,
    paths_cmd,
    review_cmd,
    runtime_cmds,
)
from toolforge.cli.common import set_no_daemon
from toolforge.cli.trajectory_cmds import report, trajectories_app


class RootGroup(TyperGroup):
    """Takes `--no-daemon` wherever it appears (`toolforge --no-daemon list` and
    `toolforge list --no-daemon`), so no command needs its own copy of the option."""

    def parse_args(self, ctx, args):
        end = args.index("--") if "--" in args else len(args)
        found = "--no-daemon" in args[:end]
        set_no_daemon(found)
        if found:
            args = [a for a in args[:end] if a != "--no-daemon"] + args[end:]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=RootGroup,
    name="toolforge",
    help="Create, test, version, review and promote LLM agent tools.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
app.registered_commands.extend(library_cmds.app.registered_commands)
app.registered_commands.extend(jobs_cmds.app.registered_commands)
app.registered_commands.extend(evolve_cmds.app.registered_commands)
app.registered_commands.extend(runtime_cmds.app.registered_commands)
app.add_typer(trajectories_app, name="trajectories")
app.command("review")(review_cmd.review)
app.command("report")(report)
app.add_typer(daemon_cmds.app, name="daemon")
app.command("doctor")(doctor_cmd.doctor)
app.command("paths")(paths_cmd.paths)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"toolforge {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    no_daemon: bool = typer.Option(
        False, "--no-daemon", help="Run in-process instead of through the library's daemon "
        "(also TOOLFORGE_NO_DAEMON=1); accepted after the command too."),
) -> None:
    """Create, test, version, review and promote LLM agent tools."""


def main() -> None:
    app()
