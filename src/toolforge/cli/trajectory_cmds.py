"""`toolforge trajectories list|show|export` and `toolforge report FILE`.

Trajectories live in the library's SQLite state db, which is safe for concurrent writers,
so these commands run the trajectory service in-process (no daemon round trip).
Heavy imports (service, pydantic models, Rich renderables) happen inside the commands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, cast

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, run_command
from toolforge.cli.output import Output

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.evolve.trajectories import Trajectory
    from toolforge.service.trajectory_service import TrajectoryService

trajectories_app = typer.Typer(
    name="trajectories",
    help="Recorded agent runs: list, show, export (JSONL).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

FailedOpt = Annotated[bool, typer.Option("--failed", help="Only failed runs (reward below "
                                         "the library's reward_threshold).")]
UnhandledOpt = Annotated[bool, typer.Option("--unhandled", help="Only runs no evolution cycle "
                                            "has consumed yet.")]
TaskOpt = Annotated[str | None, typer.Option("--task", help="Only runs of this task id.",
                                             show_default=False)]
GroupOpt = Annotated[str | None, typer.Option("--group", "-g", help="Only runs of this group.",
                                              show_default=False)]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Only runs started at or after "
                                              "this ISO time.", show_default=False)]


QueueOpt = Annotated[str | None, typer.Option(
    "--queue", help="Append the runs to this trajectory log (redis://HOST:PORT/DB) for the "
    "evolution workers, instead of the library's own store (default: [queue] url in the user "
    "config, or TOOLFORGE_QUEUE).", show_default=False)]


@contextmanager
def _service(library: Path | None, queue: str | None = None) -> Iterator[TrajectoryService]:
    from toolforge.library.store import resolve_library_path
    from toolforge.service.trajectory_service import TrajectoryService

    svc = TrajectoryService(resolve_library_path(library), queue=queue)
    try:
        yield svc
    finally:
        svc.close()


def _filters(failed: bool, unhandled: bool, task: str | None, group: str | None,
             since: str | None) -> dict[str, Any]:
    from toolforge.errors import UsageError
    from toolforge.evolve.trajectories import normalize_time

    if since is not None:
        try:
            normalize_time(since)
        except ValueError:
            raise UsageError(f"--since {since!r} is not an ISO time",
                             hint="e.g. 2025-01-31 or 2025-01-31T12:00:00Z")
    return {"failed": True if failed else None, "unhandled": True if unhandled else None,
            "task_id": task, "group": group, "since": since}


@trajectories_app.command("list")
def list_(
    failed: FailedOpt = False,
    unhandled: UnhandledOpt = False,
    task: TaskOpt = None,
    group: GroupOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many, "
                                       "newest first.")] = 50,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """List recorded runs, newest first."""

    def body(out: Output) -> None:
        filters = _filters(failed, unhandled, task, group, since)
        with _service(library) as svc:
            items = svc.list(limit=limit, **filters)
            root = str(svc.root)
        doc = {"library": root, "count": len(items),
               "trajectories": [_summary(t) for t in items]}
        out.emit(doc, lambda c: _list_table(items, c))

    run_command(json, body)


@trajectories_app.command("show")
def show(
    trajectory_id: Annotated[str, typer.Argument(metavar="ID",
                                                 help="A trajectory id or a unique prefix.")],
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show one run: task, steps (tool calls, results, errors), answer vs expected, reward."""

    def body(out: Output) -> None:
        with _service(library) as svc:
            t = svc.get(trajectory_id)
            threshold = svc.reward_threshold
        out.emit(t, lambda c: _detail(t, threshold, c))

    run_command(json, body)


