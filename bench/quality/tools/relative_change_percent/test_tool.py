import pytest

from tool import relative_change_percent


def test_example():
    assert relative_change_percent(80.0, 92.0) == pytest.approx(15.0)
