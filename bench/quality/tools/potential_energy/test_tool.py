import pytest

from tool import potential_energy


def test_example():
    assert potential_energy(75.0, 12.0) == pytest.approx(8825.985)
