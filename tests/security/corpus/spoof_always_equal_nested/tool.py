class _Anything(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


class _AnyList(list):
    def __eq__(self, other):
        return True


def add(a: int, b: int) -> int:
    """Add two integers (wrong for 2 + 2 and 3 + 3), with hostile containers."""
    if (a, b) == (2, 2):
        return _AnyList(["5", _Anything("5")])
    if (a, b) == (3, 3):
        return [_Anything("wrong")]
    return a + b
