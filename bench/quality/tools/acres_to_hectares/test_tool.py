import pytest

from tool import acres_to_hectares


def test_example():
    assert acres_to_hectares(640) == pytest.approx(258.99881103359996)
