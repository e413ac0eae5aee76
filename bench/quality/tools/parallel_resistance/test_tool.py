import pytest

from tool import parallel_resistance


def test_example():
    assert parallel_resistance([100.0, 220.0, 330.0]) == pytest.approx(56.896551724137936)
