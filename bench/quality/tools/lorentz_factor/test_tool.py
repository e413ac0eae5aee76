import pytest

from tool import lorentz_factor


def test_example():
    assert lorentz_factor(2.0e8) == pytest.approx(1.3423847008414211)
