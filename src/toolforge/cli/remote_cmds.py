"""`toolforge remote add|list|remove` and `toolforge sync [--read-only]`: a library shared
through a git remote (docs/deploy.md).

These run the service in-process: they take the library's writer lock like any writer, so
they serialise with a running daemon without a round trip through it.
"""

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

    from toolforge.library.remote import SyncResult

remote_app = typer.Typer(name="remote", help="The git remote a library is shared through.",
                         no_args_is_help=True, rich_markup_mode=None)


@contextmanager
def _service(library: Path | None) -> Iterator[Any]:
    from toolforge.library.store import resolve_library_path
    from toolforge.service.library_service import LibraryService

    svc = LibraryService(resolve_library_path(library))
    try:
        yield svc
    finally:
        svc.close()


@remote_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name for the remote, e.g. origin.")],
    url: Annotated[str, typer.Argument(help="Where it is: a URL (https, ssh, git, file) or "
                                            "the path of a bare repository.")],
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Share the library through a git remote: every change is then published to it (a
    compare-and-swap on its branch). `toolforge sync` publishes what exists already."""

    def body(out: Output) -> None:
        with _service(library) as svc:
            before = next((r.name for r in svc.remotes() if r.shared), None)
            info = svc.add_remote(name, url)
        if before is not None and before != info.name:  # one shared remote: this one now
            out.warn(f"{before} is no longer the shared remote: changes are published to "
                     f"{info.name} only")

        def render(c: Console) -> None:
            from rich.markup import escape

            c.print(f"[green]✓[/] added remote [bold]{escape(info.name)}[/] "
                    f"({escape(info.url)}), shared")
            c.print("[dim]run `toolforge sync` to publish the library and fetch others' "
                    "changes[/]")

        out.emit(info, render)

    run_command(json, body)


@remote_app.command("list")
def list_(library: LibraryOpt = None, json: JsonOpt = False) -> None:
    """The library's git remotes; the shared one is marked."""

    def body(out: Output) -> None:
        with _service(library) as svc:
            remotes = svc.remotes()

        def render(c: Console) -> None:
            from rich.markup import escape

            if not remotes:
                c.print("[dim]no remote: `toolforge remote add origin URL` shares the "
                        "library[/]")
            for r in remotes:
                mark = "[green]shared[/]" if r.shared else "[dim]-[/]"
                c.print(f"{escape(r.name):<12} {mark:<8} {escape(r.url)}")

        out.emit({"remotes": remotes}, render)

    run_command(json, body)


@remote_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The remote's name.")],
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Stop sharing through a remote (the remote repository itself is not touched)."""

    def body(out: Output) -> None:
        with _service(library) as svc:
            svc.remove_remote(name)
        out.emit({"removed": name}, lambda c: c.print(f"[green]✓[/] removed remote {name}"))

    run_command(json, body)


def sync(
    read_only: Annotated[bool, typer.Option(
        "--read-only", help="Only move this clone forward to the remote's head (an agent "
        "serving a pinned commit): publishes nothing.")] = False,
    library: LibraryOpt = None,
    json: JsonOpt = False,
) -> None:
    """Fetch the shared remote, put this clone's unpublished changes on top, publish them.
    Changes the remote made to the same tool meanwhile win: ours are parked, never lost."""

    def body(out: Output) -> None:
        with _service(library) as svc:
            result = svc.sync(read_only=read_only)
        out.emit(result, lambda c: _render_sync(result, c))
        if result.parked:
            raise typer.Exit(1)

    run_command(json, body)


def _render_sync(r: SyncResult, c: Console) -> None:
    from rich.markup import escape

    head = (r.head or "-")[:12]
    parts = [f"{r.pulled} commit(s) in"]
    if not r.read_only:
        parts.append(f"{r.pushed} published")
    if r.rebased:
        parts.append(f"{r.rebased} re-applied on the remote's newer head")
    c.print(f"[green]✓[/] synced with {escape(r.remote)}/{escape(r.branch)}: "
            f"{', '.join(parts)}; at {head}")
    for p in r.parked:
        c.print(f"[red]not published:[/] {escape(p.subject)} — {escape(p.reason)}")
        c.print(f"  [dim]kept under {escape(p.ref)}[/]")
    for w in r.warnings:
        c.print(f"[yellow]warning:[/] {escape(w)}")
