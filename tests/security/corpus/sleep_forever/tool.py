import time


def nap() -> int:
    """Sleep for eleven days."""
    time.sleep(1e6)
    return 1
