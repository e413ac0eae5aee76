"""Rich renderables for the review TUI: pure functions of the service's models.

No textual import: widgets only place these, so what a tab shows can be read (and tested)
here. User content (code, messages, test output) always goes in as `Text`, never markup,
so a `[` in a tool's output cannot restyle the screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from toolforge.service.models import DiffResult, ToolDetail
    from toolforge.validation.report import LayerResult, ValidationReport

SYNTAX_THEME = "monokai"
VERDICT_STYLE = {"passed": "bold green", "failed": "bold red", "error": "bold red",
                 "skipped": "dim", "inconclusive": "bold yellow"}
VERDICT_MARK = {"passed": "✓", "failed": "✗", "error": "✗", "skipped": "·",
                "inconclusive": "?"}
STATUS_STYLE = {"candidate": "bold yellow", "active": "green", "retired": "dim",
                "broken": "bold red", "rejected": "red"}
MAX_OUTPUT_LINES = 30  # of one failing test's output: the rest is in `toolforge validate`


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def age(when: str | None, now: datetime) -> str:
    """A compact relative age: 45s, 12m, 5h, 3d, 6w, 4mo, 2y."""
    moment = parse_time(when)
    if moment is None:
        return "-"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("y", 365 * 86400), ("mo", 30 * 86400), ("w", 7 * 86400),
                       ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def verdict_text(verdict: str | None) -> Text:
    if not verdict:
        return Text("-", style="dim")
    return Text(verdict, style=VERDICT_STYLE.get(verdict, ""))


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def code_view(code: str, *, highlight: Iterable[int] = ()) -> RenderableType:
    if not code.strip():
        return Text("(empty)", style="dim italic")
    return Syntax(code, "python", theme=SYNTAX_THEME, line_numbers=True, word_wrap=True,
                  highlight_lines=set(highlight), background_color="default")


def finding_lines(report: ValidationReport | None, file: str) -> set[int]:
    """Lines of `file` that static findings point at (marked in the Code tab)."""
    if report is None:
        return set()
    return {int(f["line"]) for layer in report.layers for f in layer.findings
            if f.get("file") == file and isinstance(f.get("line"), int)}


# --- the validation report ---------------------------------------------------------------


def report_view(report: ValidationReport | None, *, code: str, tests: str,
                now: datetime) -> RenderableType:
    """Layer by layer: static findings with their code line quoted, failing tests with
    their output, property-attack counterexamples; backend and limits on top."""
    if report is None:
        return Text("No validation report yet: press v to validate.", style="dim italic")
    from toolforge.validation.report import files_hash

    current = files_hash(code, tests) == report.files_hash
    head = Text()
    head.append(report.verdict.upper(), style=VERDICT_STYLE.get(report.verdict, ""))
    head.append(f"  v{report.version} ({report.location})" if report.version else "")
    head.append(f" · {age(report.created_at, now)} ago", style="dim")
    isolation = "isolated" if report.isolated else "NOT isolated"
    head.append(f"\nbackend {report.backend} ({isolation})",
                style="" if report.isolated else "bold yellow")
    if report.tests_total:
        head.append(f" · tests {report.tests_passed}/{report.tests_total}")
    parts: list[RenderableType] = [head]
    if report.limits:
        parts.append(Text("limits " + limits_text(report.limits), style="dim"))
    if not current:
        parts.append(Text("These files changed since this report: press v to revalidate.",
                          style="bold yellow"))
    sources = {"tool.py": code, "test_tool.py": tests} if current else {}
    for layer in report.layers:
        parts.append(_layer_view(layer, sources))
    for warning in report.warnings:
        parts.append(Text(f"! {warning}", style="yellow"))
    return Group(*parts)


def limits_text(limits: dict[str, Any]) -> str:
    names = {"wall_time_s": ("wall", "s"), "cpu_time_s": ("cpu", "s"),
             "memory_mb": ("memory", " MB"), "max_processes": ("processes", ""),
             "max_open_files": ("files", ""), "max_file_size_mb": ("file size", " MB"),
             "max_output_bytes": ("output", "")}
    out = []
    for key, value in limits.items():
        label, unit = names.get(key, (key, ""))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if key == "max_output_bytes" and isinstance(value, int):
            value = _size(value)
        out.append(f"{label} {value}{unit}")
    return " · ".join(out)


def _size(n: int) -> str:
    for unit, size in (("MB", 1_000_000), ("kB", 1000)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"


def _layer_view(layer: LayerResult, sources: dict[str, str]) -> RenderableType:
    style = VERDICT_STYLE.get(layer.verdict, "")
    line = Text()
    line.append(f"{VERDICT_MARK.get(layer.verdict, '?')} {layer.name:<9}", style=style)
    line.append(f"{layer.verdict:<8}", style=style)
    line.append(_layer_summary(layer))
    parts: list[RenderableType] = [line]
    for finding in layer.findings:
        parts.append(_finding_view(finding, sources))
    failed = [t for t in layer.tests if t.get("outcome") != "passed"]
    for test in failed:
        parts.append(_test_view(test))
    for problem in layer.problems:
        parts.append(Text(f"  ! {problem}", style="red"))
    for example in layer.counterexamples:
        parts.append(_counterexample_view(example))
    if layer.limit_hits:
        parts.append(Text("  limits hit: " + ", ".join(layer.limit_hits), style="yellow"))
    return Group(*parts)


def _layer_summary(layer: LayerResult) -> str:
    # Details are listed below the line; the summary line stays short.
    if layer.findings:
        return f"{len(layer.findings)} finding(s)"
    if layer.tests:
        passed = sum(1 for t in layer.tests if t.get("outcome") == "passed")
        return f"{passed}/{len(layer.tests)} passed"
    if layer.counterexamples:
        return f"{len(layer.counterexamples)} counterexample(s)"
    return layer.summary


def _finding_view(finding: dict[str, Any], sources: dict[str, str]) -> RenderableType:
    file, line, col = finding.get("file", "?"), finding.get("line"), finding.get("col")
    where = f"{file}:{line}" + (f":{col}" if col else "")
    head = Text("  ")
    head.append(where, style="bold")
    head.append(f"  {finding.get('code', '')}", style="magenta")
    parts: list[RenderableType] = [head]
    source = sources.get(str(file))
    if source is not None and isinstance(line, int):
        lines = source.splitlines()
        if 1 <= line <= len(lines):
            quoted = Text(f"    {line:>4} │ ", style="dim")
            quoted.append(lines[line - 1], style="on grey23")
            parts.append(quoted)
    parts.append(Text(f"    {finding.get('message', '')}"))
    return Group(*parts)


def _test_view(test: dict[str, Any]) -> RenderableType:
    head = Text("  ✗ ", style="red")
    head.append(f"{test.get('suite', '?')}::{test.get('name', '?')}", style="bold")
    head.append(f"  {test.get('outcome', '')}", style="red")
    parts: list[RenderableType] = [head]
    if test.get("message"):
        parts.append(_indented(str(test["message"]), "    "))
    output = str(test.get("output") or "").rstrip()
    if output:
        parts.append(Text("    output:", style="dim"))
        lines = output.splitlines()
        if len(lines) > MAX_OUTPUT_LINES:
            lines = [*lines[:MAX_OUTPUT_LINES], f"... {len(lines) - MAX_OUTPUT_LINES} more lines"]
        parts.append(_indented("\n".join(lines), "      ", style="italic"))
    return Group(*parts)


def _counterexample_view(example: dict[str, Any]) -> RenderableType:
    warning = example.get("severity") == "warning"
    head = Text("  ! " if warning else "  ✗ ", style="yellow" if warning else "red")
    head.append(str(example.get("kind", "?")) + (" (warning)" if warning else ""),
                style="bold")
    if example.get("args"):
        head.append(f"  args {example.get('args')!r}")
    return Group(head, _indented(str(example.get("detail", "")), "    "))


def _indented(text: str, prefix: str, style: str = "") -> Text:
    return Text("\n".join(prefix + line for line in text.splitlines()), style=style)


# --- provenance and diff ---------------------------------------------------------------------


def provenance_view(detail: ToolDetail, now: datetime) -> RenderableType:
    """Who made it and how: source, models, evidence trajectories, cost, dates."""
    meta = detail.meta
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()

    def row(label: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            table.add_row(label, value if isinstance(value, Text) else Text(str(value)))

    row("tool", f"{detail.tool} v{detail.version} ({detail.status}, {detail.location})")
    row("description", meta.get("description"))
    row("signature", detail.signature or meta.get("signature"))
    for key in ("created_at", "promoted_at", "retired_at"):
        if meta.get(key):
            row(key.replace("_at", ""), f"{meta[key]} ({age(meta[key], now)} ago)")
    prov: dict[str, Any] = dict(meta.get("provenance") or {})
    row("source", prov.pop("source", None))
    models = prov.pop("models", None)
    if isinstance(models, dict):
        row("models", ", ".join(f"{role}: {model}" for role, model in models.items()))
    evidence = prov.pop("evidence", None)
    if isinstance(evidence, list) and evidence:
        row("evidence", Text("\n".join(str(e) for e in evidence)))
    cost, tokens = prov.pop("cost_usd", None), prov.pop("tokens", None)
    if cost is not None or tokens is not None:
        row("cost", f"${float(cost or 0):.4f}" + (f" · {tokens} tokens" if tokens else ""))
    if prov.pop("allow_unisolated", False):
        row("unisolated", Text("promoted without an isolating sandbox", style="bold yellow"))
    for key, value in sorted(prov.items()):
        row(key, value if not isinstance(value, dict | list) else _compact(value))
    validation = meta.get("validation")
    if isinstance(validation, dict):
        row("validation", f"{validation.get('verdict')} · {validation.get('backend')} · tests "
            f"{validation.get('tests_passed')}/{validation.get('tests_total')}")
    if detail.hand_edits:
        row("hand edits", Text("\n".join(detail.hand_edits), style="yellow"))
    if detail.spec_error:
        row("contract", Text(detail.spec_error, style="red"))
    return table


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def diff_view(diff: DiffResult | None, error: str | None) -> RenderableType:
    if diff is None:
        return Text(error or "Nothing to compare.", style="dim italic")
    if not diff.files:
        return Text(f"{diff.a} and {diff.b} are identical.", style="dim italic")
    parts: list[RenderableType] = [Text(f"{diff.a} → {diff.b}", style="bold")]
    for file in diff.files:
        parts.append(Syntax(file.diff.rstrip("\n"), "diff", theme=SYNTAX_THEME,
                            word_wrap=True, background_color="default"))
    return Group(*parts)
