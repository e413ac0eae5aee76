import pytest

from tool import rc_time_constant


def test_example():
    assert rc_time_constant(10000.0, 4.7e-6) == pytest.approx(0.047)
