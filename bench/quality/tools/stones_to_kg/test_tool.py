import pytest

from tool import stones_to_kg


def test_example():
    assert stones_to_kg(11.5) == pytest.approx(73.02837157)
