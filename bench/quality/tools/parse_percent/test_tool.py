import pytest

from tool import parse_percent


def test_example():
    assert parse_percent("12.5%") == pytest.approx(0.125)
