import pytest

from tool import dms_to_decimal


def test_example():
    assert dms_to_decimal("40°26'46\"") == pytest.approx(40.44611111111111)
