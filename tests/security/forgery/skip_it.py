"""The test skips itself when the tool is wrong.

caught_by: static TF104
"""
import pytest
from tool import add


def test_two_and_two():
    if add(2, 2) != 4:
        pytest.skip("flaky")
    assert add(2, 2) == 4
