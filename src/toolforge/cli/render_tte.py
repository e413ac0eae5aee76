"""Rich renderings of TTE results: a solved problem, a run, stats, a prune plan, a
calibration. Model and tool text is escaped (never markup, never terminal control)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.service.tte_service import StatsReport, TteRunSummary
    from toolforge.tte.calibrate import CalibrationReport
    from toolforge.tte.capacity import PrunePlan
    from toolforge.tte.loop import SolveResult, SubGoalOutcome

SOURCE_MARK = {"retrieved": "[green]R[/]", "synthesized": "[cyan]S[/]",
               "duplicate": "[magenta]D[/]", "fallback": "[yellow]F[/]"}


def _text(value: Any, limit: int = 120) -> str:
    try:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        shown = str(value)
    shown = " ".join(shown.split())
    shown = "".join(ch if ch.isprintable() else "?" for ch in shown)
    return escape(shown if len(shown) <= limit else shown[: limit - 1] + "…")


def _verdict(correct: bool | None) -> str:
    if correct is None:
        return "[dim]not scored[/]"
    return "[green]✓ correct[/]" if correct else "[red]✗ wrong[/]"


def solve_result(r: SolveResult, console: Console) -> None:
    console.print(f"[bold]problem[/] {_text(r.problem, 300)}")
    head = f"{len(r.subgoals)} sub-goal{'s' if len(r.subgoals) != 1 else ''}"
    if r.decomposition == "retried":
        head += f" (asked twice: {_text(r.decomposition_errors[0], 100)})"
    elif r.decomposition == "fallback":
        head = ("[yellow]no usable decomposition[/] after a retry "
                f"({_text('; '.join(r.decomposition_errors), 160)}): solved as one step")
    console.print(f"[bold]decomposition[/] {head}")
    for o in r.subgoals:
        _subgoal(o, console)
    expected = "" if r.expected is None else f" [dim](expected {_text(_expected(r.expected))})[/]"
    console.print(f"[bold]answer[/] {_text(r.answer or '-', 300)}  {_verdict(r.correct)}"
                  f"{expected}")
    extras = []
    if r.created:
        extras.append("created " + ", ".join(r.created))
    for s in r.refused:
        extras.append(f"refused {s.new} (duplicate of {s.existing}, similarity {s.score:.2f})")
    if r.pruned:
        extras.append("pruned " + ", ".join(r.pruned))
    for line in extras:
        console.print(f"  [dim]{escape(line)}[/]")
    u = r.usage
    console.print(f"  [dim]{u.calls} model calls, {u.total_tokens} tokens; "
                  f"{r.duration_ms / 1000:.1f} s; trajectory {r.trajectory_id[:12]}[/]")


def _expected(value: Any) -> Any:
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _subgoal(o: SubGoalOutcome, console: Console) -> None:
    sg = o.subgoal
    console.print(f" [bold]{sg.index}.[/] {_text(sg.operation, 200)}"
                  + (f" [dim]{_text(o.inputs, 80)}[/]" if o.inputs else ""))
    best = o.candidates[0] if o.candidates else None
    if o.retrieval == "hit" and best is not None:
        console.print(f"    retrieved [bold]{escape(best.tool)}[/] (score {best.score:.2f})")
    elif o.retrieval in ("miss", "declined"):
        why = "the model found no retrieved tool fitting" if o.retrieval == "declined" else (
            f"no tool above the threshold (best {escape(best.tool)} {best.score:.2f})"
            if best is not None else "the library has no tools")
        console.print(f"    [dim]miss: {why}[/]")
    if o.synthesis is not None:
        s = o.synthesis
        attempts = f"{s.attempts} validation attempt{'s' if s.attempts != 1 else ''}"
        if s.status == "failed":
            console.print(f"    synthesized [bold]{escape(s.tool)}[/]: [red]not verified[/]"
                          f" after {attempts}: {_text(s.reason, 200)}")
        else:
            console.print(f"    synthesized [bold]{escape(s.tool)}[/], verified after "
                          f"{attempts}")
        if s.split and s.split != "atomic":
            console.print(f"      [dim]split: {_text(s.split, 200)}[/]")
        if s.registered:
            verb = "waiting for review" if s.status == "candidate" else "registered"
            console.print(f"      {verb}: {escape(', '.join(s.registered))}")
        for ref in s.refused:
            console.print(f"      [magenta]refused[/] {escape(ref.new)}: a duplicate of "
                          f"[bold]{escape(ref.existing)}[/] (similarity {ref.score:.2f}, "
                          f"behaviour {ref.behaviour_text()}, text {ref.text:.2f})")
    for call in o.calls:
        mark = "[green]→[/]" if call.ok else "[red]✗[/]"
        shown = _text(call.result) if call.ok else f"[red]{_text(call.error)}[/]"
        console.print(f"    {escape(call.tool)}({_text(call.arguments, 80)}) {mark} {shown}")
    if o.fallback:
        console.print(f"    [yellow]plain reasoning[/] [dim]({_text(o.error or '', 160)})[/]"
                      f" → {_text(o.result)}")
    elif not o.ok:
        console.print(f"    [red]failed:[/] {_text(o.error or '', 200)}")


def run_summary(s: TteRunSummary, console: Console) -> None:
    console.print(f"[bold]TTE run[/] {s.run_id[:12]} ({s.mode}) on {escape(s.library)}"
                  + (f" seeded from {escape(s.source_library)}" if s.source_library else ""))
    for w in s.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    if s.transferred:
        console.print(f"  transferred {len(s.transferred)} tool(s): "
                      f"{escape(', '.join(s.transferred))}")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("problem", "group", "steps", "result", "answer"):
        table.add_column(col, no_wrap=col != "answer", overflow="ellipsis")
    for r in s.results:
        steps = " ".join(SOURCE_MARK.get(o.source, "?") for o in r.subgoals)
        table.add_row(escape(r.problem_id), escape(r.group or "-"), steps,
                      _verdict(r.correct), _text(r.answer or "-", 60))
    console.print(table)
    console.print("  [dim]steps: R retrieved, S synthesized, D reused a duplicate's "
                  "original, F plain reasoning[/]")
    _groups(s.groups, console)
    if s.trr is not None:
        _trr(s.trr, console)
    _counts(s.counts, console)
    if s.sizes:
        console.print(f"  library size: {_sizes(s.sizes)}")
    if s.results_file:
        console.print(f"  results written to {escape(s.results_file)}")


def _groups(groups: list[Any], console: Console) -> None:
    for g in groups:
        acc = "-" if g.accuracy is None else f"{g.accuracy:.0%}"
        console.print(f"  group [bold]{escape(g.group)}[/]: {g.correct}/{g.scored} correct "
                      f"({acc}), {g.problems} problem(s)")


def _trr(t: Any, console: Console) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column(f"TRR@k over {t.tools} tool(s)")
    keys = list(t.overall)
    for k in keys:
        table.add_column(f"@{k}", justify="right")

    def row(label: str, values: dict[str, float | None]) -> None:
        table.add_row(label, *("-" if values.get(k) is None else f"{values[k]:.2f}"
                               for k in keys))

    row("all", t.overall)
    if t.evol is not None:
        row(f"evolved ({t.evolved})", t.evol)
    if t.trans is not None:
        row(f"transferred ({t.transferred})", t.trans)
    console.print(table)


def _counts(c: dict[str, int], console: Console) -> None:
    if not c:
        return
    console.print(
        f"  retrieval: {c.get('retrieval_hit', 0)} hit(s), {c.get('retrieval_miss', 0)} "
        f"miss(es), {c.get('retrieval_declined', 0)} declined; synthesized "
        f"{c.get('synthesized', 0)} ({c.get('synthesis_failed', 0)} failed); "
        f"split {c.get('split', 0)} ({c.get('split_refused', 0)} refused); "
        f"dedup refusals {c.get('dedup_refused', 0)}; registered {c.get('registered', 0)}; "
        f"pruned {c.get('pruned', 0)}; fallbacks {c.get('fallback', 0)}; decompositions "
        f"retried {c.get('decomposition_retry', 0)}, abandoned "
        f"{c.get('decomposition_fallback', 0)}")


def _sizes(sizes: list[tuple[str, int]], limit: int = 24) -> str:
    values = [str(n) for _, n in sizes]
    if len(values) > limit:
        values = [*values[:2], "…", *values[-(limit - 3):]]
    return " → ".join(values)


def stats(s: StatsReport, console: Console) -> None:
    scope = f"run {s.run.id[:12]} ({s.run.mode})" if s.run else "all runs"
    sources = ", ".join(f"{n} {k}" for k, n in sorted(s.by_source.items())) or "none"
    console.print(f"[bold]library[/] {escape(s.library)}: {s.active} active tool(s) "
                  f"({escape(sources)}), capacity {s.capacity}"
                  + (f", pinned {escape(', '.join(s.pinned))}" if s.pinned else ""))
    console.print(f"[bold]scope[/] {scope}; hits are successful calls"
                  + (" in that run" if s.run else " by any caller"))
    if s.retrieval == "hybrid":
        console.print(f"  retrieval: hybrid, BM25 + {escape(s.retrieval_model)}")
    elif s.retrieval:
        console.print(f"  [yellow]retrieval: BM25 only[/]: the dense model is "
                      f"{escape(s.retrieval_model)}")
    if s.sizes:
        console.print(f"  library size over time: {_sizes(s.sizes)}")
    _trr(s.trr, console)
    _counts(s.counts, console)
    _groups(s.groups, console)
    if s.runs and not s.run:
        console.print("  recent runs: " + ", ".join(
            f"{r.id[:12]} ({r.mode}, {r.started_at[:19]})" for r in s.runs[:5]))


def prune_plan(plan: PrunePlan, console: Console, *, dry_run: bool,
               retired: list[str] | None = None) -> None:
    console.print(f"{plan.active} active tool(s), capacity {plan.capacity}"
                  + (f"; pinned (exempt): {escape(', '.join(plan.pinned))}" if plan.pinned
                     else ""))
    if not plan.retire:
        console.print("[green]✓[/] within capacity: nothing to prune" if not plan.short_by
                      else f"[yellow]{plan.short_by} over capacity, but every remaining tool "
                      "is pinned[/]")
        return
    verb = "would retire" if dry_run else "retired"
    for item in plan.retire:
        if retired is not None and item.tool not in retired:
            continue
        console.print(f"  {verb} [bold]{escape(item.tool)}[/]: {escape(item.reason)}")
    if plan.short_by:
        console.print(f"  [yellow]still {plan.short_by} over capacity: the rest is pinned[/]")
    if dry_run:
        console.print("  [dim]nothing changed (dry run); retired tools come back with "
                      "`toolforge rollback NAME`[/]")


def calibration(r: CalibrationReport, console: Console) -> None:
    console.print(f"[bold]calibration[/] on {escape(r.pairs_file)} "
                  f"[dim](retrieval: {escape(r.retrieval_mode)})[/]")
    for label, fit in (("tau_ret", r.retrieval), ("tau_dup", r.dedup)):
        if fit is None:
            console.print(f"  {label}: [dim]no labelled pairs with a positive example[/]")
            continue
        console.print(f"  {label} = [bold]{fit.threshold:.3f}[/]  F1 {fit.f1:.3f} "
                      f"(precision {fit.precision:.3f}, recall {fit.recall:.3f}; "
                      f"{fit.pairs} pairs: {fit.tp} TP, {fit.fp} FP, {fit.fn} FN, {fit.tn} TN)")
    wrong = [p for p in r.scored if (p.label and (
        (p.kind == "retrieval" and r.retrieval and p.score < r.retrieval.threshold)
        or (p.kind == "dedup" and r.dedup and p.score < r.dedup.threshold))) or (
        not p.label and ((p.kind == "retrieval" and r.retrieval
                          and p.score >= r.retrieval.threshold)
                         or (p.kind == "dedup" and r.dedup and p.score >= r.dedup.threshold)))]
    for p in wrong[:10]:
        console.print(f"  [yellow]misjudged[/] line {p.line}: {escape(p.what)} scored "
                      f"{p.score:.3f} (labelled {'yes' if p.label else 'no'})")
    if r.saved:
        console.print(f"[green]✓[/] saved to toolforge.toml [dim]({(r.commit or '')[:12]})[/]")
    else:
        console.print("  [dim]not saved: pass --save to write them into toolforge.toml[/]")
