import pytest

from tool import rankine_to_kelvin


def test_example():
    assert rankine_to_kelvin(671.67) == pytest.approx(373.15)
