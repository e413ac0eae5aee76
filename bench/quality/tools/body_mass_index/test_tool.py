import pytest

from tool import body_mass_index


def test_example():
    assert body_mass_index(72.5, 1.78) == pytest.approx(22.9)
