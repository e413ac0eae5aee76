import pytest

from tool import series_resistance


def test_example():
    assert series_resistance([100.0, 220.0, 330.0]) == pytest.approx(650.0)
