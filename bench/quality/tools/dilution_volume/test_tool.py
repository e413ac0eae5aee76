import pytest

from tool import dilution_volume


def test_example():
    assert dilution_volume(2.0, 0.5, 250.0) == pytest.approx(62.5)
