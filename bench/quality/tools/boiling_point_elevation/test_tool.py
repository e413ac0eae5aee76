import pytest

from tool import boiling_point_elevation


def test_example():
    assert boiling_point_elevation(1.5, van_t_hoff=2.0) == pytest.approx(1.536)
