import pytest

from tool import compound_interest


def test_example():
    assert compound_interest(1000.0, 0.05, 10) == pytest.approx(1647.01)
