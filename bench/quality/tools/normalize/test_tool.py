import pytest

from tool import normalize


def test_example():
    assert normalize([10.0, 15.0, 20.0, 30.0]) == pytest.approx([0.0, 0.25, 0.5, 1.0])
