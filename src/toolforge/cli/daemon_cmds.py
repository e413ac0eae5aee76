"""`toolforge daemon start|stop|status|restart|list|logs`: the library's background service."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, TextIO

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, run_command
from toolforge.cli.output import NO_LIBRARY, Output

app = typer.Typer(help="Run, stop and inspect the library's daemon (one per library).",
                  no_args_is_help=True)


def _root(library: Path | None) -> Path:
    from toolforge.cli.common import forget_daemon_failure, library_root
    from toolforge.library.discovery import require_library

    root = require_library(library_root(library))  # "no library here" before anything else
    forget_daemon_failure(root)  # a command about the daemon tries it again at once
    return root


@app.command()
def start(
    foreground: Annotated[bool, typer.Option(
        "--foreground", help="Serve from this process (logs on stderr too) until stopped.")]
    = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Start the daemon (does nothing if it already runs)."""

    def body(out: Output) -> None:
        root = _root(library)
        if foreground:
            from toolforge.daemon.server import main

            raise typer.Exit(main(["--library", str(root), "--foreground"]))
        from toolforge.daemon import lifecycle
        from toolforge.daemon.client import daemon_mismatch

        result = lifecycle.start(root)
        h = result.health
        if not result.started:  # it runs with what it was started with, not with ours
            for problem in daemon_mismatch(h.model_dump()):
                out.warn(problem)

        def render(c):
            if result.started:
                c.print(f"[green]✓[/] started the daemon (pid {h.pid}) on {h.socket}")
            else:
                c.print(f"the daemon already runs (pid {h.pid}, since {h.started_at})")

        out.emit(result, render)

    run_command(json, body)


@app.command()
def stop(library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """Stop the daemon gracefully (running jobs are cancelled cleanly first)."""

    def body(out: Output) -> None:
        from toolforge.daemon import lifecycle

        result = lifecycle.stop(_root(library))

        def render(c):
            if not result.was_running:
                extra = " (removed a crashed daemon's files)" if result.stale_cleaned else ""
                c.print(f"the daemon is not running{extra}")
            else:
                via = "" if result.how == "shutdown" else f" ({result.how})"
                c.print(f"[green]✓[/] stopped the daemon (pid {result.pid}){via}")

        out.emit(result, render)

    run_command(json, body)


@app.command()
def restart(library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """Stop the daemon if it runs, then start a fresh one."""

    def body(out: Output) -> None:
        from toolforge.daemon import lifecycle

        root = _root(library)
        stopped = lifecycle.stop(root)
        started = lifecycle.start(root)
        h = started.health

        def render(c):
            if stopped.was_running:
                c.print(f"stopped the daemon (pid {stopped.pid})")
            c.print(f"[green]✓[/] started the daemon (pid {h.pid}) on {h.socket}")

        out.emit({"stopped": stopped, "started": started}, render)

    run_command(json, body)


@app.command()
def status(library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """Whether the daemon runs, and where (its status file and health)."""

    def body(out: Output) -> None:
        from toolforge.daemon import lifecycle

        result = lifecycle.status(_root(library))

        def render(c):
            if result.running and result.health is not None:
                h = result.health
                c.print(f"[green]running[/] pid {h.pid}, toolforge {h.version}, "
                        f"since {h.started_at}")
            else:
                c.print("[dim]not running[/]")
                if result.stale_cleaned:
                    pid = result.stale_cleaned.get("pid")
                    c.print(f"removed the files of a daemon that died (pid {pid})")
            c.print(f"library {result.library}")
            c.print(f"socket  {result.socket}")
            c.print(f"log     {result.log}")

        out.emit(result, render)

    run_command(json, body)


@app.command("list")
def list_(json: JsonOpt = False) -> None:
    """Every toolforge daemon of this user, whichever library it serves."""

    def body(out: Output) -> None:
        from toolforge.daemon import lifecycle

        daemons = lifecycle.list_daemons()
        out.library = NO_LIBRARY  # about every library

        def render(c):
            from rich.markup import escape

            if not daemons:
                c.print("[dim]no daemon is running[/]")
                return
            for d in daemons:
                state = "[green]running[/]" if d.running else "[yellow]not answering[/]"
                c.print(f"{state} pid {d.pid}  toolforge {escape(str(d.version))}  since "
                        f"{escape(str(d.started_at))}  {escape(d.library)}")

        out.emit({"daemons": daemons}, render)

    run_command(json, body)


@app.command()
def logs(
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="Lines to show.")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines "
                                         "(--json: one JSON object per line).")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Print the daemon's log (a rotating file beside the library, in .toolforge/).
    Control characters in it are shown escaped."""

    def body(out: Output) -> None:
        from toolforge.daemon.runtime import daemon_paths

        path = daemon_paths(_root(library)).log
        _tail(path, lines, follow, out)

    run_command(json, body)


def _tail(path: Path, n: int, follow: bool, out: Output) -> None:
    from collections import deque

    fh = _open_log(path, wait=follow)
    if fh is None:
        if out.json_mode:
            out.emit({"log": str(path), "lines": []})
        else:
            out.err.print(f"no log yet at {path}")
        return

    def emit(line: str) -> None:
        if out.json_mode:
            out.json_line({"log": str(path), "line": line.rstrip("\n")})
        else:
            out.text_lines([line])

    try:
        last = list(deque(fh, maxlen=n)) if n else []
        if not n:
            fh.seek(0, 2)
        if out.json_mode and not follow:
            out.emit({"log": str(path), "lines": [line.rstrip("\n") for line in last]})
            return
        for line in last:
            emit(line)
        while follow:
            line = fh.readline()
            if line:
                emit(line)
                continue
            time.sleep(0.2)
            if _rotated(path, fh):
                fh.close()
                fh = path.open("r", encoding="utf-8", errors="replace")
    except KeyboardInterrupt:  # the way out of --follow
        pass
    finally:
        fh.close()


def _open_log(path: Path, *, wait: bool) -> TextIO | None:
    while True:
        try:
            return path.open("r", encoding="utf-8", errors="replace")
        except FileNotFoundError:
            if not wait:
                return None
            time.sleep(0.2)


def _rotated(path: Path, fh: TextIO) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    return st.st_ino != os.fstat(fh.fileno()).st_ino or st.st_size < fh.tell()
