import pytest

from tool import atm_to_pa


def test_example():
    assert atm_to_pa(2.5) == pytest.approx(253312.5)
