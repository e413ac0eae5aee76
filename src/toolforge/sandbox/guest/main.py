"""Entry point inside the sandbox: `python -I -S -B main.py worker|runner IN_FD OUT_FD`.

The first frame on IN_FD is the parent's setup (keyrings, uid, Landlock, seccomp; see
confine.py), applied before the guest says "ready" and so before any untrusted code exists.
The guest's own modules are imported before that, while every path is still in reach.

Kept tiny on purpose: a script run as __main__ is compiled on every start, while imported
modules load from their .pyc (runner.py alone takes ~9 ms to compile here).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
role = sys.argv[1] if len(sys.argv) == 4 else ""
if role not in ("worker", "runner"):
    sys.exit("usage: main.py worker|runner IN_FD OUT_FD")
import confine  # noqa: E402 - found through the sys.path entry above
import wire  # noqa: E402

setup = wire.read_frame(int(sys.argv[2]))
if setup is None:
    sys.exit(0)  # the parent went away before it set us up
if role == "worker":
    import worker as program
else:
    import runner as program
try:
    confine.apply(setup)
except (confine.ConfineError, OSError) as exc:
    sys.exit(f"sandbox: confinement failed, refusing to run: {exc}")
del sys.path[0]
sys.exit(program.main(int(sys.argv[2]), int(sys.argv[3])))
