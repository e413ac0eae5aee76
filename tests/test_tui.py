"""`toolforge review` driven with Textual's pilot against a real library and a real daemon
(its own process on a Unix socket): every action by key, errors, live updates, reconnects.
Screens at 80x24, the size the TUI must be usable at."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from conftest import PYTHON, git, make_tests, make_tool, run_cli, write_tool_dir
from toolforge.daemon import client as client_mod
from toolforge.daemon.client import connect
from toolforge.daemon.runtime import daemon_paths, lock_held, read_status
from toolforge.tui.app import ReviewApp
from toolforge.tui.backend import DaemonBackend, LocalBackend
from toolforge.tui.screens.confirm import ConfirmScreen
from toolforge.tui.screens.help import HelpScreen
from toolforge.tui.screens.main import MainScreen
from toolforge.tui.screens.reason import ReasonScreen
from toolforge.tui.screens.version import VersionScreen

pytestmark = pytest.mark.timeout(120)
SIZE = (80, 24)


# --- fixtures and helpers ----------------------------------------------------------------------


def stop_daemon(root: Path) -> None:
    """Shut the library's daemon down; kill it if it does not go within a few seconds."""
    paths = daemon_paths(root)
    client = client_mod.DaemonClient(root)
    try:
        if client.try_health() is not None:
            client.shutdown()
    except Exception:
        pass
    finally:
        client.close()
    deadline = time.monotonic() + 10
    while lock_held(paths) and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = (read_status(paths) or {}).get("pid")
    if lock_held(paths) and isinstance(pid, int):
        os.kill(pid, signal.SIGKILL)
        while lock_held(paths) and time.monotonic() < deadline + 5:
            time.sleep(0.05)
    client_mod.reap_children()
    assert not lock_held(paths), "the daemon survived"


