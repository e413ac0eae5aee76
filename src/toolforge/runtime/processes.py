"""Warm tool processes: each tool version keeps sandboxed hosts between calls.

A host (`ToolProcess`) is one sandbox that imported one tool version and answers calls
over a pipe, so a warm call costs a round trip instead of a sandbox start. New hosts boot
from a `WarmPool` of pre-started sandboxes. Hosts are keyed by (tool, commit): a new
version never reaches an old host, and hosts of versions no longer active are killed.
Concurrent calls of one tool get hosts of their own (up to `per_tool`); idle hosts beyond
`max_idle` are closed, least recently used first.

A host serves consecutive calls of one tool version, so a tool's module state lives on
between those calls (as in any long-running tool server); it is never shared between
tools or versions, and any limit hit or crash replaces the host.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolforge.runtime.catalog import ActiveTool
    from toolforge.sandbox.backends import SandboxBackend
    from toolforge.sandbox.limits import Limits
    from toolforge.sandbox.pool import WarmPool
    from toolforge.sandbox.process import ToolProcess

Key = tuple[str, str]  # (tool name, commit)


class ToolHosts:
    def __init__(self, *, limits: Limits, backend: SandboxBackend, pool: WarmPool | None,
                 max_idle: int = 32, per_tool: int = 4) -> None:
        self.limits = limits
        self.backend = backend
        self.pool = pool
        self.max_idle = max_idle
        self.per_tool = per_tool
        self._idle: OrderedDict[Key, list[ToolProcess]] = OrderedDict()
        self._busy: dict[Key, int] = {}
        self._lock = threading.Lock()
        self._slots = threading.Condition(self._lock)
        self._closed = False

    @contextmanager
    def lease(self, tool: ActiveTool) -> Iterator[ToolProcess]:
        """A host for one call of `tool`; it goes back to the idle set afterwards."""
        key = (tool.name, tool.commit)
        host = self._take(key, tool)
        try:
            yield host
        finally:
            self._give_back(key, host)

    def _take(self, key: Key, tool: ActiveTool) -> ToolProcess:
        with self._lock:
            # Beyond `per_tool` hosts of one tool, a call waits for one to be free rather
            # than starting more sandboxes (a burst must not exhaust the machine).
            self._slots.wait_for(lambda: self._closed or bool(self._idle.get(key))
                                 or self._busy.get(key, 0) < self.per_tool)
            if self._closed:
                from toolforge.errors import ToolforgeError

                raise ToolforgeError("the runtime is closed")
            self._busy[key] = self._busy.get(key, 0) + 1
            idle = self._idle.get(key)
            if idle:
                self._idle.move_to_end(key)
                return idle.pop()
        from toolforge.sandbox.process import ToolProcess

        return ToolProcess(tool.code, tool.entrypoint, limits=self.limits,
                           backend=self.backend, pool=self.pool)

    def _give_back(self, key: Key, host: ToolProcess) -> None:
        evicted: list[ToolProcess] = []
        with self._lock:
            self._busy[key] -= 1
            if not self._busy[key]:
                del self._busy[key]
            if self._closed:
                evicted.append(host)
            else:
                self._idle.setdefault(key, []).append(host)
                self._idle.move_to_end(key)
                while self._idle_count() > self.max_idle:
                    old_key, hosts = next(iter(self._idle.items()))
                    evicted.append(hosts.pop(0))
                    if not hosts:
                        del self._idle[old_key]
            self._slots.notify_all()
        _close_all(evicted)

    def _idle_count(self) -> int:
        return sum(len(hosts) for hosts in self._idle.values())

    def keep_only(self, live: set[Key]) -> None:
        """Close idle hosts of tool versions that are no longer active."""
        with self._lock:
            stale = [k for k in self._idle if k not in live]
            evicted = [h for k in stale for h in self._idle.pop(k)]
        _close_all(evicted)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            evicted = [h for hosts in self._idle.values() for h in hosts]
            self._idle.clear()
            self._slots.notify_all()
        _close_all(evicted)


def _close_all(hosts: list[ToolProcess]) -> None:
    """Signal every host before waiting for any (each kill waits for its sandbox to go)."""
    for reap in [h.begin_close() for h in hosts]:
        reap()
