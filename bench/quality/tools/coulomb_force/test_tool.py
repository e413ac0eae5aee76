import pytest

from tool import coulomb_force


def test_example():
    assert coulomb_force(2e-6, -3e-6, 0.05) == pytest.approx(-21.570124301519993)
