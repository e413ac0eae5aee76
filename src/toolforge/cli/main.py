"""The `toolforge` entry point: the library commands run without building the Typer app.

Scripts and agents call `toolforge list --json` and friends all the time; importing Typer
(and the pydantic it pulls in) would cost more than the work. So an ordinary argument list
for a command declared in cli/library_cmds.py is parsed here, from the same declaration
Typer's command is built from, and run by the same body. Anything else (help, completion,
an unknown or malformed option, every other command) goes to Typer, which knows best how
to explain it.
"""

from __future__ import annotations

import sys

COMPLETION_ENV = "_TOOLFORGE_COMPLETE"


INTERRUPTED = 130


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    code = run_thin(args)
    if code is None:
        from toolforge.cli.app import main as typer_main

        try:
            typer_main(args)
        except SystemExit as exc:
            if exc.code == INTERRUPTED:
                _exit_at_once(INTERRUPTED)
            if _teardown_is_slow() and (exc.code is None or isinstance(exc.code, int)):
                _exit_at_once(exc.code or 0)
            raise
        if _teardown_is_slow():
            _exit_at_once(0)
        return
    if code == INTERRUPTED:
        _exit_at_once(code)
    sys.exit(code)


def _teardown_is_slow() -> bool:
    """Once the model library is loaded, the interpreter's own teardown (freeing its
    hundreds of thousands of objects) takes seconds after the command is done. Skip it
    then, unless another thread still works (its join is part of an orderly exit)."""
    import threading

    return "litellm" in sys.modules and not any(
        t.is_alive() and not t.daemon and t is not threading.main_thread()
        for t in threading.enumerate())


def _exit_at_once(code: int) -> None:
    """Exit now, the command's work done and said. The exit handlers run (they flush
    records and logs), but not the interpreter's teardown, which takes seconds once the
    model library is loaded, nor, for an interrupted command that has given its work
    back, the wait for threads still blocked in a model call (^C must stop `evolve`
    within a second or two)."""
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


def run_thin(args: list[str]) -> int | None:
    """Run a hot command; None when the arguments are for Typer."""
    import os

    if os.environ.get(COMPLETION_ENV):
        return None
    from toolforge.cli import spec

    end = args.index("--") if "--" in args else len(args)
    no_daemon = "--no-daemon" in args[:end]
    if no_daemon:
        args = [a for a in args[:end] if a != "--no-daemon"] + args[end:]
    try:
        found, rest = spec.split_globals(args)
    except spec.BadArgs:
        return None
    if not rest:
        return None
    from toolforge.cli.library_cmds import COMMANDS

    command = next((c for c in COMMANDS if c.name == rest[0]), None)
    if command is None:
        return None
    try:
        values = spec.parse(command, rest[1:])
    except spec.BadArgs:
        return None
    from toolforge.cli.common import execute
    from toolforge.cli.output import INVOCATION

    INVOCATION.reset()
    INVOCATION.command = command.name
    INVOCATION.no_daemon = no_daemon or bool(found.get("no_daemon"))
    INVOCATION.json = bool(found.get("json"))
    INVOCATION.library = found.get("library")
    json_mode = bool(values.pop("json"))
    if values.get("library") is not None:
        INVOCATION.command_library = str(values["library"])
    return execute(json_mode, lambda out: command.body(out, **values), command=command.name)
