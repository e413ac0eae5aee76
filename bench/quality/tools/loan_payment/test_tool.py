import pytest

from tool import loan_payment


def test_example():
    assert loan_payment(200000.0, 0.045, 360) == pytest.approx(1013.37)
