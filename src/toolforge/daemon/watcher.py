"""Notices hand edits to tool files inside the library (watchdog), debounced per tool.

A burst of file events for one tool is collapsed into one check ~300 ms after the last
event. The check takes the library's writer lock, so any mutation in flight (the daemon's
own or another process's) has committed first; then `git status` of tools/<name> and
candidates/<name> decides: clean means the events were a writer's own committed work and
are ignored; dirty means a person edited the files. That edit is announced (`hand_edit`
event) and a `hand_edit` job re-validates it; nothing is committed here. Tools that are due
together are checked with one `git status`.

Only changes are watched (inotify's create, modify, close-after-write, move, delete,
attrib), never opens or reads: reading 10,000 tool files would otherwise queue 20,000
events, overflow the kernel's queue and make watchdog rescan the whole tree, over and over
(a daemon "idle" at 10,000 tools burned half a core that way). Every change also tells the
daemon's tool index (listcache.py) which tool to read again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from toolforge.daemon.events import EventBus
from toolforge.daemon.jobs import JobManager
from toolforge.daemon.listcache import ToolIndex
from toolforge.daemon.services import ServicePool
from toolforge.errors import ToolforgeError
from toolforge.library.refs import git_head
from toolforge.library.store import CANDIDATES_DIR, TOOLS_DIR
from toolforge.names import validate_tool_name

log = logging.getLogger("toolforge.daemon.watcher")

DEBOUNCE_S = 0.3
RESCHEDULE_EVERY_S = 1.0
# Past this many tools due at once, one `git status` of the whole tool area is cheaper
# than naming each path.
BATCH_ALL = 64
WATCHED = (TOOLS_DIR, CANDIDATES_DIR)
IGNORED_PARTS = {".git", ".toolforge", "__pycache__", ".pytest_cache", ".hypothesis"}
IGNORED_EVENTS = {"opened", "closed_no_write"}


def _event_filter() -> list[Any]:
    """The events that mean a change (watchdog turns this into the inotify mask)."""
    from watchdog import events as ev

    return [ev.FileCreatedEvent, ev.FileModifiedEvent, ev.FileMovedEvent, ev.FileDeletedEvent,
            ev.FileClosedEvent, ev.DirCreatedEvent, ev.DirModifiedEvent, ev.DirMovedEvent,
            ev.DirDeletedEvent]


def is_noise(rel: Path) -> bool:
    """Paths whose changes never count as hand edits: VCS and state dirs, caches, the
    temp files of atomic writes, editor swap files."""
    if IGNORED_PARTS.intersection(rel.parts):
        return True
    name = rel.name
    return (
        (name.startswith(".") and name.endswith(".tmp"))
        or name.endswith((".pyc", ".swp", ".swx", "~"))
        or name.startswith(".#")
        or name == "4913"  # vim's probe file
    )


class Watcher:
    def __init__(self, root: Path, services: ServicePool, bus: EventBus, jobs: JobManager,
                 debounce_s: float = DEBOUNCE_S, index: ToolIndex | None = None) -> None:
        self.root = root
        self.services = services
        self.bus = bus
        self.jobs = jobs
        self.debounce_s = debounce_s
        self._pending: dict[str, float] = {}  # tool -> deadline
        self._cond = threading.Condition()
        self._stop = False
        self._seen: dict[str, str] = {}  # tool -> fingerprint of the edit last announced
        self._watches: dict[str, tuple[int, Any]] = {}  # dir -> (inode, ObservedWatch)
        self._observer: Any = None
        self._thread: threading.Thread | None = None
        self.index = index
        self._running = False
        self._complete = False  # every watched directory that exists has a working watch
        self._head: str | None = None
        self._own: set[str] = set()  # commits the daemon made and announced itself

    def watching(self) -> bool:
        """True while every watched directory that exists has a working watch."""
        return self._running and self._complete

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        from watchdog.observers import Observer

        self._observer = Observer()
        self._observer.daemon = True
        self._reschedule()
        self._observer.start()
        self._head = self._read_head()
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
        if self._thread is not None:
            self._thread.join(5)

    def _reschedule(self) -> None:
        """(Re)watch tools/ and candidates/: a library rollback replaces those directories,
        and an inotify watch dies with the directory it was on."""
        from watchdog.events import FileSystemEventHandler

        handler = FileSystemEventHandler()
        handler.on_any_event = self._on_event  # type: ignore[method-assign]
        for sub in WATCHED:
            path = self.root / sub
            try:
                inode = path.stat().st_ino
            except OSError:
                inode = -1
            old = self._watches.get(sub)
            if old is not None and old[0] == inode:
                continue
            if self.index is not None:  # events may have been missed in between
                self.index.invalidate()
            if old is not None:
                try:
                    self._observer.unschedule(old[1])
                except Exception:  # already gone with its directory
                    pass
                del self._watches[sub]
            if inode == -1:
                continue
            try:
                watch = self._observer.schedule(handler, str(path), recursive=True,
                                                event_filter=_event_filter())
            except OSError as exc:  # e.g. out of inotify watches
                log.warning("cannot watch %s: %s", path, exc)
                continue
            self._watches[sub] = (inode, watch)
        self._complete = all(sub in self._watches or not (self.root / sub).exists()
                             for sub in WATCHED)

    # --- events ------------------------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        if event.event_type in IGNORED_EVENTS:
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            where = self._tool_of(os.fsdecode(raw)) if raw else None
            if where is None:
                continue
            location, tool = where
            if self.index is not None:
                self.index.touch(tool, location)
            if not (event.is_directory and event.event_type == "modified"):
                self.touch(tool)

    def _tool_of(self, path: str) -> tuple[str, str] | None:
        try:
            rel = Path(path).relative_to(self.root)
        except ValueError:
            return None
        if len(rel.parts) < 2 or rel.parts[0] not in WATCHED or is_noise(rel):
            return None
        try:
            return rel.parts[0], validate_tool_name(rel.parts[1])
        except ToolforgeError:
            return None

    def touch(self, tool: str) -> None:
        with self._cond:
            self._pending[tool] = time.monotonic() + self.debounce_s
            self._cond.notify()

    def _loop(self) -> None:
        next_reschedule = time.monotonic() + RESCHEDULE_EVERY_S
        while True:
            with self._cond:
                if self._stop:
                    return
                now = time.monotonic()
                due = [t for t, deadline in self._pending.items() if deadline <= now]
                for t in due:
                    del self._pending[t]
                if not due:
                    wake = min([next_reschedule, *self._pending.values()])
                    self._cond.wait(max(0.0, wake - now))
            if due:
                try:
                    self.check_many(due)
                except Exception:
                    log.exception("checking %d tool(s) for hand edits failed", len(due))
            if time.monotonic() >= next_reschedule:
                next_reschedule = time.monotonic() + RESCHEDULE_EVERY_S
                try:
                    self._reschedule()
                    self.check_head()
                except Exception:
                    log.exception("re-watching the library failed")

    # --- commits made elsewhere --------------------------------------------------------------

    def own_commit(self, commit: str) -> None:
        self._own.add(commit)

    def _read_head(self) -> str | None:
        try:
            return git_head(self.root / ".git")
        except OSError:
            return None

    def check_head(self) -> str | None:
        """Announce commits the daemon did not make (`--no-daemon` commands, an in-process
        `toolforge evolve`, a hand `git commit`), so clients such as the TUI refresh."""
        head = self._read_head()
        if head is None or head == self._head:
            return None
        self._head = head
        if head in self._own:
            self._own.discard(head)
            return None
        subject = ""
        with self.services.use() as svc:
            entries = svc.library.git.log(limit=1)
        if entries:
            subject = entries[0].subject
        self.bus.publish("library_changed", commit=head, subject=subject)
        return head

    # --- the check ---------------------------------------------------------------------------

    def check(self, tool: str) -> list[tuple[str, str]]:
        """Announce and queue a job for a hand edit of `tool`; returns the dirty paths."""
        return self.check_many([tool]).get(tool, [])

    def check_many(self, tools: list[str]) -> dict[str, list[tuple[str, str]]]:
        """`check` for several tools, with one `git status`."""
        if len(tools) > BATCH_ALL:
            paths = list(WATCHED)
        else:
            paths = [f"{loc}/{tool}" for tool in tools for loc in WATCHED]
        with self.services.use() as svc:
            lib = svc.library
            lib.recover()  # a writer killed mid-change leaves files that are not hand edits
            with lib.locked():
                dirty = lib.hand_edits(paths)
        by_tool: dict[str, list[tuple[str, str]]] = {}
        for code, path in dirty:
            parts = path.split("/")
            if len(parts) >= 2:
                by_tool.setdefault(parts[1], []).append((code, path))
        for tool in tools:
            self._announce(tool, by_tool.get(tool, []))
        return by_tool

    def _announce(self, tool: str, dirty: list[tuple[str, str]]) -> None:
        if not dirty:
            self._seen.pop(tool, None)
            log.debug("%s: changes are committed (a writer's own): ignored", tool)
            return
        fingerprint = self._fingerprint(dirty)
        if self._seen.get(tool) == fingerprint:
            return  # the same edit, seen again (an editor saving twice)
        self._seen[tool] = fingerprint
        log.info("hand edit of %s: %s", tool, ", ".join(p for _, p in dirty))
        self.bus.publish("hand_edit", tool=tool, paths=[p for _, p in dirty],
                         changes=[{"path": p, "status": c.strip() or "?"} for c, p in dirty])
        for location in sorted({p.split("/", 1)[0] for _, p in dirty}):
            try:
                self.jobs.submit("hand_edit", tool, {"location": location})
            except ToolforgeError as exc:  # stopping, or no such kind
                log.info("no hand_edit job for %s: %s", tool, exc.message)

    def _fingerprint(self, dirty: list[tuple[str, str]]) -> str:
        h = hashlib.sha256()
        for code, rel in sorted(dirty, key=lambda x: x[1]):
            h.update(f"{code}\0{rel}\0".encode())
            try:
                h.update(hashlib.sha256((self.root / rel).read_bytes()).digest())
            except OSError:
                h.update(b"<gone>")
        return h.hexdigest()
