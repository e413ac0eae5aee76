import pytest

from tool import teaspoons_to_ml


def test_example():
    assert teaspoons_to_ml(3) == pytest.approx(14.78676478125)
