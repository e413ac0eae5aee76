import pytest

from tool import ideal_gas_pressure


def test_example():
    assert ideal_gas_pressure(2.0, 298.15, 0.05) == pytest.approx(99158.281182268)