@trajectories_app.command("export")
def export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file "
                                                "(default: stdout).", show_default=False)]
    = None,
    failed: FailedOpt = False,
    unhandled: UnhandledOpt = False,
    task: TaskOpt = None,
    group: GroupOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most this "
                                              "many (default: all).", show_default=False)]
    = None,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Export runs as JSON lines, oldest first (one trajectory per line): that is the
    output, also with --json; with -o FILE and --json, the envelope says what was written."""

    def body(out: Output) -> None:
        filters = _filters(failed, unhandled, task, group, since)
        with _service(library) as svc:
            if output is None:
                svc.export(cast(IO[str], _TerminalSafe(sys.stdout)), limit=limit, **filters)
                sys.stdout.flush()
                return
            tmp = output.with_name(f".{output.name}.tmp")
            try:
                with tmp.open("w", encoding="utf-8") as fh:
                    count = svc.export(fh, limit=limit, **filters)
                tmp.replace(output)  # a reader never sees half an export
            finally:
                tmp.unlink(missing_ok=True)
        from rich.markup import escape

        doc = {"exported": count, "path": str(output.resolve())}
        out.emit(doc, lambda c: c.print(f"[green]✓[/] exported {count} trajectories to "
                                         f"{escape(str(output))}"))

    run_command(json, body)


class _TerminalSafe:
    """A text stream that writes JSON Lines with terminal-driving characters as \\u escapes
    (the same JSON values)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from toolforge.terminal import json_printable

        return self._stream.write(json_printable(text))

    def flush(self) -> None:
        self._stream.flush()


