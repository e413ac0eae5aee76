import pytest

from tool import reynolds_number


def test_example():
    assert reynolds_number(998.0, 1.2, 0.05, 0.001) == pytest.approx(59879.99999999999)
