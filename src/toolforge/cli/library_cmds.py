"""Commands that manage the library by hand: init, add, list, show, promote, reject, retire,
history, diff, rollback, export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, open_service, run_command
from toolforge.cli.output import Output
from toolforge.errors import UsageError

app = typer.Typer()


@app.command()
def init(
    path: Annotated[Path | None, typer.Argument(help="Where to create it (default ./library).")]
    = None,
    from_dir: Annotated[Path | None, typer.Option(
        "--from", help="Import the tools of a library directory (e.g. the bundled example).",
        show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Create a tool library (a git repository). Safe to run twice."""

    def body(out: Output) -> None:
        from toolforge.library.store import resolve_library_path
        from toolforge.service.library_service import init_library

        target = path.expanduser().resolve() if path else resolve_library_path(None)
        source = from_dir.expanduser().resolve() if from_dir else None
        result = init_library(target, source)

        def render(c):
            from rich.markup import escape

            verb = "created" if result.created else "already a library:"
            c.print(f"[green]✓[/] {verb} {escape(result.library)}")
            for note in result.settings:
                what = ("left out" if note.action == "dropped"
                        else "kept, but not applied")
                c.print(f"[yellow]![/] {escape(note.key)} = {escape(note.value)}: {what} "
                        f"— {escape(note.reason)}")
                if note.fix and note.action == "refused":
                    c.print(f"  [dim]to allow it:[/] {escape(note.fix)}")
            if result.created:
                rel = os.path.relpath(result.library)
                c.print(f"[dim]next:[/] cd {escape(rel)}   [dim](commands use the library "
                        "they run in; or pass --library PATH)[/]")

        out.emit(result, render)

    run_command(json, body)


def _read_presentation(path: Path) -> dict[str, Any]:
    """`title` and `[annotations]` from a tool directory's tool.toml, when it has one."""
    from toolforge.library.incoming import read_optional_source

    if not path.expanduser().is_dir() or path.expanduser().is_symlink():
        return {}
    meta_file = path.expanduser() / "tool.toml"
    text = read_optional_source(meta_file, what="tool.toml")  # no symlinks, capped, UTF-8
    if not text:
        return {}
    from toolforge.library.meta import presentation_from_toml

    title, hints = presentation_from_toml(text, str(meta_file))
    shown: dict[str, Any] = {}
    if title is not None:
        shown["title"] = title
    if hints is not None:
        shown["annotations"] = hints.model_dump(exclude_none=True)
    return shown


