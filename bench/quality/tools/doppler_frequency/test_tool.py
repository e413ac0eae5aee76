import pytest

from tool import doppler_frequency


def test_example():
    assert doppler_frequency(500.0, 20.0, 5.0) == pytest.approx(538.6996904024768)
