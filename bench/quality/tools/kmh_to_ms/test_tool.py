import pytest

from tool import kmh_to_ms


def test_example():
    assert kmh_to_ms(90) == pytest.approx(25.0)