@pytest.fixture
def daemon_lib(example_library: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example library (3 active tools, the slugify candidate) with its daemon running."""
    monkeypatch.delenv("TOOLFORGE_NO_DAEMON", raising=False)
    connect(example_library).close()
    yield example_library
    stop_daemon(example_library)


@pytest.fixture
def backend(daemon_lib: Path) -> Iterator[DaemonBackend]:
    b = DaemonBackend(connect(daemon_lib))
    yield b
    b.close()


async def wait_for(pilot: Any, predicate: Callable[[], Any], what: str,
                   timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; status: "
                                 f"{pilot.app.status_bar.text!r}")
        await pilot.pause(0.05)


def plain(renderable: Any, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def pane_text(app: ReviewApp, pane: str) -> str:
    return plain(app.main.query_one(f"#{pane}-view").content)


def rows(app: ReviewApp) -> list[tuple[str, str, int | None]]:
    return [(t.tool, t.status, t.version) for t in app.tool_list.shown]


def notices(app: ReviewApp) -> list[str]:
    return [n.message for n in app._notifications]


def errors(app: ReviewApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


async def started(pilot: Any) -> ReviewApp:
    app: ReviewApp = pilot.app
    await wait_for(pilot, lambda: app.tool_list.tools and app.detail.loaded, "the first load")
    return app


async def select(pilot: Any, name: str, status: str | None = None) -> None:
    app: ReviewApp = pilot.app
    shown = app.tool_list.shown
    row = next(i for i, t in enumerate(shown)
               if t.tool == name and (status is None or t.status == status))
    app.tool_list.table.move_cursor(row=row)
    await wait_for(pilot, lambda: app.detail.loaded is not None
                   and app.detail.loaded.detail.tool == name and not app.detail.loading,
                   f"{name}'s detail")


def subjects(lib: Path, n: int = 5) -> list[str]:
    return git(lib, "log", f"-{n}", "--format=%s").splitlines()


# --- tests -------------------------------------------------------------------------------------


async def test_browse_tabs(backend: DaemonBackend) -> None:
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await wait_for(pilot, lambda: app.status_bar.connection == "live", "the event stream")
        assert [r[0] for r in rows(app)] == ["convert_units", "iso8601_duration_seconds",
                                             "sha256_hex", "slugify"]
        assert rows(app)[3] == ("slugify", "candidate", 1)
        assert app.tool_list.shown[3].verdict == "passed"  # from its latest report
        await pilot.press("G")
        await wait_for(pilot, lambda: app.detail.loaded.detail.tool == "slugify", "slugify")
        assert "def slugify(text: str" in pane_text(app, "code")
        await pilot.press("2")
        assert app.detail.active_tab == "tests"
        assert "def test_accents" in pane_text(app, "tests")
        await pilot.press("3")
        report = pane_text(app, "validation")
        assert "PASSED" in report and "backend" in report and "limits" in report
        for layer in ("contract", "static", "tests", "property"):
            assert layer in report
        await pilot.press("4")
        assert "library/candidates/slugify" in pane_text(app, "provenance")
        await pilot.press("5")
        assert "only one version" in pane_text(app, "diff")
        await pilot.press("g")
        await wait_for(pilot, lambda: app.detail.loaded.detail.tool == "convert_units", "top")
        await pilot.press("6")
        assert app.detail.history.row_count == 2
        assert [i.action for i in app.detail.loaded.detail.history] == ["promote", "add"]


async def test_promote_by_key_asks_first(backend: DaemonBackend, daemon_lib: Path) -> None:
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select(pilot, "slugify")
        head = subjects(daemon_lib, 1)
        await pilot.press("p")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing happens
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen) and subjects(daemon_lib, 1) == head
        await pilot.press("p", "y")
        await wait_for(pilot, lambda: ("slugify", "active", 1) in rows(app), "slugify active")
        assert subjects(daemon_lib, 1) == ["promote slugify v1"]
        await wait_for(pilot, lambda: not app.detail.loading
                       and app.detail.loaded.detail.status == "active", "the refreshed detail")
        assert any("promote slugify v1" in n for n in notices(app))
        assert not errors(app)


async def test_reject_asks_a_reason(backend: DaemonBackend, daemon_lib: Path) -> None:
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select(pilot, "slugify")
        await pilot.press("x")
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press("enter")  # an empty reason is refused, the modal stays
        assert isinstance(app.screen, ReasonScreen)
        await pilot.press(*"duplicates a tool", "enter")
        await wait_for(pilot, lambda: "slugify" not in [r[0] for r in rows(app)], "reject")
        assert subjects(daemon_lib, 1) == ["reject slugify v1: duplicates a tool"]
        assert isinstance(app.screen, MainScreen)
        # escape cancels: nothing is rejected
        await select(pilot, "sha256_hex")
        await pilot.press("x", "escape")
        await pilot.pause(0.3)
        assert subjects(daemon_lib, 1) == ["reject slugify v1: duplicates a tool"]


async def test_revalidate_shows_the_report(backend: DaemonBackend) -> None:
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select(pilot, "slugify")
        jobs_before = len(backend.client.jobs())
        await pilot.press("v")
        await wait_for(pilot, lambda: "validation of slugify: passed" in app.status_bar.text,
                       "the validation")
        assert app.detail.active_tab == "validation"
        assert "PASSED" in pane_text(app, "validation")
        jobs = backend.client.jobs()
        assert len(jobs) == jobs_before + 1  # it ran as a daemon job
        assert (jobs[0].kind, jobs[0].tool, jobs[0].state) == ("validate", "slugify",
                                                                 "succeeded")


async def test_retire_confirms_and_cancel_does_nothing(backend: DaemonBackend,
                                                       daemon_lib: Path) -> None:
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select(pilot, "sha256_hex")
        head = subjects(daemon_lib, 1)
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)
        assert subjects(daemon_lib, 1) == head
        await pilot.press("r", "y")
        await wait_for(pilot, lambda: ("sha256_hex", "retired", 1) in rows(app), "retired")
        assert subjects(daemon_lib, 1) == ["retire sha256_hex v1"]


async def test_history_open_version_and_revert(backend: DaemonBackend,
                                               daemon_lib: Path) -> None:
    # A v2 of sha256_hex (same behaviour, other code), so that v1 is an earlier version.
    code = (daemon_lib / "tools/sha256_hex/tool.py").read_text().replace(
        "The hex digest.", "The hex digest (v2).")
    tests = (daemon_lib / "tools/sha256_hex/test_tool.py").read_text()
    backend.client.add(code, tests, name="sha256_hex")
    backend.client.promote("sha256_hex")
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select(pilot, "sha256_hex")
        await pilot.press("6")
        history = app.detail.history
        history.focus()
        # the newest row is the promote of v2, the active version: nothing to revert to
        assert (history.selected_item.action, history.selected_version) == ("promote", 2)
        head = subjects(daemon_lib, 1)
        await pilot.press("b")
        assert isinstance(app.screen, MainScreen)
        assert "nothing to revert" in app.status_bar.text
        assert subjects(daemon_lib, 1) == head
        row = next(i for i, item in enumerate(app.detail.loaded.detail.history)
                   if (item.action, item.version) == ("promote", 1))
        history.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VersionScreen), "the version")
        screen = app.screen
        assert screen.detail.version == 1 and "def sha256_hex" in screen.detail.code
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: ("sha256_hex", "active", 3) in rows(app), "v3")
        assert subjects(daemon_lib, 1) == ["rollback sha256_hex to v1 (as v3)"]
        await wait_for(pilot, lambda: not app.detail.loading, "the reload")
        assert app.focused is history  # the loading indicator did not move focus away
        # b on a history row of a version never promoted is refused, with a warning
        await select(pilot, "slugify")
        await pilot.press("6")
        app.detail.history.focus()
        await pilot.press("b")
        assert isinstance(app.screen, MainScreen)
        assert "only promoted versions" in app.status_bar.text


async def test_rejected_candidates_stay_reachable(backend: DaemonBackend,
                                                  daemon_lib: Path) -> None:
    backend.client.reject("slugify", "duplicates a tool")
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        assert "slugify" not in [r[0] for r in rows(app)]  # not among the current tools
        await pilot.press("f", "f", "f", "f")  # candidates, active, retired, rejected
        assert app.tool_list.status_filter == "rejected"
        await wait_for(pilot, lambda: rows(app) == [("slugify", "rejected", 1)], "the row")
        await wait_for(pilot, lambda: app.detail.loaded is not None
                       and app.detail.loaded.detail.tool == "slugify", "its detail")
        assert app.detail.loaded.detail.status == "rejected"
        assert "def slugify(text: str" in pane_text(app, "code")
        assert "duplicates a tool" in pane_text(app, "diff")
        head = subjects(daemon_lib, 1)
        await pilot.press("p")  # a rejected candidate cannot be promoted from here
        assert isinstance(app.screen, MainScreen)
        assert "was rejected" in app.status_bar.text
        assert subjects(daemon_lib, 1) == head
    listing = run_cli("list", "--status", "rejected", "-L", daemon_lib, "--json")
    assert [(t["tool"], t["reason"]) for t in listing.json["tools"]] == [
        ("slugify", "duplicates a tool")]


async def test_search_filter_and_help(backend: DaemonBackend) -> None:
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("slash", *"sha", "enter")
        assert [r[0] for r in rows(app)] == ["sha256_hex"]
        await wait_for(pilot, lambda: app.detail.loaded.detail.tool == "sha256_hex", "match")
        await pilot.press("escape")  # on the list: clears the search
        assert len(rows(app)) == 4
        await pilot.press("f")
        assert rows(app) == [("slugify", "candidate", 1)]
        await pilot.press("f")
        assert {r[1] for r in rows(app)} == {"active"}
        await pilot.press("f", "f", "f")  # retired, rejected, all
        assert len(rows(app)) == 4
        await pilot.press("slash", *"no such tool", "enter")
        assert rows(app) == []
        await wait_for(pilot, lambda: app.detail.loaded is None, "an empty detail")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("p")  # action keys are off under a modal
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert not errors(app)


async def test_errors_are_notifications_not_tracebacks(backend: DaemonBackend,
                                                       tmp_path: Path) -> None:
    # A candidate that fails validation (its test is wrong), added through the daemon.
    bad = backend.client.add(make_tool("shout"), make_tests("shout", "WRONG"))
    assert bad.warnings
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select(pilot, "sha256_hex")  # active, no candidate: nothing to ask
        await pilot.press("p")
        assert isinstance(app.screen, MainScreen)
        assert "only a candidate can be promoted" in app.status_bar.text
        await select(pilot, "shout")
        assert app.tool_list.selected.verdict == "failed"
        await pilot.press("3")
        report = pane_text(app, "validation")
        assert "FAILED" in report and "candidate::test_abc" in report and "WRONG" in report
        await pilot.press("p", "y")
        await wait_for(pilot, lambda: errors(app), "an error notification")
        assert "failed validation" in errors(app)[-1]
        assert "promote failed" in app.status_bar.text
        assert app.busy is None and app.is_running
        # The daemon gone: a read fails with a message, the app goes on.
        stop_daemon(backend.root)
        backend.client.ensure = _refuse  # type: ignore[method-assign]  # no auto-restart
        await pilot.press("R")
        await wait_for(pilot, lambda: len(errors(app)) == 2, "the connection error")
        await wait_for(pilot, lambda: app.status_bar.connection != "live", "disconnected")
        assert app.is_running


def _refuse(*args: Any, **kwargs: Any) -> Any:
    from toolforge.daemon.errors import DaemonError

    raise DaemonError("no daemon is running (test)")


async def test_live_updates_and_reconnect(backend: DaemonBackend, daemon_lib: Path,
                                          tmp_path: Path) -> None:
    src = write_tool_dir(tmp_path / "src", "shout")
    async with ReviewApp(backend).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await wait_for(pilot, lambda: app.status_bar.connection == "live", "the event stream")
        # Another client adds (and validates) a candidate: it appears without a refresh.
        proc = await asyncio.create_subprocess_exec(
            PYTHON, "-m", "toolforge", "add", str(src), "-L", str(daemon_lib),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = await proc.communicate()
        assert proc.returncode == 0, err
        await wait_for(pilot, lambda: ("shout", "candidate", 1) in rows(app), "the live add")
        # The add's event and the validation's report are separate events: the verdict follows.
        await wait_for(pilot, lambda: any(t.tool == "shout" and t.verdict == "passed"
                                          for t in app.tool_list.tools), "the live verdict")
        # The daemon restarts: the app shows it, and reconnects by itself.
        stop_daemon(daemon_lib)
        await wait_for(pilot, lambda: app.status_bar.connection != "live", "disconnected")
        connect(daemon_lib).close()
        run_cli("promote", "shout", "-L", daemon_lib)  # while we may still be away
        await wait_for(pilot, lambda: app.status_bar.connection == "live", "reconnected",
                       timeout=40)
        await wait_for(pilot, lambda: ("shout", "active", 1) in rows(app), "caught up")


async def test_local_backend_without_daemon(example_library: Path) -> None:
    backend = LocalBackend(example_library)
    try:
        async with ReviewApp(backend).run_test(size=SIZE) as pilot:
            app = await started(pilot)
            assert app.status_bar.connection == "local"
            await select(pilot, "slugify")
            await pilot.press("p", "y")
            await wait_for(pilot, lambda: ("slugify", "active", 1) in rows(app), "promoted")
            run_cli("retire", "slugify", "-L", example_library)  # no events in-process
            await pilot.press("R")
            await wait_for(pilot, lambda: ("slugify", "retired", 1) in rows(app), "refresh")
    finally:
        backend.close()


# --- the command ---------------------------------------------------------------------------


def test_review_command_needs_a_terminal(example_library: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from toolforge.cli.review_cmd import review

    app = typer.Typer()
    app.command()(review)
    app.command("x")(lambda: None)  # two commands: `review` stays a subcommand
    result = CliRunner().invoke(app, ["review", "-L", str(example_library)])
    assert result.exit_code == 2
    assert "interactive terminal" in result.stdout + result.stderr


def test_review_command_runs_the_app(example_library: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from toolforge.cli import review_cmd

    ran: list[Any] = []
    monkeypatch.setattr(review_cmd, "sys", _Tty())
    monkeypatch.setattr(ReviewApp, "run", lambda self: ran.append(self.backend))
    app = typer.Typer()
    app.command()(review_cmd.review)
    app.command("x")(lambda: None)
    result = CliRunner().invoke(app, ["review", "-L", str(example_library)])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert isinstance(ran[0], LocalBackend)  # TOOLFORGE_NO_DAEMON=1 here
    result = CliRunner().invoke(app, ["review", "-L", str(example_library / "nope")])
    assert result.exit_code != 0 and len(ran) == 1


class _Tty:
    class _Stream:
        def isatty(self) -> bool:
            return True

    stdin = stdout = _Stream()


def test_review_module_does_not_import_textual() -> None:
    probe = ("import sys, toolforge.cli.review_cmd; "
             "sys.exit('textual' in sys.modules or 'toolforge.tui.app' in sys.modules)")
    assert subprocess.run([PYTHON, "-c", probe]).returncode == 0


HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x9b31m validation: passed\u202eevil"


async def test_text_from_tools_never_drives_the_terminal(library: Path) -> None:
    """Code, docstrings, test output and commit subjects with ESC/CSI/OSC sequences are
    shown escaped on every pane (issue 9 item 7)."""
    from toolforge.service.library_service import LibraryService

    svc = LibraryService(library)
    try:
        code = make_tool("sneaky", doc=f"Sneaky.{HOSTILE}").replace(
            "    return", f'    note = "{HOSTILE}"\n    return')
        tests = ("from tool import sneaky\n\n\ndef test_it():\n"
                 f"    print({HOSTILE!r})\n    assert sneaky('x') == 'wrong'\n")
        svc.add(code, tests)  # fails: the report carries the hostile output
    finally:
        svc.close()
    backend = LocalBackend(library)
    try:
        async with ReviewApp(backend).run_test(size=(120, 40)) as pilot:
            app = await started(pilot)
            await select(pilot, "sneaky")
            for pane in ("1", "3", "4", "6"):  # code, validation, provenance, history
                await pilot.press(pane)
                await pilot.pause(0.1)
                screen = app.export_screenshot()
                assert not any(c in screen for c in "\x1b\x9b\x07\u202e"), pane
            assert "\\x1b" in pane_text(app, "code")
            assert "\\x1b" in pane_text(app, "validation")
    finally:
        backend.close()
