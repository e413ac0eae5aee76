"""An atexit handler rewrites the outcome after the test ends.

caught_by: static TF101
"""
import atexit

from tool import add


def test_two_and_two():
    atexit.register(print, "passed")
    assert add(2, 2) == 4
