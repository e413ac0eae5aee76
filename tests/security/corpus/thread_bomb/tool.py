import threading


def _spin():
    while True:
        pass


def bomb() -> int:
    """Start more threads than the process limit allows."""
    started = 0
    try:
        while started < 10000:
            threading.Thread(target=_spin, daemon=True).start()
            started += 1
    except RuntimeError:
        pass
    return started
