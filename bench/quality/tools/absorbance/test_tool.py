import pytest

from tool import absorbance


def test_example():
    assert absorbance(6220.0, 1.0, 0.00015) == pytest.approx(0.9329999999999999)
