import pytest

from tool import hydrostatic_pressure


def test_example():
    assert hydrostatic_pressure(10.0) == pytest.approx(199391.5)
