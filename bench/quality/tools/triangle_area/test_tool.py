import pytest

from tool import triangle_area


def test_example():
    assert triangle_area(3.0, 4.0, 5.0) == pytest.approx(6.0)
