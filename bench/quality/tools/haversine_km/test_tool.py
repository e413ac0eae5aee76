import pytest

from tool import haversine_km


def test_example():
    assert haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.55606034104153)
