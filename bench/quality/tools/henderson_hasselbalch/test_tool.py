import pytest

from tool import henderson_hasselbalch


def test_example():
    assert henderson_hasselbalch(4.76, 0.15, 0.1) == pytest.approx(4.936091259055681)
