import pytest

from tool import moles_from_mass


def test_example():
    assert moles_from_mass(36.0, 18.015) == pytest.approx(1.9983347210657785)
