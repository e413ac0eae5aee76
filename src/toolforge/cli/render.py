"""Rich renderings of service results: pure functions of a result and a console.

Results come as JSON documents (what the daemon sends, what --json prints) or as the
service's models; either is accepted. Text that comes from tools goes in escaped for Rich
markup (`escape`); the console escapes control characters itself (cli/output.py). On a
terminal long cells are cut to its width; elsewhere the console is as wide as the text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from toolforge.cli.output import to_jsonable
from toolforge.terminal import printable_line

if TYPE_CHECKING:
    from rich.console import Console

STATUS_STYLE = {"active": "green", "candidate": "yellow", "retired": "dim", "broken": "red",
                "rejected": "red"}
VERDICT_STYLE = {"passed": "green", "failed": "red", "skipped": "dim", "error": "red",
                 "stale": "yellow", "inconclusive": "yellow"}


def _doc(result: Any) -> Any:
    return to_jsonable(result)


def esc(value: Any) -> str:
    """A value as one line of Rich markup text: control characters and markup escaped."""
    return escape(printable_line(str(value)))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def list_table(result: Any, console: Console) -> None:
    doc = _doc(result)
    tools = doc["tools"]
    if not tools:
        console.print(f"[dim]no tools in {esc(doc['library'])}[/]")
        console.print("[dim]add one with `toolforge add PATH`[/]")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    name_width = max(len(t["tool"]) for t in tools)
    # Rich shrinks every no-wrap column alike when a row is too wide; cutting the
    # description ourselves keeps names and statuses whole and a row on one line.
    desc_width = max(12, console.width - name_width - (7 + 9 + 7 + 7) - 2 * 5)
    for col in ("tool", "version", "status", "verdict", "source", "description"):
        table.add_column(col, no_wrap=True)
    for t in tools:
        style = STATUS_STYLE.get(t["status"], "")
        verdict = t.get("verdict") or "-"
        vstyle = VERDICT_STYLE.get(verdict, "")
        table.add_row(
            esc(t["tool"]),
            f"v{t['version']}" if t.get("version") else "-",
            f"[{style}]{esc(t['status'])}[/]" if style else esc(t["status"]),
            f"[{vstyle}]{esc(verdict)}[/]" if vstyle else esc(verdict),
            esc(t.get("source") or "-"),
            escape(_cut(printable_line(_note(t)), desc_width)),
        )
    console.print(table)
    for edit in doc.get("hand_edits") or ():
        console.print(f"[yellow]hand edit (uncommitted): {esc(edit)}[/]")


def _note(t: dict[str, Any]) -> str:
    if t.get("problem"):
        return str(t["problem"])
    if t.get("status") == "rejected":
        return f"rejected: {t.get('reason') or 'no reason given'}"
    return str(t.get("description") or "")


def action_line(result: Any, console: Console) -> None:
    doc = _doc(result)
    tags = f" [dim]tag {esc(', '.join(doc.get('tags') or []))}[/]" if doc.get("tags") else ""
    console.print(f"[green]✓[/] {esc(doc['subject'])} [dim]({esc(doc['commit'][:12])})[/]"
                  f"{tags}")
    for w in doc.get("warnings") or ():
        console.print(f"[yellow]warning:[/] {esc(w)}")


def tool_detail(result: Any, console: Console) -> None:
    d = _doc(result)
    meta = d.get("meta") or {}
    name = d["tool"]
    lines = [
        f"[bold]{esc(name)}[/] v{esc(d['version'])}  "
        f"[{STATUS_STYLE.get(d['status'], '')}]{esc(d['status'])}[/]  "
        f"[dim]{esc(d['location'])}/{esc(name)}[/]",
        esc(meta.get("description", "")),
    ]
    if d.get("signature"):
        lines.append(f"[cyan]{esc(d['signature'])}[/]")
    if d.get("spec_error"):
        lines.append(f"[red]contract: {esc(d['spec_error'])}[/]")
    prov = meta.get("provenance") or {}
    if prov:
        lines.append("provenance: " + esc(", ".join(f"{k}={v}" for k, v in prov.items())))
    val = meta.get("validation")
    if val:
        lines.append(esc(f"validation: {val.get('verdict')} ({val.get('tests_passed')}/"
                         f"{val.get('tests_total')} tests, backend {val.get('backend')})"))
    if d.get("has_candidate") and d["location"] == "tools":
        lines.append(f"[yellow]a candidate is waiting: `toolforge diff {esc(name)}`[/]")
    for edit in d.get("hand_edits") or ():
        lines.append(f"[yellow]hand edit (uncommitted): {esc(edit)}[/]")
    if d.get("hand_edits") and d["location"] == "tools":
        lines.append("[yellow]calls run the promoted version (its tag), not these edits: "
                     "validate and promote them to run them[/]")
    console.print(Panel("\n".join(lines), expand=False))
    console.print(Syntax(d["code"], "python", line_numbers=True, word_wrap=True))
    if d.get("tests"):
        console.print("[bold]tests[/] (test_tool.py)")
        console.print(Syntax(d["tests"], "python", line_numbers=True, word_wrap=True))
    history = d.get("history") or []
    if history:
        console.print("[bold]history[/]")
        for h in history[:10]:
            console.print(f"  [dim]{esc(h['commit'][:12])} {esc(h['date'][:19])}[/] "
                          f"{esc(h['subject'])}")


def validation_report(report: Any, console: Console, *, brief: bool = False) -> None:
    """A report layer by layer; `brief` keeps to the verdicts and what failed."""
    report = _doc(report)
    verdict = report["verdict"]
    limit = 300 if brief else None
    head = (f"[bold]{esc(report['tool'])}[/] validation: "
            f"[{VERDICT_STYLE.get(verdict, '')}]{esc(verdict)}[/]  [dim]backend "
            f"{esc(report['backend'])}{'' if report['isolated'] else ' (NOT isolated)'}, "
            f"{report['duration_ms']:.0f} ms, report {esc(report['id'])}[/]")
    console.print(head)
    for warning in report.get("warnings", []):
        console.print(f"  [yellow]warning:[/] {esc(warning)}")
    for layer in report["layers"]:
        style = VERDICT_STYLE.get(layer["verdict"], "")
        console.print(f"  [{style}]{esc(layer['verdict']):>7}[/]  {esc(layer['name']):<9} "
                      f"[dim]{layer['duration_ms']:.0f} ms[/]  "
                      f"{esc(layer['summary'][:limit])}")
        for f in layer.get("findings", [])[: 5 if brief else None]:
            console.print(f"           [red]{esc(f['file'])}:{esc(f['line'])}:"
                          f"{esc(f['col'])}[/] {esc(f['code'])} {esc(f['message'])}")
        if layer["name"] == "tests":
            for t in layer.get("tests", []):
                if brief and t["outcome"] == "passed":
                    continue
                mark = {"passed": "[green]✓[/]", "failed": "[red]✗[/]"}.get(t["outcome"],
                                                                          "[red]![/]")
                console.print(f"           {mark} {esc(t['suite'])}::{esc(t['name'])} "
                              f"[dim]{t['duration_ms']:.0f} ms, {t['tool_calls']} call(s)[/]")
                if t["outcome"] != "passed":
                    for line in (t.get("message") or "").splitlines()[:8]:
                        console.print(f"               {esc(line)}")
                    if not brief and t.get("output"):
                        for line in str(t["output"]).splitlines()[:20]:
                            console.print(f"               [dim]output: {esc(line)}[/]")
            for problem in layer.get("problems", []):
                console.print(f"           [red]problem:[/] {esc(problem)}")
        for c in layer.get("counterexamples", []):
            warning = c.get("severity") == "warning"
            if brief and warning:
                continue
            label = f"[yellow]warning {esc(c['kind'])}[/]" if warning else \
                f"[red]{esc(c['kind'])}[/]"
            args = f" with {esc(repr(c['args'])[:200])}" if c.get("args") else ""
            console.print(f"           {label}{args}: {esc(str(c['detail'])[:limit])}")
        if layer.get("limit_hits"):
            console.print(f"           [yellow]limits hit:[/] "
                          f"{esc(', '.join(layer['limit_hits']))}")
    if verdict == "inconclusive":
        console.print("  [yellow]inconclusive: the property attack ran out of time before "
                      "its minimum number of inputs; this is not a pass (promotion refuses "
                      "it). Validate again when the machine is less busy.[/]")
    if not brief:
        limits = report.get("limits") or {}
        console.print("  [dim]limits: " + esc(", ".join(f"{k}={v}" for k, v in limits.items()))
                      + "[/]")


def history_table(result: Any, console: Console) -> None:
    doc = _doc(result)
    entries = doc["entries"]
    if not entries:
        console.print("[dim]no history[/]")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    subject_width = max(12, console.width - 12 - 19 - 2 * 2)
    for col in ("commit", "date", "subject"):
        table.add_column(col, no_wrap=True)
    for e in entries:
        date = e["date"][:19].replace("T", " ")
        table.add_row(esc(e["commit"][:12]), esc(date),
                      escape(_cut(printable_line(e["subject"]), subject_width)))
    console.print(table)


def diff_view(result: Any, console: Console) -> None:
    doc = _doc(result)
    if not doc["files"]:
        console.print(f"[dim]{esc(doc['a'])} and {esc(doc['b'])} are identical[/]")
        return
    for f in doc["files"]:
        console.print(Syntax(f["diff"], "diff", word_wrap=True))
