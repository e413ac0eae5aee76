"""One writer at a time: an exclusive flock on `.toolforge/lock` inside the library.

flock is released by the kernel when its holder dies, so a SIGKILLed writer never leaves
the library locked. Plain fcntl (as pre-commit does) keeps CLI start-up free of asyncio,
which the filelock package imports.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from toolforge.errors import LockTimeoutError

DEFAULT_TIMEOUT_S = 60.0


@contextmanager
def library_lock(state_dir: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"the library is locked by another writer (waited {timeout_s:.0f} s)",
                    hint="another toolforge command or the daemon holds it; retry in a moment",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
