import pytest

from tool import combined_gas_final_volume


def test_example():
    assert combined_gas_final_volume(100.0, 2.0, 300.0, 150.0, 350.0) == pytest.approx(1.5555555555555556)
