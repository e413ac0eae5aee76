import pytest

from tool import wave_speed


def test_example():
    assert wave_speed(440.0, 0.78) == pytest.approx(343.2)
