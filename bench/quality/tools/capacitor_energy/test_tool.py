import pytest

from tool import capacitor_energy


def test_example():
    assert capacitor_energy(470e-6, 25.0) == pytest.approx(0.146875)
