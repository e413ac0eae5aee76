import pytest

from tool import ideal_gas_volume


def test_example():
    assert ideal_gas_volume(1.0, 273.15, 101325.0) == pytest.approx(0.022413969544601037)
