import pytest

from tool import mass_percent


def test_example():
    assert mass_percent(12.5, 250.0) == pytest.approx(5.0)