@app.command()
def add(
    path: Annotated[Path, typer.Argument(help="tool.py-style file, or a directory with tool.py "
                                              "and optional test_tool.py.")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Tool name (default: the "
                                                                   "function's name).")] = None,
    tests: Annotated[Path | None, typer.Option("--tests", help="Test file (default: "
                                               "test_tool.py / test_<file> beside it).")] = None,
    no_validate: Annotated[bool, typer.Option("--no-validate", help="Add now, validate later "
                                              "(`toolforge validate NAME`).")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Import a hand-written tool as a candidate, and validate it."""

    def body(out: Output) -> None:
        from toolforge.library.incoming import read_tool_input

        # Checked and capped before anything is read or sent (symlinks, FIFOs, devices,
        # oversized or non-UTF-8 files are refused with exit 1).
        code, test_src, origin = read_tool_input(path, tests)
        shown = _read_presentation(path)
        with open_service(library) as svc:
            result = svc.add(code, test_src, name=name, origin=origin,
                             validate=not no_validate, **shown)
        from toolforge.cli.render import action_line, validation_report

        def render(c):
            action_line(result, c)
            report = result.details.get("validation")
            if report:
                validation_report(report, c, brief=True)

        out.emit(result, render)

    run_command(json, body)


@app.command("list")
def list_(
    status: Annotated[str, typer.Option("--status", "-s", help="active|candidate|retired|all")]
    = "all",
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """List the library's tools."""

    def body(out: Output) -> None:
        if status not in ("active", "candidate", "retired", "all"):
            raise UsageError(f"unknown status {status!r}", hint="use active|candidate|retired|all")
        with open_service(library) as svc:
            result = svc.list_tools(status)
        if out.json_mode:
            out.emit(result)
            return
        from toolforge.cli.render import list_table

        out.emit(result, lambda c: list_table(result, c))

    run_command(json, body)


@app.command()
def show(
    name: str,
    version: Annotated[str | None, typer.Option("--version", "-v", help="N, 'active' or "
                                                                         "'candidate'.")] = None,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show a tool: code, tests, metadata, history."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.show(name, version)
        from toolforge.cli.render import tool_detail

        out.emit(result, lambda c: tool_detail(result, c))

    run_command(json, body)


@app.command()
def validate(
    target: Annotated[str, typer.Argument(help="A tool name (its candidate, else the active "
                                               "version) or a path to a tool file/directory.")],
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Validate a tool: contract, static checks, sandboxed tests, property attack."""

    def body(out: Output) -> None:
        from toolforge.library.incoming import read_tool_input

        path = Path(target)
        with open_service(library) as svc:
            if os.path.lexists(path):  # a path (a symlink too: read_tool_input refuses it)
                code, test_src, _ = read_tool_input(path, None)
                report = svc.validate(code=code, tests=test_src)
            else:
                report = svc.validate(target)
        from toolforge.cli.render import validation_report

        data = report.model_dump(mode="json") if hasattr(report, "model_dump") else report
        out.emit(data, lambda c: validation_report(data, c))
        if data["verdict"] != "passed":
            raise typer.Exit(1)

    run_command(json, body)


@app.command()
def promote(
    name: str,
    allow_unisolated: Annotated[bool, typer.Option(
        "--allow-unisolated", help="Accept a validation run without an isolating sandbox "
        "(recorded in the tool's provenance).")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Promote a validated candidate to the next active version."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.promote(name, allow_unisolated=allow_unisolated)
        from toolforge.cli.render import action_line

        out.emit(result, lambda c: action_line(result, c))

    run_command(json, body)


@app.command()
def reject(
    name: str,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (recorded in the commit).")],
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Reject a candidate (it stays in history)."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.reject(name, reason)
        from toolforge.cli.render import action_line

        out.emit(result, lambda c: action_line(result, c))

    run_command(json, body)


@app.command()
def retire(name: str, library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """Retire an active tool (agents stop seeing it; `rollback` brings it back)."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.retire(name)
        from toolforge.cli.render import action_line

        out.emit(result, lambda c: action_line(result, c))

    run_command(json, body)


@app.command()
def history(
    name: Annotated[str | None, typer.Argument(help="A tool (default: the whole library).")]
    = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 50,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Actions, versions and commits, newest first."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.history(name, limit)
        from toolforge.cli.render import history_table

        out.emit(result, lambda c: history_table(result, c))

    run_command(json, body)


@app.command()
def diff(
    name: str,
    a: Annotated[str | None, typer.Argument(help="Version (N, active, candidate).")] = None,
    b: Annotated[str | None, typer.Argument(help="Version (default: the current one).")] = None,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Diff two versions of a tool (default: candidate against active)."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.diff(name, a, b)
        from toolforge.cli.render import diff_view

        out.emit(result, lambda c: diff_view(result, c))

    run_command(json, body)


@app.command()
def rollback(
    name: Annotated[str | None, typer.Argument(help="The tool to roll back.")] = None,
    to: Annotated[int | None, typer.Option("--to", help="Version to restore (default: the "
                                                        "previous one).")] = None,
    library_rev: Annotated[str | None, typer.Option(
        "--library", help="Restore the whole library as it was at this commit (sha, tag, "
        "HEAD~N).", show_default=False)] = None,
    library: Annotated[Path | None, typer.Option(
        "--library-path", "-L", envvar="TOOLFORGE_LIBRARY",
        help="Library path (here --library names a revision).", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Restore an earlier version as a NEW commit (history is never rewritten)."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.rollback(name, to, library_rev)
        from toolforge.cli.render import action_line

        out.emit(result, lambda c: action_line(result, c))

    run_command(json, body)


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", "-f", help="openai | mcp")] = "openai",
    strict: Annotated[bool, typer.Option(
        "--strict", help="openai: OpenAI strict mode (every property required, optional ones "
        "nullable, no additional properties).")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Print the active tools as OpenAI function schemas or MCP tool definitions (JSON):
    the promoted versions agents can call, never uncommitted edits."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.export(format, strict) if strict else svc.export(format)
        if strict:
            loose = [t["function"]["name"] for t in result if not t["function"].get("strict")]
            if loose:
                out.warn(f"no strict form for {', '.join(loose)} (free-form maps, Any or "
                         "tuples in their arguments): exported with \"strict\": false")
        # Export is JSON by nature; --json is accepted for symmetry.
        Output(True).emit(result)

    run_command(json, body)
