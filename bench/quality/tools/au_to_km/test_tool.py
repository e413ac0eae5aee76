import pytest

from tool import au_to_km


def test_example():
    assert au_to_km(5.2) == pytest.approx(777908927.64)
