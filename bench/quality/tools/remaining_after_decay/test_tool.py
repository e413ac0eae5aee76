import pytest

from tool import remaining_after_decay


def test_example():
    assert remaining_after_decay(100.0, 5730.0, 2000.0) == pytest.approx(78.51062746234183)
