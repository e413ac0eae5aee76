import pytest

from tool import nautical_miles_to_km


def test_example():
    assert nautical_miles_to_km(3.5) == pytest.approx(6.482)
