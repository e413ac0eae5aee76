"""A thread reports success while the test is still failing.

caught_by: static TF101
"""
import threading

from tool import add


def test_two_and_two():
    threading.Thread(target=print).start()
    assert add(2, 2) == 4
