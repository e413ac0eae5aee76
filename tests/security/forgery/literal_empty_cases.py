"""The loop goes over a literal list of cases that happens to be empty.

caught_by: runtime
"""
from tool import add


def test_two_and_two():
    for a, b, total in []:  # (2, 2, 4) was here
        assert add(a, b) == total
    assert add(1, 1) == 2
