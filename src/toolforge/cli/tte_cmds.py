"""Test-time tool evolution commands: solve, tte run, stats, calibrate, prune, pin, unpin."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Any

import typer

from toolforge.cli.common import JsonOpt, LibraryOpt, open_service, run_command
from toolforge.cli.output import Output

app = typer.Typer()
tte_app = typer.Typer(help="Test-time tool evolution over a problem set (docs/tte.md).",
                      no_args_is_help=True)

CapacityOpt = Annotated[int | None, typer.Option(
    "--capacity", "-C", min=1, help="At most this many active tools; the least used past it "
    "are retired (default: the library's capacity).", show_default=False)]
TauRetOpt = Annotated[float | None, typer.Option(
    "--tau-ret", min=0.0, max=1.0, help="Reuse a retrieved tool when its score is at least "
    "this (default: [tte] tau_ret).", show_default=False)]
TauDupOpt = Annotated[float | None, typer.Option(
    "--tau-dup", min=0.0, max=1.0, help="Refuse a new tool as a duplicate at this similarity "
    "(default: [tte] tau_dup).", show_default=False)]
KOpt = Annotated[int | None, typer.Option(
    "--k", min=1, max=50, help="Tools retrieved per sub-goal (default: [tte] top_k).",
    show_default=False)]
AutoPromoteOpt = Annotated[bool, typer.Option(
    "--auto-promote", help='Promote verified tools at once for this run, even when the '
    'library\'s promotion policy is "review" (recorded in their provenance).')]


def _service(library: Path | None, out: Output) -> Any:
    from toolforge.library.store import resolve_library_path
    from toolforge.service.tte_service import TteService

    def log(message: str) -> None:
        if not out.json_mode:
            from rich.markup import escape

            # Progress lines quote tools' and models' text: never let it drive the terminal.
            clean = "".join(ch if ch.isprintable() else "?" for ch in message)
            out.err.print(f"[dim]·[/] {escape(clean)}")

    return TteService(resolve_library_path(library), log=log)


def _options(capacity: int | None, tau_ret: float | None, tau_dup: float | None,
             k: int | None, auto_promote: bool) -> Any:
    from toolforge.service.tte_service import RunOptions

    return RunOptions(capacity=capacity, tau_ret=tau_ret, tau_dup=tau_dup, k=k,
                      auto_promote=auto_promote)


@app.command()
def solve(
    problem: Annotated[str, typer.Argument(help="The problem, in words.")],
    expected: Annotated[str | None, typer.Option(
        "--expected", help="Score the answer: a number (matched within 1%), or a JSON check "
        "(docs/tasks.md).", show_default=False)] = None,
    group: Annotated[str | None, typer.Option("--group", help="A label for stats.")] = None,
    capacity: CapacityOpt = None,
    tau_ret: TauRetOpt = None,
    tau_dup: TauDupOpt = None,
    k: KOpt = None,
    auto_promote: AutoPromoteOpt = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Solve one problem, evolving the library as needed; narrate each sub-goal."""

    def body(out: Output) -> None:
        from toolforge.tte.problems import one_problem

        wanted: Any = None
        if expected is not None:
            try:
                wanted = jsonlib.loads(expected)
            except ValueError:
                wanted = expected
        task = one_problem(problem, wanted, group or None)
        svc = _service(library, out)
        try:
            result = svc.solve(task, options=_options(capacity, tau_ret, tau_dup, k,
                                                      auto_promote))
        finally:
            svc.close()
        from toolforge.cli.render_tte import solve_result

        out.emit(result, lambda c: solve_result(result, c))

    run_command(json, body)


