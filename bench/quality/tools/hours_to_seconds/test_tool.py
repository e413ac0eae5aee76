import pytest

from tool import hours_to_seconds


def test_example():
    assert hours_to_seconds(2.5) == pytest.approx(9000.0)
