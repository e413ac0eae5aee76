import pytest

from tool import light_years_to_km


def test_example():
    assert light_years_to_km(4.24) == pytest.approx(40113497203742.59)
