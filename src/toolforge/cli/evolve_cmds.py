"""Commands that run agents and evolve the library: run, evolve, demo."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from toolforge.cli.common import CommandFailed, JsonOpt, LibraryOpt, run_command
from toolforge.cli.output import Output

app = typer.Typer()


class _Log:
    """Where the evolution service's progress lines go: above a spinner that names the
    current step on a terminal, as plain lines on stderr otherwise (not with --json)."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.step: Callable[[str], None] | None = None  # set while a spinner runs

    def __call__(self, message: str) -> None:
        if self.step is not None:
            self.step(message)
        elif not self.out.json_mode:
            from rich.markup import escape

            self.out.err.print(f"[dim]·[/] {escape(message)}")


@contextmanager
def _interruptible(out: Output) -> Iterator[None]:
    """SIGTERM stops the command like ^C (SIGINT): a cycle in flight gives back what it did
    not finish and is recorded aborted; the command says so in one line and exits 130."""
    import signal
    import threading

    from toolforge.evolve.cycle import CycleInterrupted, Terminated

    def terminate(_signum: int, _frame: Any) -> None:
        raise Terminated("terminated")

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminate) if main else None
    try:
        yield
    except CycleInterrupted as exc:
        out.error("interrupted", exc.message, None, {"cycle": exc.cycle_id,
                                                     "given_back": exc.given_back},
                  exit_code=130)
        raise CommandFailed(130) from None
    finally:
        if main and previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _evolution_service(library: Path | None, log: _Log) -> Any:
    from toolforge.cli.common import library_root
    from toolforge.service.evolution_service import EvolutionService

    return EvolutionService(library_root(library), log=log)


@app.command()
def run(
    tasks_file: Annotated[Path, typer.Argument(help="Tasks, one JSON object per line "
                                                    "(docs/tasks.md).")],
    evolve: Annotated[bool, typer.Option("--evolve", help="Run evolution cycles when the "
                                         "triggers fire.")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run the built-in agent over a task file; record trajectories; evolve when triggered.
    Exits 1 when the model (or the sandbox) failed: that run is recorded as an
    infrastructure error, not as a failed task, and the remaining tasks are not run."""

    def body(out: Output) -> None:
        from toolforge.cli.progress import steps
        from toolforge.evolve.tasks import load_tasks

        tasks = load_tasks(tasks_file)
        log = _Log(out)
        evo = _evolution_service(library, log)
        try:
            # The model library takes seconds to import: do it under a spinner that says
            # so, before the bar, so that the bar moves from its first frame.
            with steps(out, "loading the model client"):
                model = evo.prepare_model("agent")
            with _interruptible(out):
                summary = _run_with_bar(evo, tasks, evolve, model, out, log)
        finally:
            evo.close()
        from toolforge.cli.render_evolve import run_summary

        data = summary.model_dump(mode="json")
        data["success_rate"] = summary.success_rate
        render = lambda c: run_summary(summary, c)  # noqa: E731
        if summary.infrastructure_error is None:
            out.emit(data, render)
            return
        if not out.json_mode:
            render(out.console)
        skipped = f"; {len(summary.not_run)} task(s) not run" if summary.not_run else ""
        out.error("infrastructure",
                  f"the run stopped: {summary.infrastructure_error}{skipped}",
                  "recorded as an infrastructure error, not as a failed task; fix the model "
                  "(or sandbox) setup and run again (`toolforge doctor` checks it)",
                  result=data)
        raise CommandFailed(1)

    run_command(json, body)


def _run_with_bar(evo: Any, tasks: list[Any], evolve: bool, model: str, out: Output,
                  log: _Log) -> Any:
    from toolforge.cli.output import is_terminal

    if not is_terminal(sys.stderr):
        return evo.run_tasks(tasks, evolve=evolve)
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=out.err, transient=True) as progress:
        bar = progress.add_task(f"running {len(tasks)} task(s) with {escape(model)}",
                                total=len(tasks))

        def status(task: Any, text: str) -> None:
            progress.update(bar, description=f"task {escape(str(task.id))}: {escape(text)}")

        def logged(message: str) -> None:  # evolution cycles between tasks
            progress.console.print(f"[dim]·[/] {escape(message)}")
            progress.update(bar, description=f"evolving: {escape(message)}")

        log.step = logged
        try:
            return evo.run_tasks(tasks, evolve=evolve, on_status=status,
                                 on_result=lambda r: progress.update(bar, advance=1))
        finally:
            log.step = None


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
        from toolforge.cli.progress import steps

        log = _Log(out)
        evo = _evolution_service(library, log)
        try:
            with _interruptible(out), steps(out, "evolution cycle") as step:
                log.step = step
                report = evo.evolve(dry_run=dry_run, ignore_budget=ignore_budget)
        finally:
            log.step = None
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
