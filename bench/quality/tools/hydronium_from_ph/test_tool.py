import pytest

from tool import hydronium_from_ph


def test_example():
    assert hydronium_from_ph(4.5) == pytest.approx(3.1622776601683795e-05)
