import pytest

from tool import median


def test_example():
    assert median([7.0, 1.0, 3.0, 5.0]) == pytest.approx(4.0)
