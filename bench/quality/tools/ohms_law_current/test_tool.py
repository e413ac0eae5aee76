import pytest

from tool import ohms_law_current


def test_example():
    assert ohms_law_current(12.0, 470.0) == pytest.approx(0.02553191489361702)
