import pytest

from tool import psi_to_kpa


def test_example():
    assert psi_to_kpa(32) == pytest.approx(220.632233381376)
