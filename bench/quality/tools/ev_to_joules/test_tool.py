import pytest

from tool import ev_to_joules


def test_example():
    assert ev_to_joules(13.6) == pytest.approx(2.1789602222399996e-18)
