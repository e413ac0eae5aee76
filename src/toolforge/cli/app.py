"""The Typer app: every command, with help, shell completion and usage errors.

The entry point (cli/main.py) runs the hot commands without building this; everything
else, and anything unusual (--help, a bad option, completion), comes here. The library
commands are generated from their declarations in cli/library_cmds.py.

Global options go before the command (`toolforge -L lib --json list`) or after it, as the
command's own; `--no-daemon` anywhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

# We use no pydantic plugins; skipping their entry-point scan saves ~18 ms per command.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer
from typer.core import TyperGroup

from toolforge import __version__
from toolforge.cli import (
    curate_cmd,
    cycles_cmds,
    daemon_cmds,
    doctor_cmd,
    evolve_cmds,
    jobs_cmds,
    library_cmds,
    paths_cmd,
    remote_cmds,
    review_cmd,
    runtime_cmds,
    spec,
    trials_cmds,
    tte_cmds,
    typer_build,
)
from toolforge.cli.main import COMPLETION_ENV as COMPLETE_VAR
from toolforge.cli.output import INVOCATION, Output
from toolforge.cli.trajectory_cmds import report, trajectories_app

try:  # Typer >= 0.20 vendors click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older Typer
    from click import exceptions as click_exceptions  # type: ignore[no-redef]


class RootGroup(TyperGroup):
    """Takes the global options before the command and hands them to it (a command's own
    option given after it wins), `--no-daemon` anywhere, and reports usage errors as JSON
    when --json is given."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        INVOCATION.reset()
        INVOCATION.json = _wants_json(argv)
        try:
            rv = super().main(args=argv, prog_name=prog_name or "toolforge",
                              complete_var=complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except click_exceptions.NoArgsIsHelpError as exc:  # `toolforge` alone: the help
            typer.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
            code = 0
        except click_exceptions.UsageError as exc:
            code = usage_error(exc, argv)
        except click_exceptions.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except (typer.Abort, KeyboardInterrupt):
            typer.echo("aborted", err=True)
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        if "--no-daemon" in args[:end]:
            INVOCATION.no_daemon = True
            args = [a for a in args[:end] if a != "--no-daemon"] + args[end:]
        try:
            found, rest = spec.split_globals(args)
        except spec.BadArgs:  # --help, --version, or a mistake: click says which
            return super().parse_args(ctx, args)
        if found.get("library") is not None:
            INVOCATION.library = found["library"]
        INVOCATION.json = INVOCATION.json or bool(found.get("json"))
        return super().parse_args(ctx, self._hand_down(ctx, found, rest))

    def _hand_down(self, ctx: Any, found: dict[str, Any], rest: list[str]) -> list[str]:
        """Global options given before the command, repeated right after its name for a
        command that takes them (its own, later, still win)."""
        cmd: Any = self
        depth = 0
        while depth < len(rest) and hasattr(cmd, "get_command"):
            sub = cmd.get_command(ctx, rest[depth])
            if sub is None:
                break
            cmd, depth = sub, depth + 1
        if cmd is self or hasattr(cmd, "get_command"):
            return rest
        names = {p.name for p in cmd.params}
        inserted: list[str] = []
        if found.get("library") is not None and "library" in names:
            inserted += ["--library", str(found["library"])]
        if found.get("json") and "json" in names:
            inserted.append("--json")
        return [*rest[:depth], *inserted, *rest[depth:]]


def _wants_json(argv: list[str]) -> bool:
    end = argv.index("--") if "--" in argv else len(argv)
    return "--json" in argv[:end]


def _library_in(argv: list[str]) -> str | None:
    """The library an argument list names (for the envelope of a usage error), if any."""
    from toolforge.library.discovery import resolve_library_path

    end = argv.index("--") if "--" in argv else len(argv)
    value = INVOCATION.library
    for i, arg in enumerate(argv[:end]):
        if arg in ("-L", "--library") and i + 1 < end:
            value = argv[i + 1]
        elif arg.startswith("--library="):
            value = arg.split("=", 1)[1]
    try:
        return str(resolve_library_path(value))
    except OSError:
        return None


def usage_error(exc: Any, argv: list[str]) -> int:
    """A usage error: exit 2, as the JSON envelope with --json, else click's message."""
    if not INVOCATION.json:
        exc.show()
        return 2
    ctx = getattr(exc, "ctx", None)
    command = None
    if ctx is not None:
        names = []
        while ctx is not None and ctx.parent is not None:
            names.append(ctx.info_name)
            ctx = ctx.parent
        command = " ".join(reversed(names)) or None
    out = Output(True, command=command, library=_library_in(argv))
    hint = f"see `toolforge {command + ' ' if command else ''}--help`"
    out.error("usage", exc.format_message(), hint, exit_code=2)
    return 2


app = typer.Typer(
    cls=RootGroup,
    name="toolforge",
    help="Create, test, version, review and promote LLM agent tools.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
for command in library_cmds.COMMANDS:
    typer_build.register(app, command)
app.registered_commands.extend(runtime_cmds.app.registered_commands)
app.registered_commands.extend(jobs_cmds.app.registered_commands)
app.registered_commands.extend(evolve_cmds.app.registered_commands)
app.registered_commands.extend(tte_cmds.app.registered_commands)
app.add_typer(tte_cmds.tte_app, name="tte")
app.add_typer(trajectories_app, name="trajectories")
app.command("review")(review_cmd.review)
app.command("report")(report)
app.add_typer(daemon_cmds.app, name="daemon")
app.command("doctor")(doctor_cmd.doctor)
app.command("paths")(paths_cmd.paths)
app.add_typer(remote_cmds.remote_app, name="remote")
app.command("sync")(remote_cmds.sync)
app.command("cycles")(cycles_cmds.cycles)
app.add_typer(trials_cmds.trials_app, name="trials")
app.command("curate")(curate_cmd.curate)


SHELLS = ("bash", "zsh", "fish")


@app.command("completion")
def completion(shell: Annotated[str, typer.Argument(
        help="bash, zsh or fish.", metavar="SHELL")]) -> None:
    """Print the shell completion script (commands, options, the library's tool names):
    `eval "$(toolforge completion bash)"` in ~/.bashrc, or for zsh
    `toolforge completion zsh > "${fpath[1]}/_toolforge"`."""
    if shell not in SHELLS:
        raise typer.BadParameter(f"{shell!r} is not one of {', '.join(SHELLS)}",
                                 param_hint="SHELL")
    from typer._completion_shared import get_completion_script

    typer.echo(get_completion_script(prog_name="toolforge", complete_var=COMPLETE_VAR,
                                     shell=shell))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"toolforge {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    library: typer_build.LibraryOpt = None,
    json: typer_build.JsonOpt = False,
    no_daemon: bool = typer.Option(False, *spec.NO_DAEMON.decls, help=spec.NO_DAEMON.help),
) -> None:
    """Create, test, version, review and promote LLM agent tools."""
    if library is not None:  # only here when parse_args left the options to click
        INVOCATION.library = str(library)
    INVOCATION.json = INVOCATION.json or json
    INVOCATION.no_daemon = INVOCATION.no_daemon or no_daemon


def main(argv: list[str] | None = None) -> None:
    """The Typer side of the entry point (cli/main.py decides when it is needed)."""
    app(args=argv, prog_name="toolforge")
