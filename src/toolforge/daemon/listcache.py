"""The one thing a warm daemon keeps warm: `list_tools` results, as ready JSON.

Listing 1,000 tools parses 1,000 tool.toml files (~60 ms). A cached listing is served
while both of these are unchanged:
- the watcher's generation: bumped by every file event under tools/ and candidates/, from
  any writer (this daemon, a `--no-daemon` command, an editor), before any debouncing;
- git's HEAD, read from its files: every committed change moves it, even one the watcher
  could have missed while it re-watched a replaced directory.
Without a running watcher nothing is cached. With a crash journal present the service runs
as usual (it recovers first).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from toolforge.library.journal import journal_path
from toolforge.library.refs import git_head
from toolforge.library.store import STATE_DIR
from toolforge.service.models import ListResult

__all__ = ["ListCache", "git_head"]


class ListCache:
    def __init__(self, root: Path, generation: Callable[[], int | None]) -> None:
        self.root = root
        self.generation = generation
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[tuple[int, str], bytes]] = {}

    def get(self, status: str, compute: Callable[[], ListResult]) -> bytes:
        key = self._key()
        if key is None:
            return compute().model_dump_json().encode()
        with self._lock:
            hit = self._entries.get(status)
        if hit is not None and hit[0] == key:
            return hit[1]
        body = compute().model_dump_json().encode()
        if self._key() == key:  # nothing changed while it was computed
            with self._lock:
                self._entries[status] = (key, body)
        return body

    def _key(self) -> tuple[int, str] | None:
        gen = self.generation()
        if gen is None or journal_path(self.root / STATE_DIR).exists():
            return None
        return gen, git_head(self.root / ".git")
