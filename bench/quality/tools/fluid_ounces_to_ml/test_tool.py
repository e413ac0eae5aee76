import pytest

from tool import fluid_ounces_to_ml


def test_example():
    assert fluid_ounces_to_ml(16) == pytest.approx(473.176473)
