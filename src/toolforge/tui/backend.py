"""What the review TUI needs from a library, behind one small protocol.

`DaemonBackend` talks to the library's daemon through `DaemonClient`, the one client of the
daemon, also for the live event stream: it is read in a thread, and closing it (when the
app's worker is cancelled) shuts its socket down, which ends the read at once.
`LocalBackend` runs the same service in-process and has no live events; it is used only
with --no-daemon or when no daemon can be started.

No textual import here: this is plain Python, usable and testable without a UI.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from toolforge.library.store import STATE_DIR
from toolforge.service.models import (
    ActionResult,
    DiffResult,
    ListResult,
    StatusFilter,
    ToolDetail,
)

if TYPE_CHECKING:
    from toolforge.daemon.client import DaemonClient
    from toolforge.validation.report import ReportStore, ValidationReport

Event = dict[str, Any]
LogFn = Callable[[str], None]
REPORTS_DB = "reports.sqlite"


class Backend(Protocol):
    """The TUI's view of a library. Every method but `events` blocks: call it in a worker."""

    root: Path
    live: bool  # True when `events` streams library changes as they happen

    def describe(self) -> str: ...
    def list_tools(self, status: StatusFilter = "all") -> ListResult: ...
    def show(self, name: str, version: str | int | None = None) -> ToolDetail: ...
    def diff(self, name: str) -> DiffResult: ...
    def latest_report(self, name: str, files_hash: str | None = None
                      ) -> ValidationReport | None: ...
    def validate(self, name: str, log: LogFn | None = None) -> ValidationReport: ...
    def promote(self, name: str) -> ActionResult: ...
    def reject(self, name: str, reason: str) -> ActionResult: ...
    def retire(self, name: str) -> ActionResult: ...
    def rollback(self, name: str, to: int | None = None) -> ActionResult: ...
    def events(self) -> AsyncIterator[Event]: ...
    def close(self) -> None: ...


class _ServiceBackend:
    """The methods both backends share: `service` is a LibraryService or a DaemonClient,
    which have the same method names, results and errors."""

    live = False

    def __init__(self, root: Path, service: Any) -> None:
        self.root = root
        self.service = service

    def describe(self) -> str:
        return "in-process"

    def _reports(self) -> ReportStore | None:
        raise NotImplementedError

    def list_tools(self, status: StatusFilter = "all") -> ListResult:
        result: ListResult = self.service.list_tools(status)
        return result

    def show(self, name: str, version: str | int | None = None) -> ToolDetail:
        detail: ToolDetail = self.service.show(name, version)
        return detail

    def diff(self, name: str) -> DiffResult:
        result: DiffResult = self.service.diff(name)
        return result

    def latest_report(self, name: str, files_hash: str | None = None
                      ) -> ValidationReport | None:
        """The tool's latest stored report; with `files_hash`, the latest of those exact
        files (falling back to the latest of any)."""
        store = self._reports()
        if store is None:
            return None
        exact = store.latest(name, files_hash) if files_hash is not None else None
        return exact or store.latest(name)

    def validate(self, name: str, log: LogFn | None = None) -> ValidationReport:
        report: ValidationReport = self.service.validate(name, log=log)
        return report

    def promote(self, name: str) -> ActionResult:
        result: ActionResult = self.service.promote(name)
        return result

    def reject(self, name: str, reason: str) -> ActionResult:
        result: ActionResult = self.service.reject(name, reason)
        return result

    def retire(self, name: str) -> ActionResult:
        result: ActionResult = self.service.retire(name)
        return result

    def rollback(self, name: str, to: int | None = None) -> ActionResult:
        result: ActionResult = self.service.rollback(name, to)
        return result

    async def events(self) -> AsyncIterator[Event]:
        return
        yield  # an async generator that ends at once: no live events

    def close(self) -> None:
        self.service.close()


class LocalBackend(_ServiceBackend):
    """The service in-process, its calls serialised: the TUI's workers are threads, and
    one LibraryService (one git handle) is not meant to be shared by them."""

    def __init__(self, root: Path) -> None:
        from toolforge.service.library_service import LibraryService

        self._svc = LibraryService(root)
        super().__init__(root, _Serialised(self._svc))

    def _reports(self) -> ReportStore | None:
        return self._svc.reports  # sqlite, one connection per call: safe from any thread


class _Serialised:
    """Calls the wrapped object's methods one at a time."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return call


class DaemonBackend(_ServiceBackend):
    live = True

    def __init__(self, client: DaemonClient) -> None:
        super().__init__(client.root, client)
        self.client = client
        self.pid: int | None = None
        self._store: ReportStore | None = None

    def describe(self) -> str:
        return f"daemon pid {self.pid}" if self.pid else "daemon"

    def latest_report(self, name: str, files_hash: str | None = None
                      ) -> ValidationReport | None:
        exact: ValidationReport | None = None
        if files_hash is not None:
            exact = self.client.latest_report(name, files_hash)
        return exact or self.client.latest_report(name)

    def _reports(self) -> ReportStore | None:
        if self._store is None:
            path = self.root / STATE_DIR / REPORTS_DB
            if not path.is_file():  # nothing validated yet; do not create the store here
                return None
            from toolforge.validation.report import ReportStore

            self._store = ReportStore(path)
        return self._store

    async def events(self) -> AsyncIterator[Event]:
        """The daemon's server-sent events, parsed; the first is `subscribed`. Raises when
        the daemon cannot be reached; ends when it stops."""
        import asyncio

        stream = await asyncio.to_thread(self.client.events)
        events = iter(stream)
        try:
            while True:
                event = await asyncio.to_thread(next, events, None)
                if event is None:
                    return
                if event.get("type") == "subscribed":
                    self.pid = event.get("pid")
                yield event
        finally:
            stream.close()  # also from a cancelled worker: ends the blocked read

    def close(self) -> None:
        with suppress(Exception):
            self.client.close()


def open_backend(root: Path, *, use_daemon: bool) -> tuple[Backend, str | None]:
    """The daemon's backend (started on demand), or in-process with a notice saying why."""
    if not use_daemon:
        return LocalBackend(root), None
    from toolforge.daemon.client import connect
    from toolforge.daemon.errors import DaemonError

    warnings: list[str] = []  # e.g. the daemon runs another toolforge version
    try:
        client = connect(root, warn=warnings.append)
    except DaemonError as exc:
        return LocalBackend(root), (f"no daemon ({exc.message}): running in-process, "
                                    "without live updates")
    return DaemonBackend(client), "; ".join(warnings) or None
