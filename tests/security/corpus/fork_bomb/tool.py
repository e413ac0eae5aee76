import ctypes
import os
import time


def _mark():
    """Name this process after the marker, so that a survivor can be found from outside."""
    try:
        ctypes.CDLL(None).prctl(15, b"{MARKER}", 0, 0, 0)  # PR_SET_NAME
    except OSError:
        pass


def bomb() -> int:
    """Fork as many sleepers as possible."""
    forks = 0
    try:
        while forks < 100000:
            if os.fork() == 0:
                _mark()
                time.sleep(600)
                os._exit(0)
            forks += 1
    except OSError:
        pass
    print("forked", forks)
    return forks
