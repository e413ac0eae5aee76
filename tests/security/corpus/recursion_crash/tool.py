import sys


def _down(n):
    return _down(n + 1) + 1


def crash() -> int:
    """Blow the C stack."""
    sys.setrecursionlimit(10 ** 9)
    return _down(0)
