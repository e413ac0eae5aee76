import pytest

from tool import btu_to_joules


def test_example():
    assert btu_to_joules(3.4) == pytest.approx(3587.189898908)
