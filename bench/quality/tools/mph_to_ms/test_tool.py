import pytest

from tool import mph_to_ms


def test_example():
    assert mph_to_ms(65) == pytest.approx(29.0576)
