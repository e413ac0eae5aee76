import pytest

from tool import efficiency_percent


def test_example():
    assert efficiency_percent(340.0, 1000.0) == pytest.approx(34.0)
