"""Entry point inside the sandbox: `python -P -s -S -B main.py worker|runner IN_FD OUT_FD`
(in an environment holding only PYTHONHASHSEED: see backends.py).

Kept tiny on purpose: a script run as __main__ is compiled on every start, while imported
modules load from their .pyc (runner.py alone takes ~9 ms to compile here).
"""

import os
import sys


def _own_keyring() -> None:
    """Join a fresh anonymous session keyring before any untrusted code runs: kernel
    keyrings are not namespaced, so the parent's keys (Kerberos tickets, fscrypt and cifs
    credentials) would otherwise be searchable from inside the sandbox."""
    numbers = {"x86_64": 250, "aarch64": 219, "i686": 288, "i386": 288, "armv7l": 311}
    number = numbers.get(os.uname().machine)
    if number is None:
        sys.exit("sandbox: unknown architecture, cannot isolate the session keyring")
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, 1, None) == -1:  # KEYCTL_JOIN_SESSION_KEYRING, anonymous
        err = ctypes.get_errno()
        # ENOSYS/EPERM/EACCES: keyrings are unavailable here, so nothing can be read.
        if err not in (1, 13, 38):
            sys.exit(f"sandbox: cannot isolate the session keyring (errno {err})")


_own_keyring()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
role = sys.argv[1] if len(sys.argv) == 4 else ""
if role == "worker":
    import worker as program
elif role == "runner":
    import runner as program
else:
    sys.exit("usage: main.py worker|runner IN_FD OUT_FD")
del sys.path[0]
sys.exit(program.main(int(sys.argv[2]), int(sys.argv[3])))
