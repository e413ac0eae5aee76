"""Rich renderings of service results (pure functions of a result and a console)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.service.models import (
        ActionResult,
        DiffResult,
        HistoryResult,
        ListResult,
        ToolDetail,
    )

STATUS_STYLE = {"active": "green", "candidate": "yellow", "retired": "dim", "broken": "red"}


def list_table(result: ListResult, console: Console) -> None:
    if not result.tools:
        console.print(f"[dim]no tools in {escape(result.library)}[/]")
        console.print("[dim]add one with `toolforge add PATH`[/]")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    name_width = max(len(t.name) for t in result.tools)
    # Rich shrinks every no-wrap column alike when a row is too wide; cutting the
    # description ourselves keeps names and statuses whole and a row on one line.
    desc_width = max(12, console.width - name_width - (7 + 9 + 7 + 7) - 2 * 5)
    for col in ("name", "version", "status", "verdict", "source", "description"):
        table.add_column(col, no_wrap=True)
    for t in result.tools:
        style = STATUS_STYLE.get(t.status, "")
        table.add_row(
            escape(t.name),
            f"v{t.version}" if t.version else "-",
            f"[{style}]{t.status}[/]" if style else t.status,
            t.verdict or "-",
            t.source or "-",
            escape(_cut(t.problem or t.description or "", desc_width)),
        )
    console.print(table)


def action_line(result: ActionResult, console: Console) -> None:
    tags = f" [dim]tag {', '.join(result.tags)}[/]" if result.tags else ""
    console.print(f"[green]✓[/] {escape(result.subject)} [dim]({result.commit[:12]})[/]{tags}")
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")


def tool_detail(d: ToolDetail, console: Console) -> None:
    meta = d.meta
    lines = [
        f"[bold]{escape(d.name)}[/] v{d.version}  "
        f"[{STATUS_STYLE.get(d.status, '')}]{d.status}[/]  [dim]{d.location}/{d.name}[/]",
        escape(str(meta.get("description", ""))),
    ]
    if d.signature:
        lines.append(f"[cyan]{escape(d.signature)}[/]")
    if d.spec_error:
        lines.append(f"[red]contract: {escape(d.spec_error)}[/]")
    prov = meta.get("provenance", {})
    if prov:
        lines.append("provenance: " + ", ".join(f"{k}={v}" for k, v in prov.items()))
    val = meta.get("validation")
    if val:
        lines.append(
            f"validation: {val.get('verdict')} ({val.get('tests_passed')}/{val.get('tests_total')}"
            f" tests, backend {val.get('backend')})"
        )
    if d.has_candidate and d.location == "tools":
        lines.append(f"[yellow]a candidate is waiting: `toolforge diff {d.name}`[/]")
    for edit in d.hand_edits:
        lines.append(f"[yellow]hand edit (uncommitted): {escape(edit)}[/]")
    if d.hand_edits and d.location == "tools":
        lines.append("[yellow]calls run the promoted version (its tag), not these edits: "
                     "validate and promote them to run them[/]")
    console.print(Panel("\n".join(lines), expand=False))
    console.print(Syntax(d.code, "python", line_numbers=True, word_wrap=True))
    if d.tests:
        console.print("[bold]tests[/] (test_tool.py)")
        console.print(Syntax(d.tests, "python", line_numbers=True, word_wrap=True))
    if d.history:
        console.print("[bold]history[/]")
        for h in d.history[:10]:
            console.print(f"  [dim]{h.commit[:12]} {h.date[:19]}[/] {escape(h.subject)}")


VERDICT_STYLE = {"passed": "green", "failed": "red", "skipped": "dim", "error": "red"}


def validation_report(report: dict, console: Console, *, brief: bool = False) -> None:
    """A report layer by layer; `brief` keeps to the verdicts and what failed."""
    verdict = report["verdict"]
    head = (f"[bold]{escape(report['tool'])}[/] validation: "
            f"[{VERDICT_STYLE[verdict]}]{verdict}[/]  [dim]backend {report['backend']}"
            f"{'' if report['isolated'] else ' (NOT isolated)'}, "
            f"{report['duration_ms']:.0f} ms, report {report['id']}[/]")
    console.print(head)
    for warning in report.get("warnings", []):
        console.print(f"  [yellow]warning:[/] {escape(warning)}")
    for layer in report["layers"]:
        style = VERDICT_STYLE.get(layer["verdict"], "")
        console.print(f"  [{style}]{layer['verdict']:>7}[/]  {layer['name']:<9} "
                      f"[dim]{layer['duration_ms']:.0f} ms[/]  {escape(layer['summary'][:300])}")
        for f in layer.get("findings", [])[: 5 if brief else None]:
            console.print(f"           [red]{escape(f['file'])}:{f['line']}:{f['col']}[/] "
                          f"{escape(f['code'])} {escape(f['message'])}")
        if layer["name"] == "tests":
            for t in layer.get("tests", []):
                if brief and t["outcome"] == "passed":
                    continue
                mark = {"passed": "[green]✓[/]", "failed": "[red]✗[/]"}.get(t["outcome"],
                                                                          "[red]![/]")
                console.print(f"           {mark} {escape(t['suite'])}::{escape(t['name'])} "
                              f"[dim]{t['duration_ms']:.0f} ms, {t['tool_calls']} call(s)[/]")
                if t["outcome"] != "passed":
                    for line in (t.get("message") or "").splitlines()[:8]:
                        console.print(f"               {escape(line)}")
                    if not brief and t.get("output"):
                        console.print(f"               [dim]output: {escape(t['output'][:500])}[/]")
            for problem in layer.get("problems", []):
                console.print(f"           [red]problem:[/] {escape(problem)}")
        for c in layer.get("counterexamples", []):
            args = escape(repr(c["args"])[:200])
            console.print(f"           [red]{escape(c['kind'])}[/] with {args}: "
                          f"{escape(c['detail'][:300])}")
        if layer.get("limit_hits"):
            console.print(f"           [yellow]limits hit:[/] {', '.join(layer['limit_hits'])}")
    if not brief:
        limits = report.get("limits") or {}
        console.print("  [dim]limits: " + ", ".join(f"{k}={v}" for k, v in limits.items()) + "[/]")


def history_table(result: HistoryResult, console: Console) -> None:
    if not result.entries:
        console.print("[dim]no history[/]")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    subject_width = max(12, console.width - 12 - 19 - 2 * 2)
    for col in ("commit", "date", "subject"):
        table.add_column(col, no_wrap=True)
    for e in result.entries:
        date = e.date[:19].replace("T", " ")
        table.add_row(e.commit[:12], date, escape(_cut(e.subject, subject_width)))
    console.print(table)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def diff_view(result: DiffResult, console: Console) -> None:
    if not result.files:
        console.print(f"[dim]{result.a} and {result.b} are identical[/]")
        return
    for f in result.files:
        console.print(Syntax(f.diff, "diff", word_wrap=True))
