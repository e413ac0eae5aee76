from tool import time_to_minutes


def test_example():
    assert time_to_minutes("13:45") == 825
