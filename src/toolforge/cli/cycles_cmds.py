"""`toolforge cycles [ID]`: what evolution did and is doing (docs/evolve.md#cycles).

Read from the library's state files in-process: it answers whether or not a daemon runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, run_command
from toolforge.cli.output import Output

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.deploy.cycles import CycleRow, CyclesOverview

STATE_STYLE = {"idle": "green", "cycle": "cyan", "paused": "bold red", "budget": "yellow",
               "no_model": "yellow", "disabled": "dim", "queue_down": "bold red",
               "stopped": "dim", "starting": "cyan"}
OUTCOME_STYLE = {"promoted": "green", "candidate": "yellow", "rejected": "red",
                 "refused": "red", "failed": "red", "trial": "cyan"}


def cycles(
    cycle_id: Annotated[str | None, typer.Argument(
        metavar="[ID]", help="One cycle (an id or a unique prefix) in detail.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many "
                                       "cycles, newest first.")] = 20,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Evolution cycles: why each ran, the gaps it found, what became of them, what it
    cost; and what the background worker is doing now (paused, over budget, ...)."""

    def body(out: Output) -> None:
        from toolforge.deploy.cycles import cycles_overview
        from toolforge.library.store import resolve_library_path

        root = resolve_library_path(library)
        overview = cycles_overview(root, limit=500 if cycle_id else limit)
        if cycle_id is not None:
            row = _one(overview, cycle_id)
            out.emit(row, lambda c: _detail(row, c))
            return
        out.emit(overview, lambda c: _render(overview, c))

    run_command(json, body)


def _one(overview: CyclesOverview, key: str) -> CycleRow:
    from toolforge.errors import NotFoundError, UsageError

    found = [r for r in overview.cycles if r.id.startswith(key.strip())] if key.strip() else []
    if not found:
        raise NotFoundError(f"no evolution cycle {key!r}", hint="see `toolforge cycles`")
    if len(found) > 1:
        raise UsageError(f"{key!r} matches {len(found)} cycles",
                         hint="give more characters of the id")
    return found[0]


def _cost(row: CycleRow) -> str:
    usd = f"${row.cost_usd:.4f}" if row.cost_known else "$?"
    return f"{row.tokens:,} tok {usd}"


def _render(o: CyclesOverview, c: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    w = o.worker
    if w is None:
        c.print("[dim]worker: no daemon has run here yet (`toolforge daemon start`)[/]")
    else:
        style = STATE_STYLE.get(w.state, "")
        c.print(f"worker: [{style}]{w.state}[/] — {escape(w.detail or '-')}")
        if w.queue is not None:
            q = w.queue
            c.print(f"  [dim]queue {escape(q.name)} as {escape(q.consumer)}: {q.held} held, "
                    f"{q.acked} acknowledged, {q.taken_over} taken over, {q.rejected} "
                    "rejected[/]")
        for warning in w.warnings[-3:]:
            c.print(f"  [yellow]warning:[/] {escape(warning)}")
    budget = o.budget or {}
    spent = {s["window"]: s for s in budget.get("spent", [])}
    if spent:
        hour, day = spent.get("hour", {}), spent.get("day", {})
        c.print(f"spent: {hour.get('tokens', 0):,} tokens ${hour.get('usd', 0):.4f} and "
                f"{hour.get('cycles', 0)} cycle(s) this hour; {day.get('tokens', 0):,} "
                f"tokens ${day.get('usd', 0):.4f} today"
                + ("" if budget.get("ok", True) else
                   f" — [yellow]next cycle blocked: {escape(budget.get('reason', ''))}[/]"))
    if not o.cycles:
        c.print("[dim]no evolution cycle yet[/]")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("cycle", "started", "status", "runs", "outcomes", "cost", "reason"):
        table.add_column(col, no_wrap=col != "reason", overflow="ellipsis")
    for r in o.cycles:
        outcomes = ", ".join(f"[{OUTCOME_STYLE.get(s, '')}]{n} {s}[/]"
                             for s, n in sorted(r.outcomes.items())) or (
            f"[red]{escape((r.error or '-')[:60])}[/]" if r.error else "-")
        status = {"done": "[green]done[/]", "failed": "[red]failed[/]",
                  "running": "[cyan]running[/]", "aborted": "[yellow]aborted[/]"
                  }.get(r.status, escape(r.status))
        table.add_row(r.id[:12], r.started_at[5:16].replace("T", " "), status,
                      str(r.failures), outcomes, _cost(r), escape(r.reason))
    c.print(table)


def _detail(r: CycleRow, c: Console) -> None:
    from rich.markup import escape

    c.print(f"[bold]cycle {r.id}[/] ({r.status})")
    c.print(f"[dim]      reason:[/] {escape(r.reason)}")
    c.print(f"[dim]     started:[/] {r.started_at}" + (f", finished {r.finished_at}"
                                                       if r.finished_at else ""))
    c.print(f"[dim]        runs:[/] {r.failures} failed run(s) consumed"
            + (" (an aborted cycle gave the rest back)" if r.status == "aborted" else ""))
    c.print(f"[dim]        cost:[/] {r.model_calls} model call(s), {_cost(r)}"
            + (f", {r.duration_ms / 1000:.1f} s" if r.duration_ms else ""))
    if r.error:
        c.print(f"[red]       error:[/] {escape(r.error)}")
    c.print(f"[dim]        gaps:[/] {escape(', '.join(r.gaps) or 'none')}")
    for t in r.tools:
        style = OUTCOME_STYLE.get(t.status, "")
        version = f" v{t.version}" if t.version else ""
        c.print(f"  [{style}]{t.status:>9}[/]  [bold]{escape(t.tool)}[/]{version}"
                + (f"  [dim]{escape(t.reason[:300])}[/]" if t.reason else ""))
