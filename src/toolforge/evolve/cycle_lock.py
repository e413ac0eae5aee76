"""One evolution cycle at a time per library, across processes.

The daemon's worker, `toolforge evolve`, `run --evolve` and `Forge` may all want a cycle
at once; two cycles of one library would analyse overlapping failures and race to promote
the same tools. An exclusive flock on `.toolforge/evolution.lock`, held for the whole
cycle and released by the kernel when its holder dies, keeps them one at a time.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from toolforge.errors import ConflictError

LOCK_FILE = "evolution.lock"


class CycleBusy(ConflictError):
    """Another evolution cycle of this library is running."""

    kind = "cycle_running"


@contextmanager
def one_cycle_at_a_time(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise CycleBusy("an evolution cycle is already running for this library",
                            hint="see `toolforge cycles`; try again when it has finished")
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def cycle_running(state_dir: Path) -> bool:
    """Whether some process holds the cycle lock now."""
    try:
        with one_cycle_at_a_time(state_dir):
            return False
    except CycleBusy:
        return True
