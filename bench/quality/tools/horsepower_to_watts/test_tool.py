import pytest

from tool import horsepower_to_watts


def test_example():
    assert horsepower_to_watts(150) == pytest.approx(111854.9807373405)
