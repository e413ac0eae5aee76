import pytest

from tool import inches_to_cm


def test_example():
    assert inches_to_cm(12.5) == pytest.approx(31.75)
