"""The assert's message raises its own exception, hoping the failure is lost with it.

caught_by: runtime
"""
from tool import add


def boom():
    return 1 // 0


def test_two_and_two():
    assert add(2, 2) == 4, boom()
