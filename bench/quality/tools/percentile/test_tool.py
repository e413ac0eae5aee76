import pytest

from tool import percentile


def test_example():
    assert percentile([15.0, 20.0, 35.0, 40.0, 50.0], 40.0) == pytest.approx(29.0)
