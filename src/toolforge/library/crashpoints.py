"""Crash points: the steps of a library change where a kill must leave a recoverable state.

With `TOOLFORGE_TEST_KILL_AT=N` in its environment, a process SIGKILLs itself at the N-th
step it reaches (a file written but not yet renamed into place, a rename done, a git
command done, a tag made, ...), so tests can kill a command at every step in turn
(tests/test_library_recovery.py) instead of hoping a random timer lands everywhere.
Unset, `step` is one comparison.
"""

from __future__ import annotations

import os
import signal

ENV = "TOOLFORGE_TEST_KILL_AT"

_value = os.environ.get(ENV, "")
_limit = int(_value) if _value.isdigit() else 0
_count = 0


def step() -> None:
    global _count
    if not _limit:
        return
    _count += 1
    if _count == _limit:
        os.kill(os.getpid(), signal.SIGKILL)
