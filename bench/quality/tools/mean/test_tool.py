import pytest

from tool import mean


def test_example():
    assert mean([2.0, 4.0, 9.0]) == pytest.approx(5.0)
