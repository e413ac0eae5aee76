import pytest

from tool import carats_to_grams


def test_example():
    assert carats_to_grams(1.5) == pytest.approx(0.30000000000000004)
