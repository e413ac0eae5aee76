import pytest

from tool import cylinder_volume


def test_example():
    assert cylinder_volume(1.5, 4.0) == pytest.approx(28.274333882308138)