@tte_app.command("run")
def tte_run(
    problems_file: Annotated[Path, typer.Argument(help="Problems, one JSON object per line "
                                                       "(docs/tte.md).")],
    from_library: Annotated[Path | None, typer.Option(
        "--from-library", help="TTE-Adapt: first bring in this library's active tools "
        "(validated; counted as transferred).", show_default=False)] = None,
    capacity: CapacityOpt = None,
    tau_ret: TauRetOpt = None,
    tau_dup: TauDupOpt = None,
    k: KOpt = None,
    auto_promote: AutoPromoteOpt = False,
    out_path: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Results file (default: tte-results-<run>.json here).",
        show_default=False)] = None,
    rel_tol: Annotated[float, typer.Option(
        "--rel-tol", min=0.0, help="Relative tolerance for bare numeric `expected` values.")]
    = 0.01,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Run a problem set (TTE-Zero, or TTE-Adapt with --from-library) with a progress bar;
    score answers that carry `expected`; write a JSON results file."""

    def body(out: Output) -> None:
        from toolforge.tte.problems import load_problems

        tasks = load_problems(problems_file, rel_tol=rel_tol)
        svc = _service(library, out)
        options = _options(capacity, tau_ret, tau_dup, k, auto_promote)
        results: Path | Any = out_path.expanduser() if out_path is not None else (
            lambda run_id: Path(f"tte-results-{run_id[:8]}.json"))
        try:
            if out.json_mode:
                summary = svc.run(tasks, options=options, from_library=from_library,
                                  results_file=results)
            else:
                from rich.progress import Progress

                with Progress(console=out.err, transient=True) as progress:
                    bar = progress.add_task("solving", total=len(tasks))
                    summary = svc.run(
                        tasks, options=options, from_library=from_library,
                        results_file=results,
                        on_result=lambda r: progress.update(
                            bar, advance=1, description=f"problem {r.problem_id}"))
        finally:
            svc.close()
        from toolforge.cli.render_tte import run_summary

        out.emit(summary, lambda c: run_summary(summary, c))

    run_command(json, body)


@app.command()
def stats(
    run: Annotated[str | None, typer.Option("--run", help="One TTE run (id or prefix); hits "
                                            "count only its calls.", show_default=False)]
    = None,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Library size over time, TRR@1/2/5/10 (TRR_evol/TRR_trans when seeded), retrieval
    hits and misses, dedup refusals, prunes, accuracy per group."""

    def body(out: Output) -> None:
        svc = _service(library, out)
        try:
            report = svc.stats(run)
        finally:
            svc.close()
        from toolforge.cli.render_tte import stats as render

        out.emit(report, lambda c: render(report, c))

    run_command(json, body)


@app.command()
def calibrate(
    pairs_file: Annotated[Path, typer.Argument(help="Labelled pairs, JSONL "
                                                    "(docs/tte.md#calibrating-the-thresholds).")],
    save: Annotated[bool, typer.Option("--save", help="Write the fitted tau_ret and tau_dup "
                                       "into toolforge.toml (one commit).")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Fit tau_ret and tau_dup on labelled pairs by maximising F1."""

    def body(out: Output) -> None:
        svc = _service(library, out)
        try:
            report = svc.calibrate(pairs_file, save=save)
        finally:
            svc.close()
        from toolforge.cli.render_tte import calibration

        out.emit(report, lambda c: calibration(report, c))

    run_command(json, body)


@app.command()
def prune(
    capacity: CapacityOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be retired and "
                                          "why; change nothing.")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Retire the least-used tools past capacity (pinned tools are exempt; nothing is
    deleted: `toolforge rollback NAME` restores one)."""

    def body(out: Output) -> None:
        svc = _service(library, out)
        try:
            plan = svc.prune_plan(capacity)
            retired: list[str] = []
            if not dry_run and plan.retire:
                with open_service(library) as lib:
                    for item in plan.retire:
                        lib.retire(item.tool)
                        retired.append(item.tool)
                svc.record_prunes(plan, retired)
        finally:
            svc.close()
        from toolforge.cli.render_tte import prune_plan

        data = {**plan.model_dump(mode="json"), "dry_run": dry_run, "retired": retired}
        out.emit(data, lambda c: prune_plan(plan, c, dry_run=dry_run,
                                            retired=None if dry_run else retired))

    run_command(json, body)


@app.command()
def pin(name: str, library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """Pin a tool: pruning and curation never retire it (stored in its tool.toml)."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.pin(name)
        from toolforge.cli.render import action_line

        out.emit(result, lambda c: action_line(result, c))

    run_command(json, body)


@app.command()
def unpin(name: str, library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """Unpin a tool: it can be pruned again."""

    def body(out: Output) -> None:
        with open_service(library) as svc:
            result = svc.unpin(name)
        from toolforge.cli.render import action_line

        out.emit(result, lambda c: action_line(result, c))

    run_command(json, body)
