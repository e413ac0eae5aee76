import pytest

from tool import ounces_to_grams


def test_example():
    assert ounces_to_grams(8.5) == pytest.approx(240.97094656250002)