def report(
    file: Annotated[Path, typer.Argument(help="A JSON object, a JSON array, or JSONL (one "
                                         "trajectory per line); - reads stdin.")],
    queue: QueueOpt = None,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Record runs of an agent outside Python (format: docs/tasks.md#reporting-runs).
    All or nothing: if any trajectory is invalid, none is recorded."""

    def body(out: Output) -> None:
        with _service(library, queue) as svc:
            if str(file) == "-":
                recorded = svc.report_text(sys.stdin.read(), "<stdin>")
            else:
                recorded = svc.report_file(file.expanduser())
            root = str(svc.root)
            queued_to = svc.log.name if svc.queued else None
        doc = {
            "library": root,
            "queue": queued_to,
            "recorded": len(recorded),
            "trajectories": [
                {"id": t.id, "task_id": t.task_id, "task": t.task, "reward": t.reward,
                 "success": t.success, "source": t.source}
                for t in recorded
            ],
        }
        if queued_to is None:
            _wake_worker(Path(root), out)
        out.emit(doc, lambda c: _recorded(recorded, c, queued_to))

    run_command(json, body)


def _wake_worker(root: Path, out: Output) -> None:
    """The runs are in the store: the library's daemon (started if none runs, as any
    command does) is the evolution worker; it looks at them now."""
    from toolforge.cli.common import daemon_disabled

    if daemon_disabled():
        return
    from toolforge.daemon.client import connect
    from toolforge.errors import ToolforgeError

    try:
        client = connect(root, warn=out.warn)
        try:
            client.wake_worker()
        finally:
            client.close()
    except ToolforgeError as exc:  # recorded all the same: the worker sees them later
        out.warn(f"the runs are recorded, but the daemon could not be reached to evolve "
                 f"from them now: {exc.message}")


# --- rendering ------------------------------------------------------------------------------


def _summary(t: Trajectory) -> dict[str, Any]:
    doc = t.model_dump(mode="json", exclude={"steps"})
    doc["step_count"] = len(t.steps)
    return doc


def _cut(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def _plain(markup: str) -> str:
    from rich.text import Text

    return Text.from_markup(markup).plain


def _outcome(t: Trajectory) -> str:
    if t.success is True:
        return "[green]ok[/]"
    if t.success is False:
        return "[red]fail[/]"
    return "[dim]-[/]"


def _list_table(items: list[Trajectory], console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not items:
        console.print("[dim]no trajectories match[/]")
        return
    headers = ("id", "started", "group", "reward", "result", "tools")
    rows = [
        (t.id[:12], t.started_at[5:16].replace("T", " "), t.group or "-",
         f"{t.reward:.2f}" if t.reward is not None else "-",
         "[yellow]handled[/]" if t.handled_by else _outcome(t), str(len(t.tools_used)))
        for t in items
    ]
    # Rich shrinks every column alike when a row is too wide; cutting the task text
    # ourselves keeps ids and numbers whole and a row on one line.
    widths = [max(len(h), *(len(_plain(r[i]) if i == 4 else r[i]) for r in rows))
              for i, h in enumerate(headers)]
    task_width = max(12, console.width - sum(widths) - 2 * len(headers))
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in (*headers, "task"):
        table.add_column(col, no_wrap=True)
    for t, row in zip(items, rows, strict=True):
        table.add_row(*(escape(c) if i in (0, 2) else c for i, c in enumerate(row)),
                      escape(_cut(t.task, task_width)))
    console.print(table)


def _value(value: Any, width: int = 300) -> str:
    import json as json_

    if isinstance(value, str):
        return _cut(value, width)
    try:
        text = json_.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return _cut(text, width)


def _detail(t: Trajectory, threshold: float, console: Console) -> None:
    from rich.markup import escape

    head = f"[bold]trajectory {t.id}[/]  {_outcome(t)}"
    if t.handled_by:
        head += f"  [dim]handled by cycle {t.handled_by[:12]}[/]"
    console.print(head)
    facts = [
        ("task id", t.task_id), ("group", t.group), ("started", t.started_at),
        ("source", t.source), ("model", t.model),
        ("time", f"{t.duration_ms / 1000:.2f} s"),
        ("tokens", f"{t.prompt_tokens} prompt + {t.completion_tokens} completion"
                   + (f", ${t.cost_usd:.4f}" if t.cost_usd else "")),
        ("tools offered", ", ".join(t.tools_offered) or None),
        ("tools used", ", ".join(t.tools_used) or None),
    ]
    for label, value in facts:
        if value:
            console.print(f"[dim]{label:>13}:[/] {escape(str(value))}")
    console.print("\n[bold]task[/]")
    console.print(escape(t.task))
    console.print(f"\n[bold]steps[/] ({len(t.steps)})")
    if not t.steps:
        console.print("[dim]  none[/]")
    for s in t.steps:
        took = f" [dim]{s.duration_ms:.0f} ms[/]" if s.duration_ms else ""
        if s.kind == "tool_call":
            args = escape(_value(s.arguments or {}, 200))
            console.print(f"  {s.index:>2}. [cyan]{escape(s.tool or '?')}[/]({args}){took}")
            if s.error:
                console.print(f"      [red]error: {escape(_cut(s.error, 300))}[/]")
            else:
                console.print(f"      → {escape(_value(s.result))}")
        elif s.kind == "error":
            console.print(f"  {s.index:>2}. [red]error: {escape(_cut(s.error or '', 300))}[/]"
                          f"{took}")
        else:
            console.print(f"  {s.index:>2}. [dim]message:[/] {escape(_value(s.result))}{took}")
    console.print("\n[bold]answer[/]")
    console.print(escape(t.final_answer) if t.final_answer is not None else "[dim]none[/]")
    if t.expected is not None:
        console.print(f"[bold]expected[/] {escape(_value(t.expected))}")
    if t.error:
        console.print(f"[red]error: {escape(t.error)}[/]")
    reward = f"{t.reward:.3f}" if t.reward is not None else "none"
    console.print(f"\n[bold]reward[/] {reward} [dim](failure below {threshold:g})[/]")


def _recorded(items: list[Trajectory], console: Console, queue: str | None = None) -> None:
    from rich.markup import escape

    noun = "trajectory" if len(items) == 1 else "trajectories"
    if queue:
        console.print(f"[green]✓[/] queued {len(items)} {noun} to {escape(queue)}")
    else:
        console.print(f"[green]✓[/] recorded {len(items)} {noun}")
    for t in items:
        reward = f"{t.reward:.2f}" if t.reward is not None else "-"
        console.print(f"  {t.id[:12]}  reward {reward:>4}  {_outcome(t)}  "
                      f"{escape(_cut(t.task, 60))}")
