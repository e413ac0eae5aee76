import pytest

from tool import tip_split


def test_example():
    assert tip_split(87.4, 15.0, 3) == pytest.approx(33.51)
