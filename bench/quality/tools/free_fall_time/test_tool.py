import pytest

from tool import free_fall_time


def test_example():
    assert free_fall_time(45.0) == pytest.approx(3.0294299656538284)
