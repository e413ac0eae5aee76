import pytest

from tool import mmhg_to_kpa


def test_example():
    assert mmhg_to_kpa(120) == pytest.approx(15.998686489799999)
