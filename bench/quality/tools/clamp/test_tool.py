import pytest

from tool import clamp


def test_example():
    assert clamp(12.5, 0.0, 10.0) == pytest.approx(10.0)
