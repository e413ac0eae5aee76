"""`toolforge trials [start|decide|end]`: A/B trials of new tool versions
(docs/evolve.md#ab-trials). In-process: they take the library's writer lock like any
writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, run_command
from toolforge.cli.output import Output

if TYPE_CHECKING:
    from rich.console import Console

    from toolforge.evolve.trials import ArmStats, TrialInfo

trials_app = typer.Typer(name="trials", invoke_without_command=True, rich_markup_mode=None,
                         help="A/B trials: a new version of a tool serves a share of the "
                              "calls until its rewards decide whether it replaces the old.")
NameArg = Annotated[str, typer.Argument(help="The tool (its candidate is the new version).")]


@contextmanager
def _service(library: Path | None) -> Iterator[Any]:
    from toolforge.library.store import resolve_library_path
    from toolforge.service.library_service import LibraryService

    svc = LibraryService(resolve_library_path(library))
    try:
        yield svc
    finally:
        svc.close()


@trials_app.callback()
def trials(ctx: typer.Context, library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """The trials in progress: per arm, runs, mean reward and spread."""
    if ctx.invoked_subcommand is not None:
        return

    def body(out: Output) -> None:
        from toolforge.evolve.trials import list_trials
        from toolforge.library.store import resolve_library_path

        items = list_trials(resolve_library_path(library))
        out.emit({"trials": items}, lambda c: _table(items, c))

    run_command(json, body)


@trials_app.command("start")
def start(
    name: NameArg,
    share: Annotated[float | None, typer.Option(
        "--share", help="Share of the calls for the new version (default: [trials] share "
        "in toolforge.toml, else 0.2).", show_default=False)] = None,
    episodes: Annotated[int | None, typer.Option(
        "--episodes", "-n", help="Runs of the tool (both versions) before deciding "
        "(default: [trials] episodes, else 50).", show_default=False)] = None,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Put a validated candidate on trial against the active version (a commit)."""

    def body(out: Output) -> None:
        from toolforge.evolve.trials import start_trial

        with _service(library) as svc:
            started = start_trial(svc, name, share=share, episodes=episodes)

        def render(c: Console) -> None:
            t = started.trial
            c.print(f"[green]✓[/] {name} v{started.candidate} is on trial against "
                    f"v{t.baseline}: {t.share:.0%} of calls, decided after {t.episodes} "
                    f"episodes ({started.commit[:12]})")

        out.emit(started, render)

    run_command(json, body)


@trials_app.command("decide")
def decide(
    name: NameArg,
    now: Annotated[bool, typer.Option("--now", help="Decide on the runs so far, even before "
                                      "the trial's episodes are in.")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Decide a trial: promote the new version if its rewards are better, else reject it.
    (The daemon decides trials on its own once their episodes are in.)"""

    def body(out: Output) -> None:
        from toolforge.evolve.trials import decide_trial
        from toolforge.library.store import resolve_library_path

        decision = decide_trial(resolve_library_path(library), name, force=now)

        def render(c: Console) -> None:
            from rich.markup import escape

            style = {"promoted": "green", "rejected": "red"}.get(decision.outcome, "yellow")
            c.print(f"[{style}]{decision.outcome}[/] {name}: {escape(decision.reason)}")
            _arms(decision.trial, c)

        out.emit(decision, render)

    run_command(json, body)


@trials_app.command("end")
def end(name: NameArg, library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """Stop a trial without deciding: the new version stays a candidate (a commit)."""

    def body(out: Output) -> None:
        from toolforge.evolve.trials import end_trial

        with _service(library) as svc:
            commit = end_trial(svc, name)
        out.emit({"tool": name, "commit": commit},
                 lambda c: c.print(f"[green]✓[/] ended the trial of {name} ({commit[:12]})"))

    run_command(json, body)


def _arm(a: ArmStats) -> str:
    if a.mean is None:
        return f"v{a.version}: no runs yet"
    return f"v{a.version}: mean {a.mean:.3f} ± {a.std or 0:.3f} over {a.runs} run(s)"


def _arms(t: TrialInfo, c: Console) -> None:
    c.print(f"  [dim]old[/] {_arm(t.baseline)}")
    c.print(f"  [dim]new[/] {_arm(t.candidate)}")
    if t.unattributed or t.mixed:
        c.print(f"  [dim]{t.unattributed} run(s) without versions, {t.mixed} with both[/]")


def _table(items: list[TrialInfo], c: Console) -> None:
    if not items:
        c.print("[dim]no trial in progress (`toolforge trials start NAME`)[/]")
        return
    for t in items:
        state = "[green]due[/]" if t.due else f"{t.done}/{t.episodes} episodes"
        c.print(f"[bold]{t.tool}[/] v{t.candidate.version} vs v{t.baseline.version}: "
                f"{t.share:.0%} of calls, {state} (since {t.started_at})")
        _arms(t, c)
