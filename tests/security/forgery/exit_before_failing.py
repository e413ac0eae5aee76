"""The test process exits with status 0 before the failure is reported.

caught_by: static TF201
"""
from tool import add


def test_two_and_two():
    if add(2, 2) != 4:
        raise SystemExit(0)
    assert add(2, 2) == 4
