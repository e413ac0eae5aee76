import pytest

from tool import kinetic_energy


def test_example():
    assert kinetic_energy(1200.0, 27.5) == pytest.approx(453750.0)
