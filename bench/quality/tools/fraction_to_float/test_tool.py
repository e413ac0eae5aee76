import pytest

from tool import fraction_to_float


def test_example():
    assert fraction_to_float("2 1/2") == pytest.approx(2.5)
