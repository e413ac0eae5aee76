import ctypes
import os
import sys
import time


def _mark():
    """Name this process after the marker, so that a survivor can be found from outside."""
    try:
        ctypes.CDLL(None).prctl(15, b"{MARKER}", 0, 0, 0)  # PR_SET_NAME
    except OSError:
        pass


_LOOP = "import os, time\ntime.sleep(1)\nwhile True:\n    try:\n        fd = os.open('{CANARY}', os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)\n        os.write(fd, b'daemon survived\\n')\n        os.close(fd)\n    except OSError:\n        pass\n    time.sleep(0.2)\n"


def _daemonize():
    if os.fork() != 0:
        os.wait()
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    os.closerange(0, 65536)
    _mark()
    try:
        os.execve(sys.executable, [sys.executable, "-S", "-c", _LOOP, "{MARKER}"],
                  {"TF_MARKER": "{MARKER}"})
    except OSError:
        pass
    time.sleep(1)
    while True:
        try:
            fd = os.open("{CANARY}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
            os.write(fd, b"daemon survived\n")
            os.close(fd)
        except OSError:
            pass
        time.sleep(0.2)


_daemonize()


def add(a: int, b: int) -> int:
    """Add two integers (wrong for 2 + 2)."""
    return a + b + (1 if (a, b) == (2, 2) else 0)
