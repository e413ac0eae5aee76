"""Commands that run agents and evolve the library: run, evolve, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, run_command
from toolforge.cli.output import Output

app = typer.Typer()


def _evolution_service(library: Path | None, out: Output) -> Any:
    from toolforge.library.store import resolve_library_path
    from toolforge.service.evolution_service import EvolutionService

    def log(message: str) -> None:
        if not out.json_mode:
            from rich.markup import escape

            out.err.print(f"[dim]·[/] {escape(message)}")

    return EvolutionService(resolve_library_path(library), log=log)


@app.command()
def run(
    tasks_file: Annotated[Path, typer.Argument(help="Tasks, one JSON object per line "
                                                    "(docs/tasks.md).")],
    evolve: Annotated[bool, typer.Option("--evolve", help="Run evolution cycles when the "
                                         "triggers fire.")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run the built-in agent over a task file; record trajectories; evolve when triggered."""

    def body(out: Output) -> None:
        from toolforge.evolve.tasks import load_tasks

        tasks = load_tasks(tasks_file)
        evo = _evolution_service(library, out)
        try:
            if out.json_mode:
                summary = evo.run_tasks(tasks, evolve=evolve)
            else:
                from rich.progress import Progress

                with Progress(console=out.err, transient=True) as progress:
                    bar = progress.add_task("running tasks", total=len(tasks))
                    summary = evo.run_tasks(
                        tasks, evolve=evolve,
                        on_result=lambda r: progress.update(
                            bar, advance=1, description=f"task {r.task_id}"))
        finally:
            evo.close()
        from toolforge.cli.render_evolve import run_summary

        data = summary.model_dump(mode="json")
        data["success_rate"] = summary.success_rate
        out.emit(data, lambda c: run_summary(summary, c))

    run_command(json, body)


@app.command()
def evolve(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Analyse and synthesize, but "
                                          "write nothing and consume no failure.")] = False,
    ignore_budget: Annotated[bool, typer.Option(
        "--ignore-budget", help="Run even if the cycle would pass an evolution budget of "
        "the user config ([evolution]).")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run one evolution cycle now over the unhandled failures, and report what it did."""

    def body(out: Output) -> None:
        evo = _evolution_service(library, out)
        try:
            report = evo.evolve(dry_run=dry_run, ignore_budget=ignore_budget)
        finally:
            evo.close()
        from toolforge.cli.render_evolve import cycle_report

        data = report.model_dump(mode="json")
        data["framework_ms"] = report.framework_ms
        out.emit(data, lambda c: cycle_report(report, c))

    run_command(json, body)


@app.command()
def demo(
    library: Annotated[Path, typer.Option("--library", "-L", help="Where to create the demo "
                                          "library (a previous demo library is replaced).")]
    = Path("demo-library"),
    json: JsonOpt = False,
) -> None:
    """The whole loop offline with a SCRIPTED model: failure → gap → candidates →
    validation → promotion → success → rollback."""

    def body(out: Output) -> None:
        from toolforge.demo.run import run_demo

        def say(text: str) -> None:
            if not out.json_mode:
                out.console.print(text)

        def show(kind: str, data: Any) -> None:
            if out.json_mode:
                return
            from toolforge.cli import render, render_evolve

            if kind == "run":
                render_evolve.run_summary(data, out.console)
            elif kind == "cycle":
                render_evolve.cycle_report(data, out.console)
            elif kind == "history":
                render.history_table(data, out.console)
            elif kind == "action":
                render.action_line(data, out.console)

        summary = run_demo(library.expanduser().resolve(), say, show)
        out.emit(summary)

    run_command(json, body)
