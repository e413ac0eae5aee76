"""The `toolforge` command: a thin client of the service layer.

Start-up stays light: heavy modules (the service, git, pydantic models, Rich renderers)
are imported inside the commands that need them.
"""

from __future__ import annotations

import os

# We use no pydantic plugins; skipping their entry-point scan saves ~18 ms per command.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer

from toolforge import __version__
from toolforge.cli import library_cmds

app = typer.Typer(
    name="toolforge",
    help="Create, test, version, review and promote LLM agent tools.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
app.registered_commands.extend(library_cmds.app.registered_commands)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"toolforge {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Create, test, version, review and promote LLM agent tools."""


def main() -> None:
    app()
