"""Library and job events, fanned out to SSE subscribers.

Publishing never blocks: each subscriber has a bounded asyncio queue; when a slow consumer
lets it fill, further events for that consumer are dropped and counted, and it is sent one
`lagged` event saying how many it missed. Publishers are route handlers and job threads, so
`publish` is thread-safe (events reach the loop through call_soon_threadsafe).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

QUEUE_SIZE = 256
HISTORY = 256  # replayed to a client that reconnects with Last-Event-ID

Event = dict[str, Any]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Event | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE))
    dropped: int = 0
    closed: bool = False


class EventBus:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._history: deque[Event] = deque(maxlen=HISTORY)
        self._subs: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, type: str, **fields: Any) -> Event:
        with self._lock:
            event: Event = {"id": next(self._ids), "type": type, "time": now_iso(), **fields}
            self._history.append(event)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._fanout, event)
            except RuntimeError:  # loop closed between the check and the call
                pass
        return event

    def _fanout(self, event: Event) -> None:
        for sub in self._subs:
            if sub.closed:
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.dropped += 1

    def subscribe(self, last_id: int | None = None) -> Subscription:
        """Call from the event loop. With `last_id`, newer events still in the history are
        queued first, so a client that reconnects misses nothing recent."""
        sub = Subscription()
        if last_id is not None:
            with self._lock:
                missed = [e for e in self._history if e["id"] > last_id]
            for e in missed[-QUEUE_SIZE:]:
                sub.queue.put_nowait(e)
        if self.closed:
            sub.closed = True
            _put_sentinel(sub)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def close(self) -> None:
        """End every subscription (daemon stopping). Thread-safe, idempotent."""
        self.closed = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._close_all)
        except RuntimeError:
            pass

    def _close_all(self) -> None:
        for sub in self._subs:
            sub.closed = True
            _put_sentinel(sub)

    async def stream(self, sub: Subscription, keepalive_s: float = 15.0
                     ) -> AsyncIterator[Event | None]:
        """Events for one subscriber; None means "nothing for a while" (send a keepalive).
        Ends when the bus closes."""
        try:
            while True:
                if sub.dropped:
                    n, sub.dropped = sub.dropped, 0
                    yield {"id": None, "type": "lagged", "time": now_iso(), "dropped": n}
                try:
                    event = await asyncio.wait_for(sub.queue.get(), keepalive_s)
                except TimeoutError:
                    if sub.closed:
                        return
                    yield None
                    continue
                if event is None:
                    return
                yield event
        finally:
            self.unsubscribe(sub)


def _put_sentinel(sub: Subscription) -> None:
    if sub.queue.full():
        sub.queue.get_nowait()  # a closing stream may lose one event, never block
        sub.dropped += 1
    sub.queue.put_nowait(None)
