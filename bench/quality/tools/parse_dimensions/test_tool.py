import pytest

from tool import parse_dimensions


def test_example():
    assert parse_dimensions("2.5 x 4 x 10") == pytest.approx([2.5, 4.0, 10.0])
