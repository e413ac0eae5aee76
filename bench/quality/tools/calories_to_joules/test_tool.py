import pytest

from tool import calories_to_joules


def test_example():
    assert calories_to_joules(250) == pytest.approx(1046.0)
