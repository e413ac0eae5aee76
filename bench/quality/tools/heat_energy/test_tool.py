import pytest

from tool import heat_energy


def test_example():
    assert heat_energy(2.0, 4186.0, 35.0) == pytest.approx(293020.0)
