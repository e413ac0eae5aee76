import pytest

from tool import gas_density


def test_example():
    assert gas_density(0.02897, 101325.0, 288.15) == pytest.approx(1.2252149817167723)
