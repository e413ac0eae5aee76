from tool import rgb_to_hex


def test_example():
    assert rgb_to_hex(255, 136, 0) == '#ff8800'
