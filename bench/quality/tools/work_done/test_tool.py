import pytest

from tool import work_done


def test_example():
    assert work_done(20.0, 3.0, 60.0) == pytest.approx(30.000000000000007)
