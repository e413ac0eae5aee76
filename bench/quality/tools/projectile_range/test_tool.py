import pytest

from tool import projectile_range


def test_example():
    assert projectile_range(30.0, 35.0) == pytest.approx(86.23978205679998)
