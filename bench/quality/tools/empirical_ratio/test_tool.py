import pytest

from tool import empirical_ratio


def test_example():
    assert empirical_ratio({"C": 0.5, "H": 1.0, "O": 0.25}) == pytest.approx({'C': 2.0, 'H': 4.0, 'O': 1.0})
