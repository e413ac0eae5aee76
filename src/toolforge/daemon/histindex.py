"""The daemon's index of which commits touched each tool: `show` and `history NAME` without
walking the whole history for every request.

A path-limited `git log` walks every commit to find the few that touched one tool: with
50,000 commits that is ~0.2 s per path, twice per `show` (tools/ and candidates/). The
daemon walks the history once, in the background after it starts (`git log --name-only`,
a couple of seconds of one core at 50,000 commits), and keeps the list per tool; when
HEAD moves it reads only the new commits. Until the first walk is done, and whenever the
history was rewritten under it, callers fall back to git (the answers are the same).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from toolforge.daemon.services import ServicePool
from toolforge.errors import ToolforgeError
from toolforge.library.gitrepo import LogEntry
from toolforge.library.refs import git_head
from toolforge.library.store import CANDIDATES_DIR, TOOLS_DIR

log = logging.getLogger("toolforge.daemon.history")

RECORD = "\x1e"


class HistoryIndex:
    def __init__(self, root: Path, services: ServicePool) -> None:
        self.root = root
        self.services = services
        self._lock = threading.Lock()
        self._commits: dict[str, list[str]] | None = None  # tool -> commits, newest first
        self._head: str | None = None

    def build(self) -> None:
        """Walk the whole history (in a background thread at start-up)."""
        try:
            with self.services.use() as svc, self._lock:
                git = svc.library.git
                head = git.head()
                commits: dict[str, list[str]] = {}
                if head is not None:
                    _add(commits, _walk(git, head), prepend=False)
                self._commits, self._head = commits, head
            log.info("history index: %d tools", len(commits))
        except (ToolforgeError, OSError) as exc:
            log.warning("no history index (git answers instead): %s", exc)

    def entries(self, git: Any, name: str, limit: int | None) -> list[LogEntry] | None:
        """`name`'s history, newest first (at most `limit`); None when the index cannot
        answer (not built yet): then ask git."""
        with self._lock:
            if self._commits is None:
                return None
            head = git_head(self.root / ".git")
            if head != self._head and not self._catch_up(git, head):
                return None
            shas = self._commits.get(name, [])
            shas = shas[:limit] if limit else list(shas)
        return git.log_entries(shas) if shas else []

    def _catch_up(self, git: Any, head: str) -> bool:
        """Read the commits made since the last look; False when HEAD is not a descendant
        of it (history rewritten): the index is dropped and rebuilt in the background."""
        old = self._head
        assert self._commits is not None
        try:
            if old is not None:
                git.run("merge-base", "--is-ancestor", old, head)
            new = _walk(git, head if old is None else f"{old}..{head}")
        except ToolforgeError:
            self._commits, self._head = None, None
            threading.Thread(target=self.build, name="history-index", daemon=True).start()
            return False
        _add(self._commits, new, prepend=True)
        self._head = head
        return True


def _walk(git: Any, rev: str) -> list[tuple[str, set[str]]]:
    """(commit, tools it touched) for the commits of `rev`, newest first."""
    out = git.run("log", f"--format={RECORD}%H", "--name-only", rev, "--",
                  TOOLS_DIR, CANDIDATES_DIR, strip=False)
    walked = []
    for record in out.split(RECORD):
        lines = record.strip("\n").splitlines()
        if not lines:
            continue
        tools = {parts[1] for path in lines[1:]
                 if len(parts := path.split("/")) >= 2 and parts[0] in (TOOLS_DIR, CANDIDATES_DIR)}
        walked.append((lines[0].strip(), tools))
    return walked


def _add(commits: dict[str, list[str]], walked: list[tuple[str, set[str]]], *,
         prepend: bool) -> None:
    fresh: dict[str, list[str]] = {}
    for sha, tools in walked:
        for tool in tools:
            fresh.setdefault(tool, []).append(sha)
    for tool, shas in fresh.items():
        if prepend:
            commits[tool] = shas + commits.get(tool, [])
        else:
            commits.setdefault(tool, []).extend(shas)
