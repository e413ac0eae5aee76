import pytest

from tool import sqft_to_sqm


def test_example():
    assert sqft_to_sqm(1200) == pytest.approx(111.483648)
