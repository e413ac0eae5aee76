import pytest

from tool import torr_to_pa


def test_example():
    assert torr_to_pa(760) == pytest.approx(101325.0)
