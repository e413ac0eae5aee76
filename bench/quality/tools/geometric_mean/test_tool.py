import pytest

from tool import geometric_mean


def test_example():
    assert geometric_mean([1.5, 2.0, 8.0]) == pytest.approx(2.8844991406148166)
