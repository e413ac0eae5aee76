"""`toolforge curate [--dry-run]`: mark unused tools stale, retire long-unused ones
(docs/library.md#curation). In-process, under the library's writer lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, run_command
from toolforge.cli.output import Output

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.evolve.curator import CurationPlan


def curate(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; change "
                                          "nothing.")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Usage-driven lifecycle: tools unused for [curator] stale_after_days are marked stale,
    those unused for retire_after_days retired (archived, never deleted). Pinned tools and
    tools other tools or task files name are exempt."""

    def body(out: Output) -> None:
        from toolforge.evolve.curator import curate as run
        from toolforge.library.store import resolve_library_path

        plan = run(resolve_library_path(library), dry_run=dry_run)
        out.emit(plan, lambda c: _render(plan, c))

    run_command(json, body)


def _render(p: CurationPlan, c: Console) -> None:
    from rich.markup import escape

    head = "plan" if p.dry_run else "curated"
    c.print(f"[bold]{head}[/] (stale after {p.stale_after_days:g} days unused, retired "
            f"after {p.retire_after_days:g})")
    if p.blind:
        c.print(f"[yellow]nothing to do:[/] {escape(p.blind)}")
    styles = {"retire": "red", "stale": "yellow", "fresh": "green"}
    for item in p.changes:
        verb = {"retire": "retire", "stale": "mark stale", "fresh": "unmark"}[item.action]
        c.print(f"  [{styles[item.action]}]{verb:>10}[/]  [bold]{escape(item.tool)}[/] "
                f"v{item.version}  [dim]{escape(item.reason)}[/]")
    for tool, why in sorted(p.exempt.items()):
        c.print(f"  [dim]{'exempt':>10}  {escape(tool)}: {escape(why)}[/]")
    if not p.changes and not p.blind:
        c.print("  [dim]every active tool is in use[/]")
    if p.commit:
        c.print(f"[green]✓[/] one commit: {p.commit[:12]}")
    elif p.dry_run and p.changes:
        c.print("[dim]run without --dry-run to apply it (one commit)[/]")
