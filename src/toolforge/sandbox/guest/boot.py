"""A guest's boot once its interpreter exists: read the setup, confine, run the role.

Shared by `main.py` (an interpreter started for this one sandbox) and `zygote.py` (a
process forked from a prepared interpreter). Every step before `program.main` runs the
guest's own code only: no untrusted code exists in the process until it is confined.
"""

from __future__ import annotations

import sys

import confine
import wire


def run(role: str, rfd: int, wfd: int, guest_dir: str) -> int:
    """Confine this process as the setup frame on `rfd` says, then run `role` ("worker"
    or "runner") on the two pipes; its exit code."""
    setup = wire.read_frame(rfd)
    if setup is None:
        return 0  # the parent went away before it set us up
    if role == "worker":
        import worker as program
    else:
        import runner as program
    try:
        confine.apply(setup)
    except (confine.ConfineError, OSError) as exc:
        sys.stderr.write(f"sandbox: confinement failed, refusing to run: {exc}\n")
        return 1
    if guest_dir in sys.path:
        sys.path.remove(guest_dir)  # the tool and the tests see no guest module by name
    return int(program.main(rfd, wfd) or 0)
