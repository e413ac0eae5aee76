"""ReviewApp: the review TUI's workers, live events and actions.

Every backend call runs in a thread worker and comes back as a message (tui/messages.py),
so the UI never waits on git, the sandbox or the socket. Errors become a notification and
the status line, never a traceback. With a daemon, an async worker follows its event
stream and refreshes what changed, reconnecting with backoff when the daemon restarts.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from textual import on, work
from textual.app import App
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import get_current_worker

from toolforge.errors import ToolforgeError
from toolforge.service.models import ActionResult, ToolDetail, ToolSummary
from toolforge.terminal import printable, printable_line
from toolforge.tui.backend import Backend, Event
from toolforge.tui.evolution import LIBRARY_EVENTS, EvolutionFeed
from toolforge.tui.messages import (
    ActionDone,
    BackendFailed,
    DetailLoaded,
    LoadedDetail,
    Progress,
    ToolsLoaded,
)
from toolforge.tui.render import utc_now
from toolforge.tui.screens.confirm import ConfirmScreen
from toolforge.tui.screens.help import HelpScreen
from toolforge.tui.screens.main import HELP_KEYS, MainScreen
from toolforge.tui.screens.reason import ReasonScreen
from toolforge.tui.screens.version import VersionScreen
from toolforge.tui.widgets.detail import DetailView
from toolforge.tui.widgets.history import HistoryTable
from toolforge.tui.widgets.status_bar import StatusBar
from toolforge.tui.widgets.tool_list import ToolList, ToolTable, tool_key
from toolforge.validation.report import ValidationReport, files_hash

RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
REFRESH_DEBOUNCE_S = 0.15  # one refresh for a burst of events
# Events after which the list (and maybe the open tool) may have changed.
CHANGE_EVENTS = frozenset({
    "tool_added", "tool_promoted", "tool_rejected", "tool_retired", "tool_rolled_back",
    "library_rolled_back", "hand_edit", "lagged",
})
EVENT_VERBS = {"tool_added": "added", "tool_promoted": "promoted", "tool_rejected": "rejected",
               "tool_retired": "retired", "tool_rolled_back": "rolled back"}


def while_running(handler: Callable[..., None]) -> Callable[..., None]:
    """Skip a handler once the app is shutting down: Textual still delivers queued
    messages (a worker's late result) after the screens and their widgets are gone."""

    @functools.wraps(handler)
    def guarded(self: ReviewApp, *args: Any) -> None:
        if self.is_running:
            handler(self, *args)

    return guarded


def error_text(error: BaseException) -> tuple[str, str | None]:
    """(message, hint) for any error, without a traceback."""
    if isinstance(error, ToolforgeError):
        return error.message, error.hint
    text = str(error).strip()
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__), None


