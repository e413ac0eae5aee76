"""Progress on long work, on stderr, only when stderr is a terminal (never in a pipe, a
log file or a script's captured output).

- `steps`: a spinner saying what runs now; each step that finishes is printed above it
  (validation layers as they finish).
- `counter`: a bar for a known number of items (tools imported by `init --from`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from toolforge.cli.output import Output, is_terminal

Step = Callable[[str], None]
Tick = Callable[[str, int, int], None]  # (what, done, total)


def enabled() -> bool:
    return is_terminal(sys.stderr)


@contextmanager
def steps(out: Output, title: str, *, enabled: bool = True) -> Iterator[Step | None]:
    """A spinner titled `title`; call the yielded function with each finished step. None
    when there is no terminal to show it on."""
    if not (enabled and is_terminal(sys.stderr)):
        yield None
        return
    from rich.markup import escape

    with out.err.status(f"{escape(title)}…") as status:

        def step(line: str) -> None:
            out.err.print(f"  [dim]·[/] {escape(line)}")
            status.update(f"{escape(title)}… [dim](last: {escape(line)})[/]")

        yield step


@contextmanager
def counter(out: Output, title: str) -> Iterator[Tick]:
    """A bar that appears at the first tick (when the total is known)."""
    if not is_terminal(sys.stderr):
        yield _ignore_tick
        return
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=out.err, transient=True) as bar:
        task = None

        def tick(what: str, done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = bar.add_task(escape(title), total=total)
            bar.update(task, completed=done, total=total,
                       description=f"{escape(title)}: {escape(what)}")

        yield tick


def _ignore_tick(_what: str, _done: int, _total: int) -> None:
    pass
