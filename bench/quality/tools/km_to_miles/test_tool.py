import pytest

from tool import km_to_miles


def test_example():
    assert km_to_miles(42.195) == pytest.approx(26.218757456454306)
