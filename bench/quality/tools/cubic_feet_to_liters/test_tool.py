import pytest

from tool import cubic_feet_to_liters


def test_example():
    assert cubic_feet_to_liters(4.2) == pytest.approx(118.9307556864)
