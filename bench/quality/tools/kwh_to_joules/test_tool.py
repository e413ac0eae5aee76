import pytest

from tool import kwh_to_joules


def test_example():
    assert kwh_to_joules(1.75) == pytest.approx(6300000.0)
