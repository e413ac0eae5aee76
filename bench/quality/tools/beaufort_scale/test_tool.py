from tool import beaufort_scale


def test_example():
    assert beaufort_scale(9.3) == 5
