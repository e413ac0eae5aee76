"""Request lanes: bounded pools of threads for the kinds of request that can take long.

A plain `def` route runs on the shared threadpool (40 threads). Requests that can wait a
long time — a mutation waiting for the library's writer lock or for the validation it
started, a tool call running in its sandbox, a batch of trajectories scored — would fill
that pool and leave reads (`list`, `show`) waiting behind them. Such routes are `async`
and run their work here instead: each lane has its own limit, and requests over it wait on
the event loop (costing no thread) until a place is free. Health runs on the event loop
itself and touches no lane, lock or queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

WRITE_LANE_SIZE = 4  # mutations serialise on the library lock anyway
CALL_LANE_SIZE = 16  # tool calls run in sandboxes from the warm pool
REPORT_LANE_SIZE = 4  # trajectory batches: parsing and scoring


class Lane:
    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._limiter is None:  # made on the event loop, on first use
            self._limiter = anyio.CapacityLimiter(self.size)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)


class Lanes:
    def __init__(self) -> None:
        self.write = Lane("write", WRITE_LANE_SIZE)
        self.call = Lane("call", CALL_LANE_SIZE)
        self.report = Lane("report", REPORT_LANE_SIZE)
