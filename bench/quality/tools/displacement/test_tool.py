import pytest

from tool import displacement


def test_example():
    assert displacement(3.0, 1.5, 8.0) == pytest.approx(72.0)
