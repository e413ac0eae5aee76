"""Rich renderings of runs and evolution cycles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.evolve.cycle import CycleReport
    from toolforge.service.evolution_service import RunSummary

OUTCOME_STYLE = {"promoted": "green", "candidate": "yellow", "rejected": "red",
                 "refused": "red", "failed": "red"}


def run_summary(summary: RunSummary, console: Console) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("task", "group", "reward", "tools used", "answer"):
        table.add_column(col, no_wrap=col != "answer", overflow="ellipsis")
    for r in summary.results:
        reward = "-" if r.reward is None else f"{r.reward:.2f}"
        style = "green" if r.success else ("red" if r.success is False else "")
        answer = (r.answer or r.error or "").replace("\n", " ")
        table.add_row(escape(r.task_id), escape(r.group or "-"),
                      f"[{style}]{reward}[/]" if style else reward,
                      escape(", ".join(r.tools_used) or "-"), escape(answer[:60]))
    console.print(table)
    for g in summary.groups:
        mean = "-" if g.mean_reward is None else f"{g.mean_reward:.2f}"
        console.print(f"  group [bold]{escape(g.group)}[/]: {g.successes}/{g.tasks} solved, "
                      f"mean reward {mean}")
    for cycle in summary.cycles:
        cycle_report(cycle, console)
    u = summary.usage
    cost = f"${u.cost_usd:.4f}" if u.cost_known else "cost unknown (model not in price table)"
    console.print(f"  [dim]{u.calls} model calls, {u.total_tokens} tokens, {cost}[/]")


def cycle_report(report: CycleReport, console: Console) -> None:
    head = "dry run of an " if report.dry_run else ""
    console.print(f"[bold]{head}evolution cycle[/] {report.cycle_id[:12]} — "
                  f"{escape(report.reason)}")
    if report.error:
        console.print(f"  [red]error:[/] {escape(report.error)}")
    for o in report.outcomes:
        style = OUTCOME_STYLE.get(o.status, "")
        version = f" v{o.version}" if o.version else ""
        attempts = " → ".join(a.verdict for a in o.attempts) or "no attempt"
        console.print(f"  [{style}]{o.status:>9}[/]  [bold]{escape(o.gap.name)}[/]{version}  "
                      f"[dim]attempts: {attempts}[/]")
        if o.reason:
            console.print(f"             {escape(o.reason[:400])}")
    u = report.usage
    cost = f"${u.cost_usd:.4f}" if u.cost_known else "cost unknown"
    console.print(f"  [dim]{u.calls} model calls, {u.total_tokens} tokens, {cost}; "
                  f"{report.duration_ms / 1000:.1f} s total, "
                  f"{report.framework_ms / 1000:.2f} s outside the model[/]")
