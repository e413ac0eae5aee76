"""Commands that use the library's tools: call, usage, mcp."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, open_service, run_command
from toolforge.cli.output import Output
from toolforge.errors import UsageError
from toolforge.terminal import json_printable, printable

app = typer.Typer()

SessionOpt = Annotated[str | None, typer.Option(
    "--session", envvar="TOOLFORGE_SESSION", show_default=False,
    help="A session id kept with the call in the usage records (also TOOLFORGE_SESSION).")]


@app.command()
def call(
    name: Annotated[str, typer.Argument(help="The tool to call.")],
    args: Annotated[str | None, typer.Option(
        "--args", help="Arguments as one JSON object; `-` reads it from stdin, @FILE from a "
        "file.", show_default=False)] = None,
    arg: Annotated[list[str] | None, typer.Option(
        "--arg", "-a", help="One argument as key=value (the value is read as JSON when it "
        "parses, else as a string); repeatable, and wins over --args.",
        show_default=False)] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=0.001, help="A shorter wall-time limit (seconds) for this call.",
        show_default=False)] = None,
    session: SessionOpt = None,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Call an active tool: its promoted code runs in the sandbox; exit 1 when it fails."""

    def body(out: Output) -> None:
        arguments = parse_arguments(args, arg or [])
        with open_service(library) as svc:
            result = svc.call_tool(name, arguments, caller="cli", session=session,
                                   timeout_s=timeout)
        if out.json_mode:
            if result.ok:
                out.emit(result)
            else:  # the envelope's ok is the exit code's: a failed call is an error
                error = result.error
                out.error(error.kind if error else "exception", result.error_text(),
                          error.hint if error else None, result=result)
        else:
            for warning in result.warnings:
                out.warn(visible(warning))
            if result.ok:
                out.emit(result, lambda c: c.out(value_text(result.value), highlight=False))
            else:
                _print_failure(out, result)
        if not result.ok:
            raise typer.Exit(1)

    run_command(json, body)


def parse_arguments(args: str | None, pairs: list[str]) -> dict[str, Any]:
    """--args JSON (or -, @FILE) merged with -a key=value pairs."""
    import json

    arguments: dict[str, Any] = {}
    if args is not None:
        text = args
        if args == "-":
            text = sys.stdin.read()
        elif args.startswith("@"):
            try:
                text = Path(args[1:]).expanduser().read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"cannot read {args[1:]}: {exc}")
        try:
            parsed = json.loads(text)
        except RecursionError:
            raise UsageError("--args is nested too deeply",
                             hint="arguments are plain JSON values of the tool's schema")
        except ValueError as exc:
            raise UsageError(f"--args is not valid JSON: {exc}",
                             hint='pass an object, e.g. --args \'{"text": "abc"}\'')
        if not isinstance(parsed, dict):
            raise UsageError("--args must be a JSON object of named arguments",
                             hint='e.g. --args \'{"text": "abc"}\'')
        arguments.update(parsed)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-a takes key=value, got {pair!r}", hint="e.g. -a text=abc")
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            value = raw  # not JSON (or not JSON worth reading): the text itself
        arguments[key.strip()] = value
    return arguments


def value_text(value: Any) -> str:
    """A result for a terminal or a pipe: plain text as is, anything else as JSON."""
    import json

    if isinstance(value, str) and _plain(value):
        return value
    # JSON escapes C0 controls itself; json_printable the rest (C1, bidi, lone surrogates).
    return json_printable(json.dumps(value, indent=2, ensure_ascii=False))


def _plain(text: str) -> bool:
    return all(ch.isprintable() or ch in "\n\t" for ch in text)


def visible(text: str) -> str:
    """Tool-made text with control characters shown as escapes, so it cannot drive the
    terminal (a tool's message is untrusted): terminal.printable."""
    return printable(text)


def _print_failure(out: Output, result: Any) -> None:
    from rich.markup import escape

    error = result.error
    err = out.err
    err.print(f"[bold red]error:[/] {escape(visible(result.error_text()))}")
    if error.hint:
        err.print(f"[dim]hint:[/] {escape(visible(error.hint))}")
    if error.traceback:
        err.print(f"[dim]{escape(visible(error.traceback))}[/]")
    if result.stdout:
        err.print(f"[dim]output: {escape(visible(result.stdout[:2000]))}[/]")


