import pytest

from tool import bar_to_psi


def test_example():
    assert bar_to_psi(2.2) == pytest.approx(31.908302300600003)