class ReviewApp(App[None]):
    TITLE = "toolforge review"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { background: $surface; }
    """
    BINDINGS: ClassVar = []  # the keys are on MainScreen (inactive under modals)

    def __init__(self, backend: Backend, *, clock: Callable[[], datetime] = utc_now,
                 notice: str | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.clock = clock
        self.notice = notice
        self.main = MainScreen(clock)
        self.busy: str | None = None  # the action running now ("promote slugify")
        self._detail_key: str | None = None  # the tool whose detail was last requested
        self._detail_stale = False
        self._refresh_timer: Timer | None = None
        self._refresh_detail_soon = False
        self._evolution = EvolutionFeed()
        self._focus_after_loading: Widget | None = None

    # --- widgets -----------------------------------------------------------------------------

    @property
    def tool_list(self) -> ToolList:
        return self.main.query_one(ToolList)

    @property
    def detail(self) -> DetailView:
        return self.main.query_one(DetailView)

    @property
    def status_bar(self) -> StatusBar:
        return self.main.query_one(StatusBar)

    @property
    def selected(self) -> ToolSummary | None:
        return self.tool_list.selected

    # --- start -------------------------------------------------------------------------------

    def get_default_screen(self) -> MainScreen:
        return self.main

    @on(MainScreen.Ready)
    def _start_loading(self) -> None:
        if self.backend.live:
            self.status_bar.set_connection("connecting", self.backend.describe())
            self.follow_events()  # it loads the list once subscribed
        else:
            self.status_bar.set_connection("local", "in-process, no live updates (R refreshes)")
            self.load_tools()
        if self.notice:
            self.say(self.notice, "warning")

    def _detail_loading(self, on: bool) -> None:
        """The loading indicator over the detail. A loading widget cannot hold focus, and
        Textual would hand it to the first focusable widget (the search box, where the
        next keys would be typed): park it on the tool list, and give it back after."""
        detail, table = self.detail, self.tool_list.table
        if on and not detail.loading:
            focused = self.main.focused
            if focused is not None and detail in focused.ancestors:
                self._focus_after_loading = focused
                table.focus()
        detail.loading = on
        if not on and self._focus_after_loading is not None:
            widget, self._focus_after_loading = self._focus_after_loading, None
            if widget.is_attached and self.main.focused is table:
                widget.focus()

    def say(self, text: str, severity: SeverityLevel = "information") -> None:
        """A notification, also kept in the status line."""
        self.status_bar.set_message(text, severity)
        self.notify(printable(text), severity=severity, markup=False,
                    timeout=8 if severity == "error" else 4)

    # --- loading -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="list")
    def load_tools(self) -> None:
        try:
            result = self.backend.list_tools()
            if self.tool_list.status_filter == "rejected":  # from the history: on demand
                result.tools += self.backend.list_tools("rejected").tools
        except Exception as exc:
            self.post_message(BackendFailed("list tools", None, exc))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(ToolsLoaded(result))

    @on(ToolsLoaded)
    @while_running
    def _tools_loaded(self, message: ToolsLoaded) -> None:
        self.tool_list.set_tools(message.result.tools)
        if self._detail_stale:
            self._detail_stale = False
            self._request_detail(self.selected, force=True)

    @on(ToolList.Selected)
    @while_running
    def _tool_selected(self, message: ToolList.Selected) -> None:
        self._request_detail(message.tool)

    def _request_detail(self, tool: ToolSummary | None, *, force: bool = False) -> None:
        key = tool_key(tool) if tool is not None else None
        if key == self._detail_key and not force:
            return
        self._detail_key = key
        if tool is None:
            self._detail_loading(False)
            self.detail.show_empty("No tools match." if self.tool_list.tools else
                                   "The library has no tools yet.")
        elif tool.status == "broken":
            self.detail.show_empty(f"{tool.tool}: broken: {tool.problem}")
        else:
            self._detail_loading(True)
            self.load_detail(tool)

    @work(thread=True, exclusive=True, group="detail")
    def load_detail(self, tool: ToolSummary) -> None:
        backend = self.backend
        try:
            version = {"candidate": "candidate", "rejected": "rejected"}.get(tool.status)
            detail = backend.show(tool.tool, version)
            diff, diff_error = None, None
            if tool.status == "rejected":
                diff_error = f"rejected: {tool.reason or 'no reason given'}"
            else:
                try:
                    diff = backend.diff(tool.tool)
                except ToolforgeError as exc:  # e.g. only one version: nothing to compare
                    diff_error = exc.message
            # The report of exactly these files, if any (an active tool with a newer
            # candidate has two).
            report = backend.latest_report(tool.tool, files_hash(detail.code, detail.tests))
        except Exception as exc:
            self.post_message(BackendFailed(f"show {tool.tool}", tool.tool, exc))
            return
        if not get_current_worker().is_cancelled:
            loaded = LoadedDetail(tool, detail, diff, diff_error, report)
            self.post_message(DetailLoaded(tool_key(tool), loaded))

    @on(DetailLoaded)
    @while_running
    def _detail_loaded(self, message: DetailLoaded) -> None:
        if message.key != self._detail_key:
            return  # the user moved on meanwhile
        self._detail_loading(self.busy is not None)
        self.detail.show_tool(message.loaded)

    # --- actions -----------------------------------------------------------------------------

    def _tool_for(self, verb: str) -> ToolSummary | None:
        if self.busy is not None:
            self.say(f"busy: {self.busy} is still running", "warning")
            return None
        tool = self.selected
        if tool is None:
            self.say(f"no tool selected to {verb}", "warning")
        elif tool.status == "rejected":
            self.say(f"{tool.tool} v{tool.version} was rejected ({tool.reason}); to work on "
                     "it again, add it back with `toolforge add`", "warning")
            return None
        return tool

    def _start(self, action: str, tool: str, call: Callable[[], Any]) -> None:
        self.busy = f"{action} {tool}"
        self._detail_loading(True)
        self.status_bar.set_message(f"{action} {tool}…")
        self.backend_action(action, tool, call)

    @work(thread=True, group="action")
    def backend_action(self, action: str, tool: str, call: Callable[[], Any]) -> None:
        try:
            result = call()
        except Exception as exc:
            self.post_message(BackendFailed(action, tool, exc, ends_action=True))
        else:
            self.post_message(ActionDone(action, tool, result))

    @on(ActionDone)
    @while_running
    def _action_done(self, message: ActionDone) -> None:
        self.busy = None
        self._detail_loading(False)
        result = message.result
        if isinstance(result, ValidationReport):
            shown = self.detail.loaded
            if shown is not None and shown.detail.tool == message.tool:
                self.detail.show_report(result)
                self.detail.show_tab("validation")
            severity: SeverityLevel = "information" if result.verdict == "passed" \
                else "warning"
            self.say(f"validation of {message.tool}: {result.verdict}"
                     + ("" if result.verdict == "passed" else f" ({result.failure_summary()})"),
                     severity)
        elif isinstance(result, ActionResult):
            self.say(f"{result.subject} ✓")
            for warning in result.warnings:
                self.say(warning, "warning")
        self._refresh(detail=True)

    @on(BackendFailed)
    @while_running
    def _backend_failed(self, message: BackendFailed) -> None:
        if message.ends_action:
            self.busy = None
        self._detail_loading(self.busy is not None)
        text, hint = error_text(message.error)
        full = f"{text}\n{hint}" if hint else text
        self.notify(printable(full), title=printable_line(f"{message.action} failed"),
                    severity="error", markup=False,
                    timeout=10)
        self.status_bar.set_message(f"{message.action} failed: {text}", "error")

    @on(Progress)
    @while_running
    def _progress(self, message: Progress) -> None:
        if self.busy:
            self.status_bar.set_message(f"{self.busy}: {message.text}")

    def action_promote(self) -> None:
        tool = self._tool_for("promote")
        if tool is None:
            return
        if tool.status != "candidate":
            self.say(f"{tool.tool} is {tool.status}: only a candidate can be promoted",
                     "warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._start("promote", tool.tool, lambda: self.backend.promote(tool.tool))

        verdict = tool.verdict or "not validated"
        self.push_screen(ConfirmScreen(
            f"Promote {tool.tool}?",
            f"Candidate {tool.tool} v{tool.version} (validation: {verdict}) becomes the "
            "active version agents are offered. The previous version stays in history; "
            "b (revert) restores it.", yes="Promote"), confirmed)

    def action_reject(self) -> None:
        tool = self._tool_for("reject")
        if tool is None:
            return

        def rejected(reason: str | None) -> None:
            if reason:
                self._start("reject", tool.tool, lambda: self.backend.reject(tool.tool, reason))

        self.push_screen(ReasonScreen(f"Reject candidate {tool.tool}"), rejected)

    def action_revalidate(self) -> None:
        tool = self._tool_for("validate")
        if tool is None:
            return

        def log(line: str) -> None:  # called in the worker's thread
            self.post_message(Progress(line))

        self._start("validate", tool.tool, lambda: self.backend.validate(tool.tool, log=log))

    def action_retire(self) -> None:
        tool = self._tool_for("retire")
        if tool is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._start("retire", tool.tool, lambda: self.backend.retire(tool.tool))

        self.push_screen(ConfirmScreen(
            f"Retire {tool.tool}?",
            f"{tool.tool} v{tool.version} stops being offered to agents. Its history stays; "
            "b (revert) restores it.", yes="Retire"), confirmed)

    def action_revert(self) -> None:
        tool = self._tool_for("revert")
        if tool is None:
            return
        version: int | None = None
        if self.detail.active_tab == "history":
            history = self.detail.history
            version = history.selected_version
            if not history.is_promoted(version):
                self.say("select a promote or rollback row in History: only promoted "
                         "versions can be restored", "warning")
                return
        if self._is_active_version(tool, version):
            self.say(f"v{version} is the active version of {tool.tool}: nothing to revert",
                     "warning")
            return
        self._confirm_revert(tool.tool, version)

    def _is_active_version(self, tool: ToolSummary, version: int | None) -> bool:
        shown = self.detail.loaded
        return (version is not None and tool.status == "active" and shown is not None
                and shown.detail.tool == tool.tool and shown.detail.location == "tools"
                and shown.detail.version == version)

    def _confirm_revert(self, name: str, version: int | None) -> None:
        target = f"v{version}" if version is not None else "its previous version"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._start("revert", name, lambda: self.backend.rollback(name, version))

        self.push_screen(ConfirmScreen(
            f"Revert {name} to {target}?",
            f"The files of {target} become a new active version of {name}; nothing is "
            "deleted (history keeps every version).", yes="Revert"), confirmed)

    @on(ToolTable.RowSelected, "#tool-table")
    def _tool_entered(self, event: ToolTable.RowSelected) -> None:
        event.stop()
        self.detail.tabs.query_one("Tabs").focus()  # enter on a tool: into its tabs

    @on(HistoryTable.RowSelected, "#history")
    def _open_version(self, event: HistoryTable.RowSelected) -> None:
        event.stop()
        tool, history = self.selected, self.detail.history
        version = history.selected_version
        if tool is None or version is None:
            return
        self._detail_loading(True)
        self.load_version(tool.tool, version, history.is_promoted(version))

    @work(thread=True, exclusive=True, group="version")
    def load_version(self, name: str, version: int, promoted: bool) -> None:
        try:
            detail = self.backend.show(name, version)
        except Exception as exc:
            self.post_message(BackendFailed(f"open {name} v{version}", name, exc))
            return
        self.call_from_thread(self._show_version, detail, promoted)

    @while_running
    def _show_version(self, detail: ToolDetail, promoted: bool) -> None:
        self._detail_loading(self.busy is not None)

        def closed(result: str | None) -> None:
            current = self.selected
            if result != "revert":
                return
            if current is not None and self._is_active_version(current, detail.version):
                self.say(f"v{detail.version} is the active version of {detail.tool}: "
                         "nothing to revert", "warning")
                return
            self._confirm_revert(detail.tool, detail.version)

        self.push_screen(VersionScreen(detail, promoted=promoted), closed)

    def action_search(self) -> None:
        self.tool_list.focus_search()

    def action_cycle_filter(self) -> None:
        shown = self.tool_list.cycle_filter()
        self.status_bar.set_message(f"showing {shown} tools")
        if shown == "rejected":
            self.load_tools()  # rejected candidates are read on demand

    def action_refresh(self) -> None:
        if self.backend.live and self.status_bar.connection != "live":
            self.follow_events()  # reconnect now: replaces the worker waiting to retry
        self._refresh(detail=True)

    def action_tab(self, pane: str) -> None:
        self.detail.show_tab(pane)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(HELP_KEYS))

    def _refresh(self, *, detail: bool = False) -> None:
        if detail:
            self._detail_stale = True
        self.load_tools()

    # --- live events -------------------------------------------------------------------------

    @work(exclusive=True, group="events")
    async def follow_events(self) -> None:
        delay = RECONNECT_MIN_S
        while True:
            try:
                async for event in self.backend.events():
                    delay = RECONNECT_MIN_S
                    self._on_event(event)
                reason = "the daemon closed the event stream"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = error_text(exc)[0]
            if not self.is_running:
                return
            self.status_bar.set_connection(
                "disconnected", f"{reason}; retrying in {delay:.1f}s (R reconnects now)")
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)
            self.status_bar.set_connection("connecting", self.backend.describe())

    @while_running
    def _on_event(self, event: Event) -> None:
        kind = event.get("type", "")
        tool = event.get("tool")
        if kind == "subscribed":
            self.status_bar.set_connection("live", self.backend.describe())
            self._refresh(detail=True)  # whatever happened while we were away
            return
        if kind == "daemon_stopping":
            self.status_bar.set_connection("disconnected", "the daemon is stopping")
            return
        shown = self._evolution.message(event)
        if shown is not None:
            self.status_bar.set_message(*shown)
        if kind == "job_started" and event.get("kind") == "validate" and tool:
            self.status_bar.set_message(f"validating {tool} (daemon job {event.get('job')})…")
        if kind == "job_finished" and event.get("kind") == "validate" and tool:
            result = event.get("result")
            verdict = result.get("verdict") if isinstance(result, dict) else None
            self.status_bar.set_message(
                f"validation of {tool} {event.get('state')}"
                + (f": {verdict}" if verdict else ""),
                "information" if verdict == "passed" else "warning")
        relevant = kind in CHANGE_EVENTS or kind in LIBRARY_EVENTS or (
            kind == "job_finished" and event.get("kind") in ("validate", "hand_edit"))
        if not relevant:
            return
        if kind in EVENT_VERBS and tool:
            version = event.get("version")
            self.status_bar.set_message(
                f"{tool}{f' v{version}' if version else ''} {EVENT_VERBS[kind]}")
        current = self.selected
        if tool is None or (current is not None and current.tool == tool):
            self._refresh_detail_soon = True
        if self._refresh_timer is None:
            self._refresh_timer = self.set_timer(REFRESH_DEBOUNCE_S, self._debounced_refresh)

    @while_running
    def _debounced_refresh(self) -> None:
        self._refresh_timer = None
        detail, self._refresh_detail_soon = self._refresh_detail_soon, False
        self._refresh(detail=detail)
