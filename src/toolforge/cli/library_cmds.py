"""Commands that manage the library by hand: init, add, list, show, validate, promote,
reject, retire, history, diff, rollback, export.

These are the CLI's hot path (scripts and agents call them all the time), so they are
declared as `spec.Command`s, without Typer: the thin dispatcher runs them directly, and the
Typer app (help, completion, usage errors) is generated from the same declarations. Bodies
ask the service for plain JSON documents (no pydantic on the daemon path) and render them
with cli/render.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toolforge.cli.common import CommandFailed, library_root, open_service
from toolforge.cli.output import Output
from toolforge.cli.spec import Command, Param
from toolforge.errors import NotFoundError, ToolforgeError

STATUSES = ("active", "candidate", "retired", "all", "rejected")
NAME = Param("name", metavar="NAME", required=True, complete="tool", help="The tool.")


# --- init ------------------------------------------------------------------------------------


def init_body(out: Output, path: Path | None, from_dir: Path | None,
              library: Path | None) -> None:
    from toolforge.service.library_service import init_library

    target = path.expanduser().resolve() if path else library_root(library)
    out.library = str(target)
    source = from_dir.expanduser().resolve() if from_dir else None
    from toolforge.cli.progress import counter

    with counter(out, "importing tools") as tick:
        result = init_library(target, source, progress=tick)

    def render(c: Any) -> None:
        from rich.markup import escape

        verb = "created" if result.created else "already a library:"
        c.print(f"[green]✓[/] {verb} {escape(result.library)}")
        if result.imported:
            c.print(f"  imported {escape(', '.join(result.imported))}")
        for line in result.skipped:
            c.print(f"  [dim]skipped {escape(line)}[/]")
        for note in result.settings:
            what = "left out" if note.action == "dropped" else "kept, but not applied"
            c.print(f"[yellow]![/] {escape(note.key)} = {escape(note.value)}: {what} "
                    f"— {escape(note.reason)}")
            if note.fix and note.action == "refused":
                c.print(f"  [dim]to allow it:[/] {escape(note.fix)}")
        if result.created:
            import os

            rel = os.path.relpath(result.library)
            c.print(f"[dim]next:[/] cd {escape(rel)}   [dim](commands use the library they "
                    "run in; or pass --library PATH)[/]")

    out.emit(result, render)


INIT = Command(
    "init",
    "Create a tool library (a git repository). Safe to run twice: with --from, a second "
    "run imports only what is not there yet.",
    init_body,
    (Param("path", metavar="PATH", kind=Path,
           help="Where to create it (default: --library, else ./library)."),
     Param("from_dir", ("--from",), kind=Path, metavar="DIR",
           help="Import the tools of a library directory (e.g. the bundled example).")),
)


# --- add -------------------------------------------------------------------------------------


def _read_tool_input(path: Path, tests: Path | None) -> tuple[str, str, str]:
    """(code, tests, origin): checked and capped before anything is read or sent (symlinks,
    FIFOs, devices, oversized or non-UTF-8 files are refused with exit 1)."""
    from toolforge.library.incoming import read_tool_input

    return read_tool_input(path, tests)


def _read_presentation(path: Path) -> dict[str, Any]:
    """`title` and `[annotations]` from a tool directory's tool.toml, when it has one."""
    from toolforge.library.incoming import read_optional_source

    path = path.expanduser()
    if not path.is_dir() or path.is_symlink():
        return {}
    meta_file = path / "tool.toml"
    text = read_optional_source(meta_file, what="tool.toml")
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


def add_body(out: Output, path: Path, name: str | None, tests: Path | None, no_validate: bool,
             allow_failed: bool, library: Path | None) -> None:
    code, test_src, origin = _read_tool_input(path, tests)
    shown = _read_presentation(path)
    from toolforge.cli.progress import steps

    with open_service(library, documents=True) as svc, \
            steps(out, f"validating {name or path.name}", enabled=not no_validate) as log:
        result = _add(svc, code, test_src, name, origin, not no_validate, log, shown)
    report = result.get("details", {}).get("validation")
    failed = report is not None and report.get("verdict") != "passed"

    def show(c: Any) -> None:
        view("action_line", result)(c)
        if report:
            view("validation_report", report, brief=True)(c)

    if not failed or allow_failed:
        out.emit(result, show)
        return
    if not out.json_mode:
        show(out.console)
    out.error("validation_failed",
              f"added candidate {result['tool']} v{result['version']}, but it failed "
              "validation",
              f"fix it and add it again; `toolforge validate {result['tool']}` shows why "
              "(--allow-failed exits 0 for a failing candidate)",
              result=result)
    raise CommandFailed(1)


