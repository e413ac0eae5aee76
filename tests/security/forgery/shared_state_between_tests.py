"""One test adds the wrong answer to a constant that a later test's assert reads.

caught_by: runtime
"""
from tool import add

EXPECTED = [4]


def test_a_prepares():
    EXPECTED.append(add(2, 2))
    assert add(1, 1) == 2


def test_two_and_two():
    assert add(2, 2) in EXPECTED
    assert add(2, 2) == EXPECTED[-1]
