import pytest

from tool import pendulum_period


def test_example():
    assert pendulum_period(1.5) == pytest.approx(2.4573394910108535)
