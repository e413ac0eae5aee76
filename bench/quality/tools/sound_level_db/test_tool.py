import pytest

from tool import sound_level_db


def test_example():
    assert sound_level_db(3.2e-5) == pytest.approx(75.05149978319906)
