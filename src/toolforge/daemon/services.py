"""LibraryService instances shared by the daemon's threads.

One LibraryService is not thread-safe: its GitRepo reads blobs through one persistent
`git cat-file` process. So each concurrent caller borrows its own instance from this pool
(instances are reused, and only as many exist as calls ever ran at once). Writers still
serialise on the library's flock, exactly as separate CLI processes do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from toolforge.service.library_service import LibraryService

MAX_IDLE = 8  # beyond this many idle instances, a returned one is closed (its git processes)


class ServicePool:
    def __init__(self, root: Path, prepare: Callable[[LibraryService], None] | None = None
                 ) -> None:
        self.root = root
        self.prepare = prepare  # applied to every new instance
        self._idle: list[LibraryService] = []
        self._lock = threading.Lock()
        self._closed = False
        LibraryService(root).close()  # fail now (not on the first request) if not a library

    @contextmanager
    def use(self) -> Iterator[LibraryService]:
        with self._lock:
            svc = self._idle.pop() if self._idle else None
        if svc is None:
            svc = LibraryService(self.root)
            if self.prepare is not None:
                self.prepare(svc)
        try:
            yield svc
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < MAX_IDLE
                if keep:
                    self._idle.append(svc)
            if not keep:
                svc.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for svc in idle:
            svc.close()
