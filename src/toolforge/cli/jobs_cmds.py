"""`toolforge jobs` (the daemon's job queue) and `toolforge watch` (its event stream)."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, daemon_disabled, open_service, run_command
from toolforge.cli.output import Output
from toolforge.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.daemon.models import JobInfo

app = typer.Typer()

STATE_STYLE = {"queued": "dim", "running": "cyan", "succeeded": "green", "failed": "red",
               "cancelled": "yellow"}


@app.command()
def jobs(
    job_id: Annotated[int | None, typer.Argument(help="A job (default: list recent jobs).",
                                                 show_default=False)] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream the job's log until "
                                         "it ends (--json: one JSON object per line).")]
    = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel the job.")] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 20,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Validation jobs run by the daemon: list them, show one, follow or cancel it."""

    def body(out: Output) -> None:
        if (follow or cancel) and job_id is None:
            raise UsageError("--follow and --cancel need a job id", hint="toolforge jobs ID")
        with _job_source(library, live=follow or cancel) as src:
            if job_id is None:
                listing = src.jobs(limit)
                out.emit({"jobs": listing}, lambda c: _job_table(listing, c))
            elif cancel:
                job = src.cancel_job(job_id)
                out.emit(job, lambda c: c.print(f"job {job.id}: {_state(job.state)}"))
            elif follow:
                _follow(src, job_id, out)
            else:
                job = src.job(job_id)
                out.emit(job, lambda c: _job_detail(job, c))

    run_command(json, body)


@app.command()
def watch(
    types: Annotated[list[str] | None, typer.Option(
        "--type", "-t", help="Only these event types (repeatable), e.g. tool_promoted.")]
    = None,
    library: LibraryOpt = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Print library and job events as they happen, until the daemon stops (or Ctrl-C)."""

    def body(out: Output) -> None:
        if daemon_disabled():
            raise UsageError("watch needs the daemon", hint="drop --no-daemon / "
                             "TOOLFORGE_NO_DAEMON")
        with open_service(library) as client:
            try:
                for event in client.events(types):
                    if out.json_mode:
                        out.json_line(event)
                    else:
                        _print_event(event, out.console)
            except KeyboardInterrupt:  # the way out of watching
                return
        if not out.json_mode:
            out.err.print("[dim]the daemon stopped[/]")

    run_command(json, body)


# --- where jobs come from ----------------------------------------------------------------------


class _StoredJobs:
    """With --no-daemon: the finished jobs the daemon recorded (read-only)."""

    def __init__(self, path: Path) -> None:
        from toolforge.daemon.jobstore import JobStore

        self.store = JobStore(path, readonly=True) if path.is_file() else None

    def jobs(self, limit: int) -> list[JobInfo]:
        return self.store.list(limit) if self.store else []

    def job(self, job_id: int) -> JobInfo:
        from toolforge.errors import NotFoundError

        in_range = 0 <= job_id < 2**63  # ids are SQLite integers: larger ones name no job
        job = self.store.get(job_id) if self.store and in_range else None
        if job is None:
            raise NotFoundError(f"no job {job_id}", hint="see `toolforge jobs`")
        return job

    def close(self) -> None:
        if self.store:
            self.store.close()


@contextmanager
def _job_source(library: Path | None, *, live: bool) -> Iterator[Any]:
    if not daemon_disabled():
        with open_service(library) as client:
            yield client
        return
    if live:
        raise UsageError("--follow and --cancel need the daemon",
                         hint="drop --no-daemon / TOOLFORGE_NO_DAEMON")
    from toolforge.daemon.runtime import JOBS_DB
    from toolforge.library.store import STATE_DIR, Library, resolve_library_path

    root = resolve_library_path(library)
    Library.open(root).close()
    src = _StoredJobs(root / STATE_DIR / JOBS_DB)
    try:
        yield src
    finally:
        src.close()


def _follow(client: Any, job_id: int, out: Output) -> None:
    try:
        for line in client.follow_log(job_id):
            if out.json_mode:
                out.json_line({"job": job_id, "line": line})
            else:
                out.text_lines([line])
    except KeyboardInterrupt:  # stops following; the job itself goes on
        return
    job = client.job(job_id)
    if out.json_mode:
        out.json_line(job.model_dump(mode="json", exclude={"log"}))
    else:
        tail = f": {job.error}" if job.error else ""
        out.err.print(f"job {job.id} {_state(job.state)}{tail}")
    if job.state != "succeeded":
        raise typer.Exit(1)


# --- rendering -----------------------------------------------------------------------------------


def _state(state: str) -> str:
    style = STATE_STYLE.get(state, "")
    return f"[{style}]{state}[/]" if style else state


def _job_table(listing: list[JobInfo], console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    from toolforge.terminal import printable_line

    if not listing:
        console.print("[dim]no jobs[/]")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("id", "kind", "tool", "state", "created", "error"):
        table.add_column(col, no_wrap=True)
    for j in listing:
        table.add_row(str(j.id), escape(j.kind), escape(j.tool or "-"), _state(j.state),
                      j.created_at[:19].replace("T", " "),
                      escape(printable_line(j.error or "")))
    console.print(table)


def _job_detail(job: JobInfo, console: Console) -> None:
    from rich.markup import escape

    console.print(f"[bold]job {job.id}[/] {job.kind} {job.tool or ''}  {_state(job.state)}")
    for label, value in (("created", job.created_at), ("started", job.started_at),
                         ("finished", job.finished_at)):
        if value:
            console.print(f"  {label:<9}{value}")
    if job.error:
        console.print(f"  [red]error[/]    {escape(job.error)}")
    if job.result is not None:
        console.print(f"  result   {escape(jsonlib.dumps(job.result))}")
    for line in job.log or []:
        console.print(f"  [dim]|[/] {escape(line)}")


def _print_event(event: dict[str, Any], console: Console) -> None:
    from rich.markup import escape

    kind = event.get("type", "?")
    when = str(event.get("time", ""))[11:19]
    if kind == "subscribed":
        console.print(f"[dim]watching {escape(str(event.get('library')))} "
                      f"(daemon pid {event.get('pid')}); Ctrl-C to stop[/]")
        return
    if "subject" in event:
        detail = f"{event['subject']} ({str(event.get('commit', ''))[:12]})"
    elif kind == "job_log":
        detail = f"job {event.get('job')} | {event.get('line')}"
    elif kind.startswith("job_"):
        detail = f"job {event.get('job')} {event.get('kind', '')} {event.get('tool') or ''}"
        if event.get("state"):
            detail += f" {event['state']}"
        if event.get("error"):
            detail += f": {event['error']}"
    elif kind == "hand_edit":
        detail = f"{event.get('tool')}: {', '.join(event.get('paths', []))}"
    elif kind == "lagged":
        detail = f"missed {event.get('dropped')} events (this terminal is too slow)"
    else:
        detail = ", ".join(f"{k}={v}" for k, v in event.items()
                           if k not in ("id", "type", "time"))
    console.print(f"[dim]{when}[/] [bold]{kind}[/] {escape(detail)}")
