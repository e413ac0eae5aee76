"""A daemon nobody uses ends itself.

"In use" means: a request in flight (an open event stream counts, so a `toolforge review`
or `toolforge watch` keeps it), a job queued or running, or a request within the idle
timeout. The timeout comes from TOOLFORGE_DAEMON_IDLE_TIMEOUT (seconds), else the library's
`[daemon] idle_timeout_s`, else 30 minutes; 0 means never. The next command starts a new
daemon, so stopping costs nothing but that start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("toolforge.daemon")

IDLE_ENV = "TOOLFORGE_DAEMON_IDLE_TIMEOUT"
DEFAULT_IDLE_TIMEOUT_S = 1800.0


def idle_timeout_s(root: Path) -> float:
    """The idle timeout of `root`'s daemon, in seconds (0: never)."""
    from toolforge.errors import ToolforgeError
    from toolforge.library.settings import load_settings

    raw: Any = os.environ.get(IDLE_ENV)
    where = IDLE_ENV
    if raw is None:
        try:
            return float(load_settings(root).daemon.idle_timeout_s)
        except ToolforgeError:  # a broken toolforge.toml: the daemon says so elsewhere
            return DEFAULT_IDLE_TIMEOUT_S
    try:
        value = float(raw)
    except (TypeError, ValueError):
        log.warning("%s = %r is not a number of seconds: using %g", where, raw,
                    DEFAULT_IDLE_TIMEOUT_S)
        return DEFAULT_IDLE_TIMEOUT_S
    return max(0.0, value)


class Activity:
    """Requests in flight and the time of the last one (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self.last = time.monotonic()

    def begin(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.last = time.monotonic()

    def end(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self.last = time.monotonic()

    def idle_for(self) -> float:
        """Seconds without any request (0 while one is in flight)."""
        with self._lock:
            return 0.0 if self.in_flight else time.monotonic() - self.last


class ActivityMiddleware:
    """ASGI middleware: every HTTP request (streams included, for as long as they are
    open) counts as activity."""

    def __init__(self, app: Any, activity: Activity) -> None:
        self.app = app
        self.activity = activity

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        self.activity.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.activity.end()


async def stop_when_idle(timeout_s: float, activity: Activity, jobs_busy: Callable[[], bool],
                         stop: Callable[[], None], stopping: threading.Event) -> None:
    """Call `stop` once the daemon has been idle for `timeout_s` (never when 0)."""
    if timeout_s <= 0:
        return
    every_s = min(30.0, max(0.2, timeout_s / 4))
    while not stopping.is_set():
        await asyncio.sleep(every_s)
        idle = activity.idle_for()
        if idle >= timeout_s and not jobs_busy():
            log.info("idle for %.0f s (timeout %g s): stopping", idle, timeout_s)
            stop()
            return