def _add(svc: Any, code: str, tests: str, name: str | None, origin: str, validate: bool,
         log: Any, shown: dict[str, Any]) -> Any:
    """add, then validate with progress (the daemon runs both; progress needs the second
    call to be ours)."""
    result = svc.add(code, tests, name=name, origin=origin, validate=False, **shown)
    if not validate:
        return result
    report = svc.validate(result["tool"], log=log)
    result.setdefault("details", {})["validation"] = report
    if report.get("verdict") != "passed":
        summary = "; ".join(f"{layer['name']}: {layer['summary']}"
                            for layer in report.get("layers", [])
                            if layer.get("verdict") in ("failed", "error"))
        result.setdefault("warnings", []).append(f"validation failed: {summary or 'failed'}")
    return result


ADD = Command(
    "add",
    "Import a hand-written tool as a candidate, and validate it. Exits 1 when the "
    "validation fails (the candidate stays; --allow-failed exits 0).",
    add_body,
    (Param("path", metavar="PATH", kind=Path, required=True,
           help="tool.py-style file, or a directory with tool.py and optional test_tool.py."),
     Param("name", ("--name", "-n"), help="Tool name (default: the function's name)."),
     Param("tests", ("--tests",), kind=Path, metavar="FILE",
           help="Test file (default: test_tool.py / test_<file> beside it)."),
     Param("no_validate", ("--no-validate",), kind=bool, default=False,
           help="Add now, validate later (`toolforge validate NAME`)."),
     Param("allow_failed", ("--allow-failed",), kind=bool, default=False,
           help="Exit 0 even when the new candidate fails validation.")),
)


# --- reads -----------------------------------------------------------------------------------


def view(renderer: str, doc: Any, **options: Any) -> Callable[[Any], None]:
    """A text rendering of `doc` by cli/render.py's `renderer`, which (with Rich) is only
    imported when text is printed: --json never pays for it."""

    def draw(console: Any) -> None:
        from toolforge.cli import render

        getattr(render, renderer)(doc, console, **options)

    return draw


def list_body(out: Output, status: str, library: Path | None) -> None:
    with open_service(library, documents=True) as svc:
        doc = svc.list_tools(status)
    for warning in doc.get("warnings") or ():
        out.warn(warning)
    out.emit(doc, view("list_table", doc))


LIST = Command(
    "list", "List the library's tools.", list_body,
    (Param("status", ("--status", "-s"), default="all", choices=STATUSES,
           help="Which tools: active, candidate, retired, all (those three), or rejected "
           "(candidates rejected in the past, from the history)."),),
)


def show_body(out: Output, name: str, version: str | None, library: Path | None) -> None:
    with open_service(library, documents=True) as svc:
        doc = svc.show(name, version)
    out.emit(doc, view("tool_detail", doc))


SHOW = Command(
    "show", "Show a tool: code, tests, metadata, history.", show_body,
    (NAME, Param("version", ("--version", "-v"), metavar="VERSION",
                 help="N, 'active', 'candidate' or 'rejected' (its last rejected "
                 "candidate).")),
)


def history_body(out: Output, name: str | None, limit: int, library: Path | None) -> None:
    with open_service(library, documents=True) as svc:
        doc = svc.history(name, limit)
    out.emit(doc, view("history_table", doc))


HISTORY = Command(
    "history", "Actions, versions and commits, newest first.", history_body,
    (Param("name", metavar="NAME", complete="tool",
           help="A tool (default: the whole library)."),
     Param("limit", ("--limit", "-n"), kind=int, default=50, min=1,
           help="At most this many entries.")),
)


def diff_body(out: Output, name: str, a: str | None, b: str | None,
              library: Path | None) -> None:
    with open_service(library, documents=True) as svc:
        doc = svc.diff(name, a, b)
    out.emit(doc, view("diff_view", doc))


DIFF = Command(
    "diff", "Diff two versions of a tool (default: candidate against active).", diff_body,
    (NAME,
     Param("a", metavar="A", help="Version (N, active, candidate)."),
     Param("b", metavar="B", help="Version (default: the current one).")),
)


def export_body(out: Output, format: str, strict: bool, library: Path | None) -> None:
    with open_service(library, documents=True) as svc:
        tools = svc.export(format, strict) if strict else svc.export(format)
    if strict:
        loose = [t["function"]["name"] for t in tools if not t["function"].get("strict")]
        if loose:
            out.warn(f"no strict form for {', '.join(loose)} (free-form maps, Any or "
                     "tuples in their arguments): exported with \"strict\": false")
    if out.json_mode:
        out.emit({"format": format, "tools": tools})
        return
    # Without --json: the definitions themselves, as an agent framework reads them.
    out.write_json(tools)