@app.command()
def usage(
    name: Annotated[str | None, typer.Argument(help="One tool (default: all).")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only calls since a duration ago (90s, 30m, 12h, 7d, 2w) or a date "
        "(2025-01-31, 2025-01-31T08:00).", show_default=False)] = None,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Tool calls per tool and version: hits, error rate, p50/p99 latency, callers."""

    def body(out: Output) -> None:
        after = parse_since(since) if since else None
        with open_service(library) as svc:
            report = svc.usage(name, after)
        out.emit(report, lambda c: _usage_table(report, c))

    run_command(json, body)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$")
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str) -> float:
    """Unix time from `7d`-style durations (before now) or ISO dates (local time unless
    they name a zone)."""
    from datetime import datetime

    match = _DURATION.match(text)
    if match:
        return time.time() - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise UsageError(f"--since {text!r} is neither a duration nor a date",
                         hint="e.g. --since 7d, --since 12h, --since 2025-01-31")


def _usage_table(report: Any, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not report.tools:
        since = f" since {report.since}" if report.since else ""
        console.print(f"[dim]no tool calls recorded{since}[/]")
        return
    from toolforge.names import MAX_NAME_LENGTH

    table = Table(box=None, pad_edge=False, header_style="bold")
    # Names nobody has (a client's typo or junk, up to 200 characters) are recorded too;
    # past the longest real name and version they are cut, so the table stays a table.
    table.add_column("tool", no_wrap=True, overflow="ellipsis",
                     max_width=MAX_NAME_LENGTH + len(" (unknown)"))
    for col in ("calls", "errors", "p50 ms", "p99 ms"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("last call", no_wrap=True)
    table.add_column("callers")
    for row in report.tools:
        version = f" v{row.version}" if row.version else " (unknown)"
        errors = f"{row.errors} ({row.error_rate:.0%})" if row.errors else "0"
        callers = ", ".join(f"{k} {v}" for k, v in sorted(row.callers.items()))
        table.add_row(escape(visible(row.tool)) + version, str(row.calls), errors,
                      f"{row.p50_ms:.1f}", f"{row.p99_ms:.1f}",
                      row.last_at.replace("T", " ")[:16], escape(callers))
    console.print(table)


@app.command()
def mcp(
    transport: Annotated[str, typer.Option(
        "--transport", "-t", help="stdio (for Claude Desktop, Cursor, VS Code) or http "
        "(streamable HTTP).")] = "stdio",
    host: Annotated[str, typer.Option("--host", help="http: address to listen on.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535,
                                      help="http: port (0 picks a free one).")] = 8848,
    socket: Annotated[Path | None, typer.Option(
        "--socket", help="http: listen on this Unix socket instead of a TCP port.",
        show_default=False)] = None,
    discover: Annotated[bool, typer.Option(
        "--discover", help="Serve two tools, find_tools(query, k) and call_tool(name, "
        "arguments), instead of the whole library (for large libraries).")] = False,
    report_runs: Annotated[bool, typer.Option(
        "--report-runs", help="Also offer report_run(task, answer, reward|success): the "
        "agent reports each finished task, and the session's tool calls become the run's "
        "steps (a trajectory the library evolves from).")] = False,
    session: SessionOpt = None,
    library: LibraryOpt = None,
) -> None:
    """Serve the library's active tools over the Model Context Protocol."""

    def body(out: Output) -> None:
        if transport not in ("stdio", "http"):
            raise UsageError(f"unknown transport {transport!r}", hint="use stdio or http")
        if socket is not None and transport != "http":
            raise UsageError("--socket needs --transport http")
        from toolforge.library.store import resolve_library_path
        from toolforge.mcp_server.serve import ServeOptions, serve

        serve(ServeOptions(root=resolve_library_path(library), transport=transport,
                           host=host, port=port, socket=socket, discover=discover,
                           session=session, report_runs=report_runs),
              say=lambda text: out.err.print(text, markup=False, highlight=False,
                                             soft_wrap=True))

    run_command(False, body)
