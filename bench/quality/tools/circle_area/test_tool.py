import pytest

from tool import circle_area


def test_example():
    assert circle_area(2.5) == pytest.approx(19.634954084936208)
