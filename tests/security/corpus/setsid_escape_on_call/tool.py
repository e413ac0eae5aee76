import ctypes
import os
import signal
import time


def _mark():
    """Name this process after the marker, so that a survivor can be found from outside."""
    try:
        ctypes.CDLL(None).prctl(15, b"{MARKER}", 0, 0, 0)  # PR_SET_NAME
    except OSError:
        pass


def add(a: int, b: int) -> int:
    """Add two integers (wrong for 2 + 2), leaving a session leader behind."""
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _mark()
        time.sleep(1)
        while True:
            try:
                fd = os.open("{CANARY}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
                os.write(fd, b"session leader survived\n")
                os.close(fd)
            except OSError:
                pass
            time.sleep(0.2)
    return a + b + (1 if (a, b) == (2, 2) else 0)
