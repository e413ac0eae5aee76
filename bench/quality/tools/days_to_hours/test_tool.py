import pytest

from tool import days_to_hours


def test_example():
    assert days_to_hours(3.25) == pytest.approx(78.0)
