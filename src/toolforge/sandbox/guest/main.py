"""Entry point inside the sandbox: `python -I -S -B main.py worker|runner IN_FD OUT_FD`,
or `main.py zygote CONTROL_FD PARENT_PID` for the fork server (see zygote.py).

The first frame on IN_FD is the parent's setup (keyrings, uid, Landlock, seccomp; see
confine.py), applied before the guest says "ready" and so before any untrusted code exists.
The guest's own modules are imported before that, while every path is still in reach.

Kept tiny on purpose: a script run as __main__ is compiled on every start, while imported
modules load from their .pyc (runner.py alone takes ~9 ms to compile here).
"""

import os
import sys

guest_dir = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, guest_dir)
role = sys.argv[1] if len(sys.argv) == 4 else ""
if role == "zygote":
    import zygote  # found through the sys.path entry above

    sys.exit(zygote.serve(int(sys.argv[2]), int(sys.argv[3]), guest_dir))
if role not in ("worker", "runner"):
    sys.exit("usage: main.py worker|runner IN_FD OUT_FD")
import boot  # noqa: E402 - found through the sys.path entry above

sys.exit(boot.run(role, int(sys.argv[2]), int(sys.argv[3]), guest_dir))
