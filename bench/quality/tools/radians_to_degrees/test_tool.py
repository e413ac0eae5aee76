import pytest

from tool import radians_to_degrees


def test_example():
    assert radians_to_degrees(1.25) == pytest.approx(71.6197243913529)