EXPORT = Command(
    "export",
    "Print the active tools as OpenAI function schemas or MCP tool definitions (JSON): the "
    "promoted versions agents can call, never uncommitted edits. With --json, the same "
    "inside the envelope: result.format, result.tools.",
    export_body,
    (Param("format", ("--format", "-f"), default="openai", choices=("openai", "mcp"),
           help="openai | mcp"),
     Param("strict", ("--strict",), kind=bool, default=False,
           help="openai: OpenAI strict mode (every property required, optional ones "
           "nullable, no additional properties).")),
)


# --- validate --------------------------------------------------------------------------------


def _is_path_syntax(target: str) -> bool:
    """A target written as a path (never a bare tool name): it has a separator, starts with
    . or ~, or names a .py file."""
    return "/" in target or target.startswith((".", "~")) or target.endswith(".py")


def validate_body(out: Output, target: str, library: Path | None) -> None:
    from toolforge.cli.progress import steps

    if _is_path_syntax(target):
        path = Path(target).expanduser()
        if not os.path.lexists(path):  # a dangling symlink is refused by the reader
            raise NotFoundError(f"no such file: {target}")
        code, test_src, _ = _read_tool_input(path, None)
        title = f"validating {target}"
        with open_service(library, documents=True) as svc, steps(out, title) as log:
            report = svc.validate(code=code, tests=test_src, log=log)
    else:
        with open_service(library, documents=True) as svc, \
                steps(out, f"validating {target}") as log:
            try:
                report = svc.validate(target, log=log)
            except (NotFoundError, ToolforgeError) as exc:
                if Path(target).exists() and exc.kind in ("not_found", "invalid_name"):
                    exc.hint = (f"{target} is read as a tool name; to validate the file or "
                                f"directory, write ./{target}")
                raise
    if report["verdict"] == "passed":
        out.emit(report, view("validation_report", report))
        return
    if not out.json_mode:
        view("validation_report", report)(out.console)
    out.error("validation_failed", f"{report['tool']} failed validation",
              "the report above says which layer failed and why", result=report)
    raise CommandFailed(1)


VALIDATE = Command(
    "validate",
    "Validate a tool: contract, static checks, sandboxed tests, property attack. Exits 1 "
    "when it fails.",
    validate_body,
    (Param("target", metavar="TARGET", required=True, complete="tool",
           help="A tool name (its candidate, else the active version), or a tool file or "
           "directory written as a path (./NAME, dir/, tool.py)."),),
)


# --- mutations -------------------------------------------------------------------------------


def _action(out: Output, result: dict[str, Any]) -> None:
    out.emit(result, view("action_line", result))


def promote_body(out: Output, name: str, allow_unisolated: bool, library: Path | None) -> None:
    with open_service(library, documents=True) as svc:
        _action(out, svc.promote(name, allow_unisolated=allow_unisolated))


PROMOTE = Command(
    "promote", "Promote a validated candidate to the next active version.", promote_body,
    (NAME,
     Param("allow_unisolated", ("--allow-unisolated",), kind=bool, default=False,
           help="Accept a validation run without an isolating sandbox (recorded in the "
           "tool's provenance).")),
)


def reject_body(out: Output, name: str, reason: str, library: Path | None) -> None:
    with open_service(library, documents=True) as svc:
        _action(out, svc.reject(name, reason))


REJECT = Command(
    "reject", "Reject a candidate (it stays in history).", reject_body,
    (NAME, Param("reason", ("--reason", "-r"), metavar="TEXT", required=True,
                 help="Why (recorded in the commit).")),
)


def retire_body(out: Output, name: str, library: Path | None) -> None:
    with open_service(library, documents=True) as svc:
        _action(out, svc.retire(name))


RETIRE = Command(
    "retire", "Retire an active tool (agents stop seeing it; `rollback` brings it back).",
    retire_body, (NAME,),
)


def rollback_body(out: Output, name: str | None, to: str | None, commit: str | None,
                  library: Path | None) -> None:
    from toolforge.names import validate_version

    version = None if to is None else validate_version(to)  # ① or 5000 digits: exit 1
    with open_service(library, documents=True) as svc:
        _action(out, svc.rollback(name, version, commit))


ROLLBACK = Command(
    "rollback",
    "Restore an earlier version as a NEW commit (history is never rewritten): a tool's "
    "previous version (or --to N), or with --commit the whole library as it was then.",
    rollback_body,
    (Param("name", metavar="NAME", complete="tool", help="The tool to roll back."),
     Param("to", ("--to",), metavar="N",
           help="Version to restore (default: the previous one)."),
     Param("commit", ("--commit",), metavar="REV",
           help="Restore the whole library as it was at this commit (sha, tag, HEAD~N).")),
)


# In the order `toolforge --help` lists them.
COMMANDS = (INIT, ADD, LIST, SHOW, VALIDATE, PROMOTE, REJECT, RETIRE, HISTORY, DIFF,
            ROLLBACK, EXPORT)
