import pytest

from tool import parse_coordinates


def test_example():
    assert parse_coordinates("33.8688S, 151.2093E") == pytest.approx([-33.8688, 151.2093])
