import pytest

from tool import molarity


def test_example():
    assert molarity(0.25, 0.5) == pytest.approx(0.5)
