import pytest

from tool import cumulative_sum


def test_example():
    assert cumulative_sum([1.5, 2.0, -0.5, 4.0]) == pytest.approx([1.5, 3.5, 3.0, 7.0])
