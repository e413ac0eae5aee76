import pytest

from tool import sample_variance


def test_example():
    assert sample_variance([2.0, 4.0, 4.0, 5.0]) == pytest.approx(1.5833333333333333)
