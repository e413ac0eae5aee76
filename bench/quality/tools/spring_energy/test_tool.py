import pytest

from tool import spring_energy


def test_example():
    assert spring_energy(250.0, 0.04) == pytest.approx(0.2)
