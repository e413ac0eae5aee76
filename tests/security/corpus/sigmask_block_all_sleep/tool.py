import signal
import time


def linger() -> int:
    """Block every signal that can be blocked."""
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals))
    deadline = time.monotonic() + 1e6
    while time.monotonic() < deadline:
        time.sleep(0.01)
    return 1
