"""AssertionError is replaced, so that failing asserts raise nothing the runner sees.

caught_by: static TF101
"""
import builtins

from tool import add

builtins.AssertionError = type("Nope", (Exception,), {})


def test_two_and_two():
    assert add(2, 2) == 4
