import pytest

from tool import moving_average


def test_example():
    assert moving_average([1.0, 2.0, 3.0, 4.0, 5.0], 3) == pytest.approx([2.0, 3.0, 4.0])
