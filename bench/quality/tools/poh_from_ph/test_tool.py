import pytest

from tool import poh_from_ph


def test_example():
    assert poh_from_ph(3.7) == pytest.approx(10.3)
