import pytest

from tool import molar_mass


def test_example():
    assert molar_mass("C6H12O6") == pytest.approx(180.156)
